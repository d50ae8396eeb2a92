// --help texts. Flag lines come from args.ts and defaults from the code that applies them, so help, parser and
// behaviour never disagree.
import { METHOD_DEFAULTS, METHODS, type MethodDefaults } from '../classifier/methods';
import { DEFAULT_BATCH_LIMITS } from '../qwen3/batching';
import { MODEL_SIZES } from '../qwen3/presets';
import { COMPARE_DEFAULTS, COMPARE_OPTIONS } from '../compare/schema';
import { API_KEY_ENV } from '../serve/options';
import { SIGNAL_EXIT } from './errors';
import { COMMAND_FLAGS, FLAGS, optionHelp, type Command } from './flags';
import { OLD_DATA, OLD_SPLIT_SEED, OLD_TEST_POSTS } from './legacy';
import { PROMPT_KEYS } from './prompt';

const SIGNAL_CODES = Object.entries(SIGNAL_EXIT)
  .map(([signal, code]) => `${code} (${signal === 'SIGINT' ? 'Ctrl-C' : signal})`)
  .join(', ');

const INTRO: Record<Command, string> = {
  train: `Usage: qwen3-native train --method <m> (--model-size <size> | --model <spec>) [flags]

Fine-tunes Qwen3 to tell positive (1 正面) from negative (0 负面) Weibo posts, or any label set (--labels
消极,中性,积极; else the labels --train holds: ids 0..N-1, or names, sorted), and writes a run folder
(./models/qwen3_<method>_<size> unless --output). lora scores a label word of several tokens (中性) by the sum of its
tokens' log-probs. Without --train it trains on the old scripts' data when it is
there (${OLD_DATA.csv} with a stratified ${OLD_TEST_POSTS}-post test split, seed ${OLD_SPLIT_SEED}; else
${OLD_DATA.train} and ${OLD_DATA.test}), else on the bundled sample data/weibo_sample.txt, and says which.
A missing --method or --model-size is asked for on a terminal; without one it is an error.
--model tiny trains a tiny random model (no download): a smoke test, not a sentiment model.
The run trains in <output>.partial and replaces <output> only when it finishes: a finished run is never lost.
Ctrl-C, SIGTERM or SIGHUP stop after the current step and save a checkpoint (a second one quits at once); run the
same command with --resume to continue. Exit codes then: ${SIGNAL_CODES}.`,
  predict: `Usage: qwen3-native predict [--checkpoint <dir> | --method <m> --model-size <size> | --load-all] [--text <t>]... [--file <f>] [flags]

Classifies posts with a trained run (a run folder, or a PEFT adapter folder). Texts come from --text (repeatable),
extra arguments, --file (one post per line, or any training format; --text-column/--id-column for CSV and JSONL),
or piped stdin (post lines, CSV or JSONL), read as a stream: posts are classified in batches as they arrive and each
result is printed once known (tail -f posts | qwen3-native predict). With none of these on a terminal (or with
--interactive) it asks for posts one at a time: ${PROMPT_KEYS}; the words models, switch and compare are commands (list the runs in use, use
another run, one post by every run side by side). Without --checkpoint the run is found under --models-dir
(./models): by --method and/or --model-size, else asked for on a terminal. --load-all uses every run there,
skipping (with a note) one that cannot be loaded; --ensemble averages their probabilities (runs of one label set).`,
  eval: `Usage: qwen3-native eval --test <file> [--checkpoint <dir> | --method <m> --model-size <size> | --load-all] [flags]

Evaluates trained run(s) on a labelled file, read with each run's label set: accuracy, macro- and weighted-F1,
per-class precision/recall/F1/support and the N x N confusion matrix.`,
  serve: `Usage: qwen3-native serve (--checkpoint <dir> [--checkpoint <dir2> ...] | --load-all [--models-dir <dir>]) [flags]

Serves trained run(s) over HTTP (JSON): POST /v1/predict {"texts": [...]} or {"text": "..."} (optional "model": a run
folder's name; default the first), GET /v1/models, /healthz, /readyz (503 until the models are loaded), /metrics
(Prometheus), /openapi.json. Texts of concurrent requests are merged into one model call (--max-batch-size,
--max-wait-ms); past --queue-limit waiting texts, requests get 503 with Retry-After. SIGTERM or Ctrl-C stops taking
requests, answers everything queued, then exits 0 (a second one exits at once). With --api-key (or ${API_KEY_ENV})
every route but /healthz and /readyz needs Authorization: Bearer <key>; a --host other than loopback requires one.`,
  compare: `Usage: qwen3-native compare --train <file> --test <file> (--model-size <size> | --model <spec>) [--methods m,m] [flags]
       qwen3-native compare --test <file> (--checkpoint <run> [--checkpoint <run2>]... | --load-all) [flags]

Answers "which method, and at what cost?" with measurements. Trains each method (each on its family's base:
Qwen3-Embedding for embedding; --model tiny means tiny and tiny-embedding) on the same data, dev split and seed, or
takes existing runs, then measures every one in this process on the same test file: accuracy, macro-F1, per-class
precision/recall, confusion matrix, training time, parameters, peak memory in training and prediction, posts/s, the
p50/p95 latency of one post and the run folder's size. Writes report.md, report.json and report.html (one file with
charts, no script, no network) to --out (default ${COMPARE_DEFAULTS.out}/; trained runs go to <out>/runs/<method>).`,
  report: `Usage: qwen3-native report <run folder> [--out <file.html>]

Draws one run's training curves (loss, dev accuracy, learning rate) from its metrics.jsonl, with its totals (time,
parameters, peak memory), into one self-contained HTML file (default <run>/report.html).`,
  info: `Usage: qwen3-native info [--models-dir <dir>] [--json]

Shows what this machine's libtorch offers (version, CUDA devices, threads, whether the CPU has native bf16) and the
trained runs under --models-dir (./models), which libtorch was found (where, version, C++ ABI, how it was found) and
which addon file was loaded.`,
  build: `Usage: qwen3-native build [--build-dir <dir>]

Builds the native addon from source for the libtorch found (in this order: $LIBTORCH, Python torch, the system's) and
puts it in the package's build/Release, where it wins over the prebuilt addons. Only needed for a libtorch the
package has no prebuilt addon for (qwen3-native info, or the error message, says which it ships). Needs a C++17
compiler, CMake >= 3.18, make, libtorch's headers and CMake files (Debian/Ubuntu: sudo apt-get install g++ cmake
make libtorch-dev; or an unpacked libtorch zip in LIBTORCH; or pip torch), and the npm registry once (cmake-js,
node-addon-api and node-api-headers are fetched into ~/.cache/qwen3-native). Takes 3-10 minutes and ~1.6 GB of memory;
only the .node file stays behind.`,
};

