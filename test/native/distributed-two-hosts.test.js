'use strict';
// Data-parallel training over two machines, for real: two hosts (network namespaces joined by a veth pair, each its
// own address, made here and removed after), one `qwen3-native train --nnodes 2` launcher on each, as a user types
// them on two machines. The run ends with the weights of one process with the global batch; cutting host 1's link
// mid-run ends host 0 within a minute with default flags (the liveness window, 30 s), naming the rank it lost, and the
// run resumes from host 0's checkpoint in one process. As distributed.test.js, but across a network, not loopback.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { createTinyQwen3 } = require('../../dist');
const { loadNative } = require('../../dist/native');
const { readSafetensors } = require('../helpers/safetensors');
const { maxAbsDiff, tmpDir, weiboLines } = require('../helpers/util');
const { spawnCli, jsonLines } = require('../helpers/cli');
const { lostRanks } = require('../../dist/train/distributed');
const { makeHosts, ipCommand, sentBytes, interfaces, listening, connectFrom } = require('../helpers/netns');

const B = 4;

const available = loadNative().distributedAvailable || process.env.CI;
const made = available ? makeHosts() : { why: 'this build of the addon has no Gloo' };

let modelDir;
let trainFile;
test.before(async () => {
  if (!made.hosts) return;
  modelDir = path.join(tmpDir(), 'causal');
  await createTinyQwen3(modelDir, { seed: 7 });
  trainFile = path.join(tmpDir(), 'train.txt');
  fs.writeFileSync(trainFile, weiboLines(72).join('\n') + '\n');
});

const launched = new Set();
test.after.always(() => {
  for (const child of launched) child.kill('SIGKILL');
  made.remove?.();
});

/**
 * full (no LoRA dropout: each process draws its own masks, so only dropout-free runs are comparable) at 1e-4: at its
 * default 1e-3, AdamW turns the last-bit differences of another summation order into 2e-5 (distributed.test.js).
 */
const trainArgs = (output, batchSize, epochs) => [
  'train',
  '--method',
  'full',
  '--model',
  modelDir,
  '--train',
  trainFile,
  '--output',
  output,
  '--device',
  'cpu',
  '--max-length',
  '32',
  '--batch-size',
  String(batchSize),
  '--learning-rate',
  '1e-4',
  '--gradient-accumulation',
  '2',
  '--epochs',
  String(epochs),
  '--eval-steps',
  '4',
  '--seed',
  '5',
  '--json',
];

/**
 * Host h's launcher, started in its namespace: what a user types on machine h (the default --master-port, each
 * namespace having its own ports); Gloo talks over the veth (GLOO_SOCKET_IFNAME, as on a machine with several
 * interfaces). Resolves { code, signal, stdout, stderr, endedAt }.
 */
/** The launchers' default --master-port, where host 0's rank 0 serves the rendezvous store. */
const STORE_PORT = 29500;

function launch(h, args, { env = {}, onStdout } = {}) {
  const { hosts } = made;
  return spawnCli(
    [...args, '--nproc-per-node', '1', '--nnodes', '2', '--node-rank', String(h), '--master-addr', hosts[0].addr],
    {
      wrapper: ['ip', 'netns', 'exec', hosts[h].ns],
      env: { GLOO_SOCKET_IFNAME: hosts[h].dev, ...env },
      timeout: 120_000,
      onSpawn: (child) => launched.add(child),
      onStdout,
    }
  ).then((r) => ({ ...r, endedAt: Date.now() }));
}

async function weights(output) {
  return (await readSafetensors(path.join(output, 'model.safetensors'))).tensors;
}

const progress = (r) => jsonLines(r.stdout).filter((e) => e.event === 'progress');

test('a failed collective names the rank lost: the ranks on other machines, else the other ranks', (t) => {
  const lost = (...a) => lostRanks(...a).split(' (')[0];
  t.is(lost(0, 2, 0, 1), 'Lost: rank 1, on another machine');
  t.is(lost(1, 2, 0, 1), 'Lost: rank 0, on another machine');
  t.is(lost(0, 2, 0, 2), 'Lost: rank 1');
  t.is(lost(5, 8, 1, 4), 'Lost: one of ranks 0-3, on another machine');
  t.is(lost(2, 12, 2, 4), 'Lost: one of ranks 4-11, on another machine');
  t.is(lost(5, 12, 1, 4), 'Lost: one of ranks 0-3, 8-11, on another machine');
  t.is(lost(2, 4, 2, 4), 'Lost: one of ranks 0-1, 3');
});

