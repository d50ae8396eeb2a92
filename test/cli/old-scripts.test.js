'use strict';
// Through the command line: nothing lost on signals, and users of the old Python scripts
// (qwen3_lora_universal.py, qwen3_embedding_universal.py, predict_universal.py) find their data, models, flags and
// interactive commands working. Each scenario runs in its own folder with a tiny random base model, offline.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { Trainer, resolveModel } = require('../../dist');
const { PROMPT_KEYS } = require('../../dist/cli/prompt');
const { tmpDir, weiboLines } = require('../helpers/util');
const { ROOT, BIN, cli, spawnCli, jsonLines, clean, copyTree } = require('../helpers/cli');
const { childEnv } = require('../helpers/env');

const lines = weiboLines(150);
const SHARED = tmpDir('q3n-compat-');
const TRAIN = path.join(SHARED, 'train.txt');
const TEST = path.join(SHARED, 'test.txt');
fs.writeFileSync(TRAIN, lines.slice(0, 120).join('\n') + '\n');
fs.writeFileSync(TEST, lines.slice(120).join('\n') + '\n');
const SMALL = ['--epochs', '1', '--max-samples', '16', '--batch-size', '16', '--max-length', '32'];

let tiny;
let finished;
test.before(async () => {
  tiny = (await resolveModel('tiny', { modelsDir: path.join(SHARED, 'models') })).dir;
  finished = path.join(SHARED, 'finished');
  const texts = lines.slice(0, 120).map((l) => l.slice(0, l.lastIndexOf('\t')));
  const labels = lines.slice(0, 120).map((l) => Number(l.slice(l.lastIndexOf('\t') + 1)));
  await new Trainer({
    method: 'lora',
    model: tiny,
    output: finished,
    device: 'cpu',
    maxLength: 32,
    batchSize: 16,
    epochs: 1,
    maxSamples: 32,
    seed: 1,
  }).train({ texts, labels });
});

/** A working folder with ./models holding copies of the finished run under `runs` names. */
function world(...runs) {
  const dir = tmpDir('q3n-world-');
  fs.mkdirSync(path.join(dir, 'models'));
  for (const name of runs) copyTree(finished, path.join(dir, 'models', name));
  return dir;
}

const read = (file) => fs.readFileSync(file);
const same = (a, b) => Buffer.compare(a, b) === 0;

test.serial('SIGTERM, SIGHUP and a double Ctrl-C stop a retrain, and the finished run stays', async (t) => {
  const cwd = world('sig');
  const run = path.join(cwd, 'models', 'sig');
  const before = {
    info: read(path.join(run, 'run.json')),
    weights: read(path.join(run, 'adapter_model.safetensors')),
  };
  // 8 epochs of 24 steps: a tiny-model step takes milliseconds on a quiet machine, so with one epoch a resumed run
  // could finish before the signal sent at its first progress line arrived (seen in the Debian 13 root: exit 0).
  const args = ['train', '--method', 'lora', '--model', tiny, '--train', TRAIN, '--epochs', '8', '--batch-size', '2'];
  args.push('--max-length', '32', '--max-samples', '48', '--output', 'models/sig', '--json');
  const signalled = (signals, extra = []) =>
    spawnCli([...args, ...extra], {
      cwd,
      onStdout: (out, child) => {
        if (!child.sent && out.includes('"event":"progress"')) {
          child.sent = true;
          for (const s of signals) child.kill(s);
        }
      },
    });
  const intact = (what) => {
    t.true(same(read(path.join(run, 'run.json')), before.info), `run.json intact after ${what}`);
    t.true(same(read(path.join(run, 'adapter_model.safetensors')), before.weights), `weights intact after ${what}`);
  };

  const term = await signalled(['SIGTERM']);
  clean(t, term, 'SIGTERM');
  t.is(term.code, 143, term.stderr);
  const stopped = jsonLines(term.stdout).find((e) => e.event === 'stopped');
  t.is(stopped.checkpoint, path.join(`${run}.partial`, 'checkpoint'));
  t.true(stopped.resume.endsWith(' --resume'));
  t.regex(term.stderr, /SIGTERM: stopping after the current step/);
  intact('SIGTERM');

  const hup = await signalled(['SIGHUP'], ['--resume']);
  t.is(hup.code, 129, hup.stderr);
  t.true(jsonLines(hup.stdout).some((e) => e.event === 'log' && /resumed from .*sig\.partial/.test(e.message)));
  intact('SIGHUP');

  const twice = await spawnCli([...args, '--resume'], {
    cwd,
    onStdout: (out, child) => {
      if (!child.sent && out.includes('"event":"progress"')) {
        child.sent = true;
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 100);
      }
    },
  });
  // The second one ends the process by the signal itself (a shell's status 130), not by a crash. On a quiet machine
  // the first one's step and checkpoint can be done before the second arrives (100 ms later): then
  // the second only ends a process that has already saved. Either way the finished run stays.
  t.true(twice.signal === 'SIGINT' || twice.code === 130, `${twice.signal} ${twice.code}\n${twice.stderr}`);
  t.regex(twice.stderr, /again: quitting without saving|checkpoint saved in/);
  intact('a double Ctrl-C');

  const done = await cli([...args, '--resume'], { cwd });
  t.is(done.code, 0, done.stderr);
  t.false(same(read(path.join(run, 'run.json')), before.info), 'the finished retrain replaced the run');
  t.false(fs.existsSync(`${run}.partial`));
});

