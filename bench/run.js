#!/usr/bin/env node
// `npm run bench`: runs the benchmark cases (each in its own process), prints progress, writes bench/RESULTS.md.
//   node bench/run.js [--quick] [--only <case>[,<case>]] [--keep-weights] [--posts N] [--predict-texts N] ...
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const L = require('./lib');
const { render, spliceCases } = require('./report');

const CASES = [
  'roofline',
  'forward',
  'train',
  'predict',
  'explain',
  'embedding',
  'tokenizer',
  'memory',
  'serve',
  'scratch',
  'hf',
];
// Run only when named: hf needs transformers + PEFT on the addon's own torch (scripts/pip-torch.sh shell cpu).
const NAMED_ONLY = ['hf'];
const GPU_CASES = ['forward', 'train'];

const HELP = `node bench/run.js [options]
  --quick               tiny shapes and few posts (smoke test of the benchmark; RESULTS.md is marked quick)
  --only <case>         run only these cases (repeatable or comma-separated): ${CASES.join(', ')}
                        (${NAMED_ONLY.join(', ')}: only when named; BENCH_PYTHON must have transformers and peft on
                        the addon's torch: docs/development.md, "Benchmarks")
  --out <file>          where to write the report (default bench/RESULTS.md); with --only, the cases run replace
                        their own sections in an existing report and every other section is kept
  --keep-weights        keep the generated checkpoints in ${L.WORK} for the next run
  --posts N             embedding case: training posts (default 1000)
  --predict-texts N     predict case: texts for our throughput (default 1000)
  --explain-posts N     explain case: posts explained per method (default 8)
  --generate-texts N    predict case: texts for the generation baseline (default 64)
  --forward-posts N     forward case: posts (default 64)
  --train-steps N       train case: measured optimizer steps per configuration (default 3)
  --serve-requests N    serve case: requests with batching on (default 100000; RSS is sampled every 10,000)
  --serve-unbatched-requests N   serve case: requests with batching off (default 20000)
  --serve-threads N     serve case: the servers' --threads (default 1: on 2 shared cores a 2-thread OpenMP team stalls)
  --threads N           intra-op threads for both sides (default: all cores)
  --no-tiny             skip the tiny-model rows of a full run`;