if (!made.hosts) {
  test.skip(`two hosts in network namespaces (skipped: ${made.why})`, () => undefined);
} else {
  test.serial(`two hosts x 1 process x batch ${B} end with the weights of 1 process x batch ${2 * B}`, async (t) => {
    const one = path.join(tmpDir(), 'one');
    const single = await spawnCli(trainArgs(one, 2 * B, 2));
    t.is(single.code, 0, single.stderr);
    const out = path.join(tmpDir(), 'two-hosts');
    const sent = made.hosts.map(sentBytes);
    // While the run is up: where host 0 listens on the store's port, and whether its loopback reaches the store.
    let store;
    const onStdout = (text) => {
      if (store || !text.includes('"progress"')) return;
      const h0 = made.hosts[0];
      store = { listening: listening(h0, STORE_PORT), loopback: connectFrom(h0, '127.0.0.1', STORE_PORT) };
    };
    const ranks = await Promise.all([0, 1].map((h) => launch(h, trainArgs(out, B, 2), h ? {} : { onStdout })));
    for (const [h, r] of ranks.entries()) t.is(r.code, 0, `host ${h}: ${r.stderr}`);
    // The store listens on --master-addr only (not 0.0.0.0, [::] or *), so a job reaching this machine by another
    // address, its loopback included, finds nothing there.
    t.log(`host 0 listens on ${store.listening.join(', ')}; 127.0.0.1:${STORE_PORT} there: ${store.loopback}`);
    t.deepEqual(store.listening, [`${made.hosts[0].addr}:${STORE_PORT}`]);
    t.is(store.loopback, 'ECONNREFUSED');
    // The hosts talked over their veth pair, the only link either namespace has.
    const bytes = made.hosts.map((h, i) => sentBytes(h) - sent[i]);
    for (const h of made.hosts) t.deepEqual(interfaces(h).sort(), ['lo', h.dev].sort());
    t.true(Math.min(...bytes) > 1e6, `bytes sent over the veth by host 0, 1: ${bytes}`);
    // Host 0 (rank 0) reports every step once; host 1 trains silently.
    const steps = progress(ranks[0]);
    t.deepEqual(
      steps.map((p) => p.step),
      progress(single).map((p) => p.step)
    );
    t.is(progress(ranks[1]).length, 0);
    const a = await weights(one);
    const b = await weights(out);
    t.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    const d = Math.max(...Object.keys(a).map((k) => maxAbsDiff(a[k].data, b[k].data)));
    const losses = Math.max(...steps.map((p, i) => Math.abs(p.loss - progress(single)[i].loss)));
    t.log(
      `${steps.length} steps; bytes over the veth ${bytes.join(', ')}; max |weight difference| ${d}, ` +
        `max |loss difference| ${losses}`
    );
    // The bound of distributed.test.js: another summation order, through AdamW. A rank stepping on its own half's
    // gradients would differ by O(lr) = 1e-4 per step.
    t.true(d <= 1e-5, `max |weight difference| ${d}`);
  });

  test.serial('host 1 cut off mid-run: host 0 ends naming rank 1; the run resumes in one process', async (t) => {
    const out = path.join(tmpDir(), 'cut');
    const [h0, h1] = made.hosts;
    let cutAt;
    const env = {};
    // 6 epochs (24 steps): the cut after the first checkpoint (step 4) always lands mid-run.
    const ranks = await Promise.all([
      launch(0, trainArgs(out, B, 6), {
        env,
        onStdout: (text) => {
          if (cutAt) return;
          if (!jsonLines(text).some((e) => e.event === 'checkpoint')) return;
          ipCommand(['-n', h1.ns, 'link', 'set', h1.dev, 'down']);
          cutAt = Date.now();
        },
      }),
      launch(1, trainArgs(out, B, 6), { env }),
    ]);
    t.truthy(cutAt, ranks[0].stderr);
    const seconds = ranks.map((r) => (r.endedAt - cutAt) / 1000);
    const errors = ranks.map((r) => r.stderr.split('\n').filter((l) => /^error:/.test(l)));
    t.log(`host 0 ended ${seconds[0].toFixed(1)} s after the cut (default flags): ${errors[0].join(' | ')}`);
    t.log(`host 1 ended ${seconds[1].toFixed(1)} s after the cut: ${ranks[1].stderr.trim().split('\n').pop()}`);
    t.is(ranks[0].code, 1, ranks[0].stderr);
    t.is(errors[0].length, 1, ranks[0].stderr);
    t.regex(errors[0][0], /on rank 0 of 2 \(master 10\.213\.0\.1:29500\) failed/);
    t.regex(errors[0][0], /Lost: rank 1, on another machine/);
    t.true(seconds[0] < 60, `host 0 ended ${seconds[0]} s after the cut`);
    // Host 1 lost its link: it ends too (the store on host 0 stops answering it).
    t.not(ranks[1].code, 0);
    t.true(seconds[1] < 60, `host 1 ended ${seconds[1]} s after the cut`);
    const before = progress(ranks[0]);
    t.true(before.length < before[0].totalSteps, 'the cut landed mid-run');

    // World size 1: the same command in one process, with the global batch as --batch-size.
    const resumed = await spawnCli([...trainArgs(out, 2 * B, 6), '--resume']);
    t.is(resumed.code, 0, resumed.stderr);
    const after = progress(resumed);
    const saved = jsonLines(ranks[0].stdout).filter((e) => e.event === 'checkpoint');
    t.log(`stopped after step ${before.at(-1).step} (checkpoint ${saved.at(-1).step}); resumed at ${after[0].step}`);
    t.is(after[0].step, saved.at(-1).step + 1);
    t.is(after.at(-1).step, before[0].totalSteps);
    t.true(fs.existsSync(path.join(out, 'run.json')));
  });
}