const EXAMPLES: Record<Command, string> = {
  train: `Examples:
  qwen3-native train --method lora --model tiny --test sample        # no download, seconds on a CPU
  qwen3-native train --method lora-head --model-size 0.6B --train data/weibo_senti_100k.txt --test test.txt
  qwen3-native train --method lora --model-size 0.6B --resume         # continue after Ctrl-C
  qwen3-native train --eval-only --checkpoint models/qwen3_lora_0.6B --test test.txt`,
  predict: `Examples:
  qwen3-native predict --checkpoint models/qwen3_lora_tiny --text '今天天气真好' --text '太失望了'
  qwen3-native predict --method lora --model-size 0.6B --file posts.txt --out predictions.csv
  qwen3-native predict --load-all --text '这个电影太棒了' --json
  cat posts.txt | qwen3-native predict --checkpoint models/qwen3_lora_0.6B --json`,
  eval: `Examples:
  qwen3-native eval --checkpoint models/qwen3_lora_0.6B --test data/weibo_sample_test.txt
  qwen3-native eval --load-all --test test.txt --json`,
  serve: `Examples:
  qwen3-native serve --checkpoint models/qwen3_lora_tiny
  curl -s localhost:8080/v1/predict -H 'Content-Type: application/json' -d '{"texts":["今天天气真好"]}'
  qwen3-native serve --load-all --port 9000 --log-format json
  ${API_KEY_ENV}=$(openssl rand -hex 32) qwen3-native serve --checkpoint models/qwen3_lora_0.6B --host 0.0.0.0`,
  compare: `Examples:
  qwen3-native compare --model tiny --train data/weibo_sample.txt --test data/weibo_sample_test.txt   # no download
  qwen3-native compare --model-size 0.6B --methods embedding,lora-head --train train.txt --test test.txt --out report
  qwen3-native compare --load-all --test data/weibo_sample_test.txt`,
  report: `Examples:
  qwen3-native report models/qwen3_lora_tiny
  qwen3-native report models/qwen3_full_tiny --out curves.html`,
  info: `Examples:
  qwen3-native info
  qwen3-native info --json`,
  build: `Examples:
  npx qwen3-native build
  LIBTORCH=/opt/libtorch npx qwen3-native build       # against an unpacked libtorch (e.g. a CUDA build)`,
};