function parseArgs(argv) {
  const a = {
    quick: false,
    only: [],
    keepWeights: false,
    tiny: true,
    out: path.join(__dirname, 'RESULTS.md'),
    numbers: {},
  };
  const numeric = {
    '--posts': 'embeddingPosts',
    '--predict-texts': 'predictTexts',
    '--explain-posts': 'explainPosts',
    '--generate-texts': 'generateTexts',
    '--forward-posts': 'forwardPosts',
    '--train-steps': 'trainSteps',
    '--serve-requests': 'serveRequests',
    '--serve-unbatched-requests': 'serveUnbatchedRequests',
    '--serve-threads': 'serveThreads',
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--quick') a.quick = true;
    else if (x === '--keep-weights') a.keepWeights = true;
    else if (x === '--no-tiny') a.tiny = false;
    else if (x === '--threads') {
      a.threads = Number(argv[++i]);
      if (!Number.isInteger(a.threads) || a.threads <= 0) throw new Error('--threads needs a positive integer');
    } else if (x === '--only')
      a.only.push(
        ...String(argv[++i] || '')
          .split(',')
          .filter(Boolean)
      );
    else if (x === '--out') a.out = path.resolve(argv[++i]);
    else if (numeric[x]) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${x} needs a positive integer`);
      a.numbers[numeric[x]] = n;
    } else if (x === '--help' || x === '-h') {
      console.log(HELP);
      process.exit(0);
    } else throw new Error(`unknown option ${x}\n${HELP}`);
  }
  for (const c of a.only) if (!CASES.includes(c)) throw new Error(`unknown case '${c}' (cases: ${CASES.join(', ')})`);
  return a;
}

function settingsFor(a) {
  const base = a.quick
    ? {
        shapes: ['tiny'],
        forwardPosts: 16,
        forwardBatch: 8,
        trainBatch: 8,
        trainWarmup: 1,
        trainSteps: 2,
        trainPosts: 128,
        predictTexts: 32,
        explainPosts: 4,
        generateTexts: 8,
        latencyRuns: 2,
        embeddingPosts: 64,
        embeddingEval: 16,
        embeddingEpochs: 3,
        tokenizerPosts: 2000,
        memoryTexts: 16,
        serveRequests: 2000,
        serveUnbatchedRequests: 1000,
        serveThreads: 1,
      }
    : {
        shapes: a.tiny ? ['0.6B', 'tiny'] : ['0.6B'],
        forwardPosts: 64,
        forwardBatch: 16,
        trainBatch: 8,
        trainWarmup: 1,
        trainSteps: 3,
        trainPosts: 256,
        predictTexts: 1000,
        explainPosts: 8,
        generateTexts: 64,
        latencyRuns: 5,
        embeddingPosts: 1000,
        embeddingEval: 50,
        embeddingEpochs: 3,
        tokenizerPosts: 10000,
        memoryTexts: 64,
        serveRequests: 100000,
        serveUnbatchedRequests: 20000,
        serveThreads: 1,
      };
  return { ...base, forwardDtypes: ['float32', 'bfloat16'], threads: a.threads || os.cpus().length, ...a.numbers };
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function machine(threads) {
  const info = L.dist('index').runtimeInfo();
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (cpuinfo.match(/^model name\s*:\s*(.*)$/m) || [])[1] || os.cpus()[0].model;
  const flags = (cpuinfo.match(/^flags\s*:\s*(.*)$/m) || [])[1] || '';
  const isa = ['avx2', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile'].filter((f) => flags.split(' ').includes(f));
  const mem = Number((fs.readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s*(\d+)/) || [])[1]) * 1024;
  // Which BLAS the addon's libtorch actually mapped (reference BLAS is ~13x slower than OpenBLAS for fp32).
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  const blas = [
    ...new Set(
      maps
        .split('\n')
        .map((l) => l.split(/\s+/)[5])
        .filter((f) => f && /blas|mkl/i.test(f))
    ),
  ];
  const probe =
    'import json,sys,torch; torch.randn(8,8)@torch.randn(8,8); m=open("/proc/self/maps").read(); ' +
    'print(json.dumps([torch.__version__, sys.version.split()[0], "OpenBLAS" if "openblas" in m else "no OpenBLAS mapped", ' +
    'torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""]))';
  let pyInfo;
  try {
    pyInfo = JSON.parse(sh(L.PYTHON, ['-c', probe]));
  } catch {
    pyInfo = ['not found', '–', '–', ''];
  }
  const [pyTorch, pyVersion, pyBlas, gpuName] = pyInfo;
  return {
    info,
    rows: [
      ['CPU', `${model} (${isa.join(', ')})`],
      ['cores', `${os.cpus().length}; intra-op threads used by both sides: ${threads} (addon default ${info.threads})`],
      ['memory', `${(mem / 2 ** 30).toFixed(1)} GiB`],
      [
        'load average at start',
        os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(' '),
      ],
      ['OS', `${os.type()} ${os.release()}`],
      ['node', process.version],
      [
        'libtorch (addon)',
        `${info.libtorchVersion}, CUDA ${info.cudaAvailable ? `yes (${info.cudaDeviceCount} device${info.cudaDeviceCount > 1 ? 's' : ''}${gpuName ? `: ${gpuName}` : ''})` : 'no'}, native bf16 ${info.cpuBf16 ? 'yes' : 'no'}`,
      ],
      ['BLAS mapped by the addon', blas.length ? blas.map((f) => path.basename(f)).join(', ') : 'none found'],
      ['python torch (baselines)', `${pyTorch} on Python ${pyVersion} (${L.PYTHON}), ${pyBlas}`],
      [
        'OpenBLAS installed',
        fs.existsSync('/usr/lib/x86_64-linux-gnu/libopenblas.so.0') || blas.some((f) => /openblas/.test(f))
          ? `yes (libblas.so.3 -> ${sh('readlink', ['-f', '/usr/lib/x86_64-linux-gnu/libblas.so.3']) || '?'})`
          : 'no',
      ],
    ],
  };
}

/** Our bf16 forward tokens/s on the largest shape, when the forward case ran (the tokenizer case compares to it). */
function forwardTokensPerSecond(results, settings) {
  const f = results.forward && results.forward.ok && results.forward.result.summary;
  const v = f && f[`${settings.shapes[0]}/bfloat16/ours`];
  return v ? v.tokensPerSecond : undefined;
}

let current; // kills the running case's process group
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) current();
    process.exit(130);
  });
}

function runCase(name, ctx, timeoutMs) {
  const dir = path.join(L.WORK, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const ctxFile = path.join(dir, `${name}-${ctx.device}.ctx.json`);
  const outFile = path.join(dir, `${name}-${ctx.device}.out.json`);
  fs.writeFileSync(ctxFile, JSON.stringify(ctx));
  fs.rmSync(outFile, { force: true });
  const started = Date.now();
  return new Promise((resolve) => {
    // Its own process group: on a timeout, or when it dies (e.g. killed for memory) while a Python job of it still
    // runs, the whole group goes, so nothing is left behind to skew the next case.
    const child = spawn(process.execPath, [path.join(__dirname, 'child.js'), name, ctxFile, outFile], {
      cwd: L.ROOT,
      stdio: 'inherit',
      detached: true,
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    current = killGroup;
    const timer = setTimeout(killGroup, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      current = undefined;
      const seconds = (Date.now() - started) / 1000;
      let r;
      try {
        r = JSON.parse(fs.readFileSync(outFile, 'utf8'));
      } catch {
        r = {
          ok: false,
          error: signal
            ? `the case process was killed by ${signal}${signal === 'SIGKILL' ? ' (timeout or out of memory)' : ''}`
            : `the case process exited with code ${code} without a result`,
        };
      }
      resolve({ ...r, seconds });
    });
  });
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const settings = settingsFor(a);
  const order = a.only.length ? CASES.filter((c) => a.only.includes(c)) : CASES.filter((c) => !NAMED_ONLY.includes(c));
  const started = new Date();
  fs.mkdirSync(L.WORK, { recursive: true });
  const m = machine(a.threads || os.cpus().length);
  console.log(`qwen3-native bench${a.quick ? ' (quick)' : ''}: ${order.join(', ')}; scratch folder ${L.WORK}`);
  for (const [k, v] of m.rows) console.log(`  ${k}: ${v}`);
  const threads = a.threads || os.cpus().length;
  const threadsOverride = a.threads !== undefined;
  const results = {};
  const gpu = {};
  const timeoutMs = (a.quick ? 10 : 40) * 60 * 1000;
  for (const name of order) {
    console.log(`\n=== ${name} ===`);
    const previous = { roofline: results.roofline && results.roofline.ok ? results.roofline.result : undefined };
    const r = await runCase(
      name,
      {
        quick: a.quick,
        device: 'cpu',
        threads,
        threadsOverride,
        settings,
        shapes: settings.shapes,
        previous,
        previousForward: forwardTokensPerSecond(results, settings),
      },
      timeoutMs
    );
    results[name] = r;
    console.log(
      r.ok ? `=== ${name}: done in ${r.seconds.toFixed(0)} s` : `=== ${name}: FAILED: ${String(r.error).split('\n')[0]}`
    );
  }
  if (m.info.cudaAvailable) {
    for (const name of order.filter((c) => GPU_CASES.includes(c))) {
      console.log(`\n=== ${name} (cuda) ===`);
      gpu[name] = await runCase(
        name,
        {
          quick: a.quick,
          device: 'cuda',
          threads,
          threadsOverride,
          settings,
          shapes: settings.shapes.filter((s) => s === '0.6B' || a.quick),
          previous: {},
        },
        timeoutMs
      );
    }
  }
  const finished = new Date();
  const machineRows = [
    ...m.rows,
    [
      'load average at end',
      os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' '),
    ],
  ];
  // One case (or a few) on an existing full report: splice them in, keep everything else.
  const partial = a.only.length > 0 && !a.quick && fs.existsSync(a.out);
  const md = partial
    ? spliceCases(fs.readFileSync(a.out, 'utf8'), { machine: machineRows, results, order, started, finished })
    : render({ machine: machineRows, settings, results, order, quick: a.quick, started, finished, gpu });
  fs.writeFileSync(a.out, md);
  console.log(`\nwrote ${path.relative(process.cwd(), a.out)} (${((finished - started) / 60000).toFixed(1)} min)`);
  if (!a.keepWeights) fs.rmSync(path.join(L.WORK, 'weights'), { recursive: true, force: true });
  fs.rmSync(path.join(L.WORK, 'runs'), { recursive: true, force: true });
  fs.rmSync(path.join(L.WORK, 'results'), { recursive: true, force: true });
  fs.rmSync(path.join(L.WORK, 'jobs'), { recursive: true, force: true });
  if (!a.keepWeights) fs.rmSync(L.WORK, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