test.serial('without --train, the old layout ./dataset/train.txt + test.txt is used, with a note', async (t) => {
  const cwd = world();
  fs.mkdirSync(path.join(cwd, 'dataset'));
  fs.copyFileSync(TRAIN, path.join(cwd, 'dataset', 'train.txt'));
  fs.copyFileSync(TEST, path.join(cwd, 'dataset', 'test.txt'));
  const r = await cli(['train', '--method', 'lora', '--model', tiny, ...SMALL, '--json'], { cwd });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /note: --train not given: using \.\/dataset\/train\.txt \(the old scripts' default\)/);
  t.regex(r.stderr, /note: --test not given: using \.\/dataset\/test\.txt \(the old scripts' default\)/);
  const testEvent = jsonLines(r.stdout).find((e) => e.event === 'test');
  t.is(testEvent.count, 30, 'the test file was evaluated at the end');
  const info = JSON.parse(fs.readFileSync(path.join(cwd, 'models', 'qwen3_lora_tiny', 'run.json'), 'utf8'));
  t.is(info.data.train.name, path.join('dataset', 'train.txt'));
});

test.serial('dataset/weibo_senti_100k.csv comes first, with a stratified test split (seed 42)', async (t) => {
  const cwd = world();
  fs.mkdirSync(path.join(cwd, 'dataset'));
  const csv = [
    'label,review',
    ...lines
      .slice(0, 100)
      .map((l) => `${l.slice(l.lastIndexOf('\t') + 1)},"${l.slice(0, l.lastIndexOf('\t')).replace(/"/g, '""')}"`),
  ];
  fs.writeFileSync(path.join(cwd, 'dataset', 'weibo_senti_100k.csv'), csv.join('\n'));
  fs.copyFileSync(TRAIN, path.join(cwd, 'dataset', 'train.txt')); // the CSV wins, as in the old scripts
  const r = await cli(['train', '--method', 'lora', '--model', tiny, ...SMALL, '--json'], { cwd });
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stderr,
    /using \.\/dataset\/weibo_senti_100k\.csv \(the old scripts' default\): 80 posts train, a stratified test split of 20 \(seed 42\)/
  );
  t.is(jsonLines(r.stdout).find((e) => e.event === 'test').count, 20);

  // The split itself: 5,000 posts once the file has more, in proportion to the classes, the same every time.
  const { stratifiedHoldout } = require('../../dist/train/split');
  const labels = Array.from({ length: 5200 }, (_, i) => (i % 5 < 3 ? 1 : 0));
  const a = stratifiedHoldout(labels, 5000, 42);
  t.is(a.test.length, 5000);
  t.is(a.test.filter((i) => labels[i] === 1).length, 3000);
  t.deepEqual(stratifiedHoldout(labels, 5000, 42), a);
  t.is(new Set([...a.train, ...a.test]).size, 5200);
});

test.serial('PEFT adapters, the old names and lowercase base copies work; a pickled head is explained', async (t) => {
  const cwd = world();
  const models = path.join(cwd, 'models');
  fs.symlinkSync(tiny, path.join(models, 'qwen3-0.6b')); // the old scripts' copy of Qwen/Qwen3-0.6B
  const adapter = path.join(models, 'qwen3_lora_0.6b_final'); // models_config.py's MODEL_PATHS
  fs.mkdirSync(adapter);
  fs.copyFileSync(path.join(finished, 'adapter_model.safetensors'), path.join(adapter, 'adapter_model.safetensors'));
  const cfg = JSON.parse(fs.readFileSync(path.join(finished, 'adapter_config.json'), 'utf8'));
  cfg.base_model_name_or_path = 'Qwen/Qwen3-0.6B';
  fs.writeFileSync(path.join(adapter, 'adapter_config.json'), JSON.stringify(cfg));
  fs.writeFileSync(path.join(models, 'qwen3_embedding_0.6b_sentiment.pth'), Buffer.from([0x80, 0x02, 0x7d, 0x71]));

  const [byPath, bySize, info, pth] = await Promise.all([
    cli(['predict', '--checkpoint', 'models/qwen3_lora_0.6b_final', '--text', '好', '--json'], { cwd }),
    cli(['predict', '--model_type', 'lora', '--model_size', '0.6B', '--text', '好', '--json'], { cwd }),
    cli(['info', '--json'], { cwd }),
    cli(['predict', '--checkpoint', 'models/qwen3_embedding_0.6b_sentiment.pth', '--text', '好'], { cwd }),
  ]);
  t.is(byPath.code, 0, byPath.stderr);
  t.is(jsonLines(byPath.stdout)[0].model, 'qwen3_lora_0.6b_final');
  t.is(bySize.code, 0, bySize.stderr);
  t.is(jsonLines(bySize.stdout)[0].model, 'qwen3_lora_0.6b_final');
  t.deepEqual(jsonLines(bySize.stdout)[0].probabilities, jsonLines(byPath.stdout)[0].probabilities);
  t.is(info.code, 0, info.stderr);
  const runs = JSON.parse(info.stdout).runs;
  t.is(runs.find((r) => r.dir.endsWith('qwen3_lora_0.6b_final')).kind, 'peft-adapter');
  t.regex(runs.find((r) => r.dir.endsWith('.pth')).description, /pickled/);
  t.is(pth.code, 1);
  clean(t, pth);
  t.regex(pth.stderr, /pickled PyTorch file/);
  t.regex(pth.stderr, /qwen3-native train --method embedding --model-size 0\.6B/);
  t.regex(pth.stderr, /save_file\(/);
});

test.serial('--load_all over --model_dir skips what cannot load; --ensemble averages the rest', async (t) => {
  const cwd = world();
  const dir = path.join(cwd, 'elsewhere');
  for (const name of ['good', 'good2', 'broken', 'moved']) copyTree(finished, path.join(dir, name));
  fs.writeFileSync(path.join(dir, 'broken', 'run.json'), '{"format": "qwen3-nat');
  const moved = JSON.parse(fs.readFileSync(path.join(dir, 'moved', 'run.json'), 'utf8'));
  moved.baseModel = {
    ...moved.baseModel,
    spec: 'Qwen/Qwen3-4B',
    dir: path.join(cwd, 'gone'),
    repoId: 'Qwen/Qwen3-4B',
  };
  fs.writeFileSync(path.join(dir, 'moved', 'run.json'), JSON.stringify(moved));
  const texts = ['--text', '好', '--text', '坏'];
  const [all, ensemble, evaluated] = await Promise.all([
    cli(['predict', '--load_all', '--model_dir', 'elsewhere', ...texts, '--json'], { cwd }),
    cli(['predict', '--load_all', '--model_dir', 'elsewhere', '--ensemble', ...texts, '--json'], { cwd }),
    cli(['eval', '--load_all', '--model_dir', 'elsewhere', '--test', TEST, '--json'], { cwd }),
  ]);
  t.is(all.code, 0, all.stderr);
  const rows = jsonLines(all.stdout);
  t.deepEqual([...new Set(rows.map((r) => r.model))].sort(), ['good', 'good2']);
  t.regex(all.stderr, /note: skipping \.\/elsewhere\/broken: .*broken[/\\]run\.json: it is not valid JSON/);
  t.regex(all.stderr, /note: skipping \.\/elsewhere\/moved: .*Qwen\/Qwen3-4B/);
  t.is(ensemble.code, 0, ensemble.stderr);
  const avg = jsonLines(ensemble.stdout);
  t.deepEqual(
    avg.map((r) => [r.model, r.text]),
    [
      ['ensemble', '好'],
      ['ensemble', '坏'],
    ]
  );
  for (const r of avg) {
    const mean = rows.filter((x) => x.text === r.text).reduce((s, x) => s + x.probabilities[1], 0) / 2;
    t.true(Math.abs(r.probabilities[1] - mean) < 1e-6);
    t.is(r.label, mean > 0.5 ? 1 : 0);
  }
  t.is(evaluated.code, 0, evaluated.stderr);
  t.deepEqual(
    jsonLines(evaluated.stdout)
      .map((m) => m.model)
      .sort(),
    ['good', 'good2']
  );
});

test.serial("train's --model_path is where to save, as in the old scripts, with a note", async (t) => {
  const cwd = world();
  const r = await cli(
    [
      'train',
      '--method',
      'lora',
      '--model',
      tiny,
      '--train',
      TRAIN,
      ...SMALL,
      '--model_path',
      './models/qwen3_lora_0.6B_mine',
    ],
    { cwd }
  );
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stderr,
    /note: --model_path \.\/models\/qwen3_lora_0\.6B_mine is where the run is saved \(the old scripts' meaning/
  );
  t.true(fs.existsSync(path.join(cwd, 'models', 'qwen3_lora_0.6B_mine', 'run.json')));
});

test.serial('--interactive reads posts; models, switch and compare are commands, not posts', async (t) => {
  const cwd = world('first', 'second');
  const input = ['models', '今天天气真好', '', 'compare 太失望了', 'switch', 'second', '好', 'q', '不该读到'].join(
    '\n'
  );
  const r = await cli(['predict', '--checkpoint', 'models/first', '--interactive', '--json'], { cwd, input });
  t.is(r.code, 0, r.stderr);
  t.true(r.stderr.includes(PROMPT_KEYS), 'the banner says what an empty line and the end keys do');
  t.regex(r.stderr, /in use:\s+\.\/models\/first/);
  t.regex(r.stderr, /now using second/);
  const rows = jsonLines(r.stdout).map((x) => [x.model, x.text]);
  t.deepEqual(rows, [
    ['first', '今天天气真好'],
    ['first', '太失望了'],
    ['second', '太失望了'],
    ['second', '好'],
  ]);
});

test.serial(
  'help, banner and docs/cli.md agree on the prompt keys; Ctrl-D typed during a prediction ends after it',
  async (t) => {
    const help = await cli(['predict', '--help']);
    t.true(help.stdout.replace(/\s+/g, ' ').includes(PROMPT_KEYS), 'predict --help');
    const reference = fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8').replace(/\s+/g, ' ');
    t.true(reference.includes(PROMPT_KEYS), 'docs/cli.md');
    if (!fs.existsSync('/usr/bin/script')) return t.log('no script(1): the pty part is skipped');
    const cwd = world('run');
    const { spawn } = require('child_process');
    const command = [process.execPath, BIN, 'predict', '--checkpoint', 'models/run'].map((a) => `'${a}'`).join(' ');
    const r = await new Promise((resolve) => {
      const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd, env: childEnv({ CI: '' }) });
      let output = '';
      let typed = false;
      child.stdout.on('data', (d) => {
        output += d;
        // The post and Ctrl-D in one write: Ctrl-D arrives while the post is being classified.
        if (!typed && output.includes('微博>')) {
          typed = true;
          child.stdin.write('今天天气真好\r\x04');
        }
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, output });
      });
    });
    t.is(r.signal, null, `ended by itself:\n${r.output}`);
    t.is(r.code, 0, r.output);
    t.regex(r.output, /run\s+[01]\s+(正面|负面)\s+\d+\.\d\d%\s+今天天气真好/, 'the prediction was printed first');
  }
);