const OUTPUT: Record<Command, string> = {
  train: `Output: progress on stderr (one line redrawn on a terminal, plain lines every 2 s otherwise), a metrics table after
each evaluation and a summary on stdout. --json: JSON Lines on stdout, one object per event
({"event":"progress"|"eval"|"log"|"checkpoint"|"done"|"test", ...}).`,
  predict: `Output: an aligned table ([id,] model, label, sentiment, confidence, text; control characters shown escaped).
Runs of different label sets (--load-all): one table per label set.
--json: JSON Lines on stdout, one object per prediction:
{["id",]"text","label":0|1,"sentiment":"正面"|"负面","confidence","probabilities":[p负面,p正面],"model"}; for other
label sets label is the id, sentiment its name, probabilities one per label, and "labels" names them.
--out f.jsonl writes the same objects; --out f.csv writes [id,]model,label,sentiment,confidence,p_negative,p_positive,text
(other label sets: one p_<name> column per label; runs of different sets need .jsonl).`,
  eval: `Output: metrics tables; with --load-all also a comparison table. --json: JSON Lines, one object per model:
{"model","checkpoint","test","count","accuracy","macroF1","weightedF1","macroPrecision","macroRecall",
 "perClass":[{"label","sentiment","precision","recall","f1","support"}],"confusion":[[..],[..]]} (confusion[true][predicted]).`,
  serve: `Output: the log on stderr: the address (a line with http://host:port, also with --port 0), each model loaded,
then one line per request (--log-format json: one JSON object per line). /v1/predict answers
{"predictions":[{"text","label":0|1,"sentiment","confidence","probabilities":[p负面,p正面],"model"}, ...]}, one per text
(other label sets: as predict --json, with "labels"; /v1/models lists each run's labels);
errors are {"statusCode","error","code","message","field"} naming the field at fault.`,
  compare: `Output: progress on stderr, the summary table on stdout and the paths of the three files. --json: the report
(report.json's object) as one JSON line on stdout.`,
  report: `Output: the path of the HTML file written.`,
  info: `Output: a short report. --json: {"libtorchVersion","cudaAvailable","cudaDeviceCount","threads","cpuBf16","defaultDtype",
"libtorch":{"source","libDir","version","cxx11abi",...},"addon":{"file","origin","meta"},"runs":[{"dir","method","accuracy"}]}.`,
  build: `Output: cmake-js's build log, then the path of the addon built. Exit 1 with the missing pieces named when a compiler,
CMake or libtorch's headers are missing.`,
};

export const OLD_SPELLINGS = `Old spellings (the Python scripts' flags) still work:
  any flag with underscores (--model_size, --batch_size, --learning_rate, --lora_r, --max_samples, --eval_only,
  --load_all, ...); --model_type = --method (values embedding, qwen3-embedding -> embedding; lora, qwen3-lora -> lora;
  lora-head, lora_head, seq-cls -> lora-head; full, finetune -> full); --train_path = --train; --test_path = --test;
  --output_dir = --output; --model_dir = --models-dir; --model_path = --checkpoint when it names a trained run
  (run.json or a PEFT adapter); for train, --model_path is where to save (--output) unless it names a base model
  folder, 'tiny' or a Qwen3 name, or --output is given (then it is --model).`;

const C = COMPARE_OPTIONS;
const COMPARE_HELP: Record<string, string> = {
  train: optionHelp(C.train),
  test: optionHelp(C.test),
  checkpoint: 'an existing run folder to compare instead of training (repeatable)',
  'load-all': 'compare every trained run under --models-dir',
  out: optionHelp(C.out),
  epochs: `${optionHelp(C.epochs)} (default: ${perMethod('epochs')})`,
  'max-samples': optionHelp(C.maxSamples),
  seed: optionHelp(C.seed),
};

