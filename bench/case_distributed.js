// Data-parallel training on this machine: what the averaged gradient all-reduce (c10d ProcessGroupGloo
// over loopback, 2 ranks) costs per optimizer step at Qwen3-0.6B LoRA and lora-head gradient sizes, and training
// tokens/s of 1 process x all cores' threads against N processes x (cores / N) threads, on random 0.6B-shaped
// weights. Run: node bench/case_distributed.js [--steps-posts 48] (prints a Markdown section for bench/RESULTS.md).
'use strict';
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const L = require('./lib');

const { workerEnv } = L.dist('train/distributed');

const CHILD = path.join(__dirname, 'distributed_child.js');
let port = 29600 + Math.floor(Math.random() * 1000);

function runRanks(world, job) {
  port++;
  return Promise.all(
    Array.from({ length: world }, (_, rank) => {
      const env = { ...process.env };
      if (world > 1) {
        Object.assign(
          env,
          workerEnv({
            rank,
            worldSize: world,
            localRank: rank,
            localWorldSize: world,
            masterAddr: '127.0.0.1',
            masterPort: port,
          })
        );
      }
      const child = spawn(process.execPath, [CHILD, JSON.stringify(job)], {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      return new Promise((resolve, reject) =>
        child.on('close', (code) =>
          code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`rank ${rank}: ${code}`))
        )
      );
    })
  );
}

/** Trainable tensor sizes of LoRA on q/k/v/o at rank r over a Qwen3 shape (+ the score head for lora-head). */
function loraSizes(c, r, head) {
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const h = c.hidden_size;
  const perLayer = [
    [h, q],
    [h, kv],
    [h, kv],
    [q, h],
  ].flatMap(([i, o]) => [r * i, o * r]);
  const sizes = Array.from({ length: c.num_hidden_layers }, () => perLayer).flat();
  return head ? [...sizes, 2 * h] : sizes;
}

async function main() {
  const shape = L.SHAPES['0.6B'];
  const cores = os.cpus().length;
  const reduce = await runRanks(2, {
    kind: 'allreduce',
    iterations: 40,
    sizes: { lora: loraSizes(shape, L.LORA.r, false), 'lora-head': loraSizes(shape, L.LORA.r, true) },
  });
  const r0 = reduce[0];
  process.stderr.write(`all-reduce: ${JSON.stringify(r0)}\n`);

  // BENCH_DIST_SHAPE=tiny: the training part on the tiny shape (a 0.6B float32 step took 78 s on a loaded machine).
  const trainShape = process.env.BENCH_DIST_SHAPE || '0.6B';
  const dir = await L.ensureWeights(trainShape, 'causal', 'bfloat16');
  const posts = L.samplePosts(Number(process.env.BENCH_DIST_POSTS || (trainShape === 'tiny' ? 512 : 24)), 11);
  const data = { texts: posts.map((p) => p.text), labels: posts.map((p) => p.label) };
  const evalData = { texts: data.texts.slice(0, 4), labels: data.labels.slice(0, 4) };
  const perRank = trainShape === 'tiny' ? 16 : 4;
  const options = (world) => ({
    method: 'lora',
    model: dir,
    output: path.join(L.WORK, `dist-run-${world}`),
    device: 'cpu',
    dtype: 'float32',
    epochs: 1,
    maxLength: 64,
    batchSize: (perRank * 2) / world,
    lora: { ...L.LORA, dropout: 0 },
    seed: 3,
    offline: true,
  });
  const job = (world) => ({ kind: 'train', options: options(world), data: { ...data }, evalData });
  process.stderr.write('1 process:\n');
  const one = (await runRanks(1, { ...job(1), options: { ...options(1), distributed: false } }))[0];
  process.stderr.write('2 processes:\n');
  const two = (await runRanks(2, job(2)))[0];

  const date = new Date().toISOString().slice(0, 10);
  const cpu = os.cpus()[0].model;
  const lines = [
    `## Data-parallel training (c10d Gloo, loopback) — ${date}, ${cores} cores (${cpu}), load average ${os.loadavg()[0].toFixed(1)}`,
    '',
    '`node bench/case_distributed.js`. All-reduce: the averaged, bucketed (25 MB) float32 all-reduce of the trainable',
    "gradients' sizes through the binding (ProcessGroup.allReduceMean, 2 ranks, 1 thread each, median of 40):",
    '',
    '| gradients | tensors | parameters | MB | all-reduce per step (ms) |',
    '|---|---|---|---|---|',
    ...Object.entries(r0).map(
      ([name, v]) =>
        `| Qwen3-0.6B ${name} (r ${L.LORA.r}, q/k/v/o) | ${v.tensors} | ${v.params} | ${((v.params * 4) / 1e6).toFixed(1)} | ${v.medianMs.toFixed(1)} |`
    ),
    '',
    `Training (lora, random ${trainShape}-shaped weights, float32, ${posts.length} posts, global batch ${perRank * 2}, first step`,
    'excluded, tokens of every rank):',
    '',
    '| processes x threads | steps | tokens/s |',
    '|---|---|---|',
    `| 1 x ${cores} | ${one.steps} | ${(one.tokens / one.seconds).toFixed(1)} |`,
    `| 2 x ${Math.max(1, cores / 2)} | ${two.steps} | ${((two.tokens * 1) / two.seconds).toFixed(1)} |`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