test.serial('--text-column/--id-column carry ids to every output; tables escape control characters', async (t) => {
  const cwd = world('run');
  const evil = '\x1b]0;owned\x07\x1b[31mred\x9b';
  fs.writeFileSync(
    path.join(cwd, 'posts.csv'),
    `id,content,likes\nw1,今天天气真好,3\nw2,"太失望了, 再也不来",1\nw3,${evil},0\n`
  );
  fs.writeFileSync(
    path.join(cwd, 'posts.jsonl'),
    [
      { mid: 7, body: '好' },
      { mid: 'x8', body: evil },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n')
  );
  const [csv, jsonl] = await Promise.all([
    cli(
      [
        'predict',
        '--checkpoint',
        'models/run',
        '--file',
        'posts.csv',
        '--text-column',
        'content',
        '--id-column',
        'id',
        '--out',
        'out.csv',
        '--json',
      ],
      { cwd }
    ),
    cli(
      ['predict', '--checkpoint', 'models/run', '--file', 'posts.jsonl', '--text_column', 'body', '--id_column', 'mid'],
      { cwd }
    ),
  ]);
  t.is(csv.code, 0, csv.stderr);
  const rows = jsonLines(csv.stdout);
  t.deepEqual(
    rows.map((r) => [r.id, r.text]),
    [
      ['w1', '今天天气真好'],
      ['w2', '太失望了, 再也不来'],
      ['w3', evil],
    ],
    'JSON keeps the text exactly'
  );
  const written = fs.readFileSync(path.join(cwd, 'out.csv'), 'utf8').split('\n');
  t.is(written[0], 'id,model,label,sentiment,confidence,p_negative,p_positive,text');
  t.true(written[1].startsWith('w1,run,'));
  t.is(jsonl.code, 0, jsonl.stderr);
  t.regex(jsonl.stdout, /^id\s+model\s+label/m);
  t.regex(jsonl.stdout, /^7\s+run\s+[01]/m);
  t.false(/[\x07\x1b\x9b]/.test(jsonl.stdout), 'no raw control character reaches the terminal');
  t.true(jsonl.stdout.includes('\\x1b]0;owned\\x07\\x1b[31mred\\x9b'), jsonl.stdout);
});

test.serial('an --out that is the --file input (or a link to it) is refused before any work', async (t) => {
  const cwd = world('run');
  const input = path.join(cwd, 'posts.jsonl');
  fs.writeFileSync(input, '{"text":"好","label":1}\n');
  fs.symlinkSync(input, path.join(cwd, 'link.jsonl'));
  for (const out of ['posts.jsonl', './posts.jsonl', 'link.jsonl']) {
    const r = await cli(['predict', '--checkpoint', 'models/run', '--file', 'posts.jsonl', '--out', out], { cwd });
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /--out .* is the --file input/);
    clean(t, r);
  }
  t.is(fs.readFileSync(input, 'utf8'), '{"text":"好","label":1}\n');
});