function flagLines(command: Command): string {
  const names = COMMAND_FLAGS[command].filter((f) => !FLAGS[f].hidden);
  const repeatable = (f: string) => FLAGS[f].multiple && (FLAGS[f].repeatableIn ?? [command]).includes(command);
  const left = names.map((f) => `  --${f}${FLAGS[f].value ? ` ${FLAGS[f].value}` : ''}${repeatable(f) ? ' ...' : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return names.map((f, i) => `${left[i].padEnd(width)}${help(command, f)}`).join('\n');
}

/** "lora 2, lora-head 2, embedding 10, full 2": one default per method. */
export function perMethod(key: keyof MethodDefaults): string {
  const show = (v: number) => (v < 0.01 ? v.toExponential() : String(v)); // 2e-4, not 0.0002
  return METHODS.map((m) => `${m} ${show(METHOD_DEFAULTS[m][key])}`).join(', ');
}

function help(command: Command, flag: string): string {
  if (command !== 'train' && flag === 'batch-size')
    return `texts per forward pass (default ${DEFAULT_BATCH_LIMITS.maxBatchSize})`;
  if (command === 'eval' && flag === 'max-samples') return 'evaluate on at most n posts (stratified, seeded)';
  if (command !== 'train' && flag === 'model') return 'override the base model recorded in the run (folder, hub id)';
  if (command === 'serve' && flag === 'checkpoint')
    return "a trained run folder to serve (repeatable; a model is named by its folder's name)";
  if (command === 'serve' && flag === 'load-all') return 'serve every trained run under --models-dir';
  if (command === 'train' && flag === 'test')
    return `${FLAGS.test.help}; the best model is evaluated on it at the end (the result is kept in the run folder)`;
  if (command === 'compare') {
    const h = COMPARE_HELP[flag];
    if (h) return h;
  }
  if (command === 'report' && flag === 'checkpoint') return 'the run folder (or give it as the argument)';
  if (command === 'report' && flag === 'out') return 'the HTML file to write (default <run>/report.html)';
  if (command === 'train' && flag === 'checkpoint')
    return 'with --eval-only: the run folder to evaluate (default --output)';
  if (command === 'train' && flag === 'epochs') return `passes over the data (default: ${perMethod('epochs')})`;
  if (command === 'train' && flag === 'batch-size') return `examples per batch (default: ${perMethod('batchSize')})`;
  if (command === 'train' && flag === 'train')
    return `${FLAGS.train.help} (default: the old scripts' ${OLD_DATA.csv} or ${OLD_DATA.train} when present, else the bundled sample)`;
  if (command === 'train' && flag === 'learning-rate')
    return `peak learning rate (default: ${perMethod('learningRate')})`;
  return FLAGS[flag].help;
}

export function commandHelp(command: Command): string {
  // serve, compare, report and build have none of the Python scripts' flags to keep.
  const old = ['serve', 'compare', 'report', 'build'].includes(command) ? [] : [OLD_SPELLINGS, ''];
  return [
    INTRO[command],
    '',
    'Flags:',
    flagLines(command),
    '',
    OUTPUT[command],
    '',
    EXAMPLES[command],
    '',
    ...old,
  ].join('\n');
}

export function mainHelp(version: string): string {
  return `qwen3-native ${version}: fine-tune Qwen3 (${MODEL_SIZES.join(' / ')}) to classify Chinese Weibo sentiment, on libtorch.

Usage: qwen3-native <command> [flags]

Commands:
  train     fine-tune a classifier (methods: ${METHODS.join(', ')})
  predict   classify posts with trained run(s)
  eval      accuracy, macro-F1, per-class scores and confusion matrix on a labelled file
  serve     an HTTP prediction service (batched, with health, readiness and Prometheus metrics)
  compare   train and measure the methods side by side: report.md, report.json, report.html with charts
  report    one run's training curves as a self-contained HTML file
  info      libtorch found, addon loaded, CUDA, threads, native bf16, and the trained runs found
  build     build the native addon from source for the libtorch found (needs a compiler and CMake)

Run qwen3-native <command> --help for its flags.

Quick start (no download: 'tiny' is a tiny random model, a smoke test):
  qwen3-native train --method lora --model tiny
  qwen3-native predict --checkpoint models/qwen3_lora_tiny --text '今天天气真好'

Flags: --help, --version. Environment: HF_HUB_OFFLINE=1 (never download), HF_ENDPOINT (a mirror), HF_TOKEN,
HF_HOME, QWEN3_NATIVE_DEBUG=1 (print stack traces with errors), ${API_KEY_ENV} (serve's API key).
Exit codes: 0 ok, 1 failure, 2 bad usage (flag, value, or a missing choice without a terminal); train stopped by a
signal: ${SIGNAL_CODES}.
`;
}
