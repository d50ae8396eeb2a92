// Every flag of every command, and the old Python scripts' spellings: the one table the parser (args.ts) and the help
// (help.ts) both read, so they never disagree. A flag that sets an option says so with the option's words and default,
// read from the option's schema (optionHelp), so help and behaviour never disagree either.
import { DEFAULT_LABELS } from '../classifier/labels';
import { keepsCheckpointByDefault, METHODS, type Method } from '../classifier/methods';
import { COMPARE_DEFAULTS, COMPARE_OPTIONS } from '../compare/schema';
import { DistributedOptionsSchema, LoraOptionsSchema, TRAINER_DEFAULTS, TRAINER_OPTIONS } from '../train/schema';
import { DEVICE_OPTIONS, DTYPE_OPTIONS } from '../qwen3/runtime';
import { MODEL_SIZES } from '../qwen3/presets';
import { EXPLAIN_OPTIONS, STREAM_OPTIONS } from '../predict/schema';
import { SERVE_DEFAULTS, SERVE_OPTIONS } from '../serve/schema';
import type { SchemaNode } from '../util/schema';
import { placeholder, TRAINER_FLAGS } from './trainer-flags';

/** An option's help: its choices, its description, and its default ("text | json: ... (default text)"). */
export function optionHelp(option: object): string {
  const s = option as SchemaNode;
  const members = (s.anyOf ?? []) as SchemaNode[];
  const literals = members.length > 0 && members.every((m) => 'const' in m);
  const choices = literals ? `${members.map((m) => m.const).join(' | ')}: ` : '';
  const value = Array.isArray(s.default) ? s.default.join(',') : s.default;
  const text = `${choices}${s.description ?? ''}`;
  if (!('default' in s) || s.default === false) return text;
  // "(MASTER_ADDR; default 127.0.0.1)", not "(MASTER_ADDR) (default 127.0.0.1)"
  return text.endsWith(')') ? `${text.slice(0, -1)}; default ${value})` : `${text} (default ${value})`;
}

const T = TRAINER_OPTIONS;
const LORA = LoraOptionsSchema.properties;
const DIST = DistributedOptionsSchema.properties;
const S = SERVE_OPTIONS;

export const COMMANDS = ['train', 'predict', 'eval', 'serve', 'compare', 'report', 'info', 'build'] as const;
export type Command = (typeof COMMANDS)[number];

export interface FlagSpec {
  kind: 'string' | 'boolean';
  /** may be given more than once (Flags.list reads every value; Flags.string the last) */
  multiple?: boolean;
  /** the commands that use every value of a `multiple` flag (help shows "..." there); default: all */
  repeatableIn?: readonly Command[];
  /** placeholder in help, e.g. '<n>' */
  value?: string;
  help: string;
  /** hidden from help (old spellings with special handling) */
  hidden?: boolean;
}

/** Every flag of every command. Which command takes which: COMMAND_FLAGS. */
export const FLAGS: Record<string, FlagSpec> = {
  method: { kind: 'string', value: '<m>', help: optionHelp(T.method) },
  methods: {
    kind: 'string',
    value: '<m,m>',
    help: `${COMPARE_OPTIONS.methods.description}, comma-separated (default ${COMPARE_DEFAULTS.methods.join(',')})`,
  },
  'model-size': {
    kind: 'string',
    value: '<size>',
    help: `${MODEL_SIZES.join(' | ')} (picks Qwen/Qwen3-<size> or Qwen/Qwen3-Embedding-<size>)`,
  },
  model: { kind: 'string', value: '<spec>', help: optionHelp(T.model) },
  train: {
    kind: 'string',
    value: '<file>',
    help: "training data: text<TAB>label lines, CSV (label,review) or JSONL; 'sample': the bundled sample posts",
  },
  'wrong-posts': {
    kind: 'string',
    value: '<n>',
    help: `compare, report: ${optionHelp(COMPARE_OPTIONS.wrongPosts)}`,
  },
  test: {
    kind: 'string',
    value: '<file>',
    help: "labelled test data (same formats); 'sample': the bundled test posts",
  },
  labels: {
    kind: 'string',
    value: '<a,b,..>',
    help: `the label set, label 0 first (default: from --train; 0/1 labels: ${DEFAULT_LABELS.join(',')})`,
  },
  epochs: { kind: 'string', value: '<n>', help: 'passes over the training data' },
  'batch-size': { kind: 'string', value: '<n>', help: 'examples per batch' },
  'learning-rate': { kind: 'string', value: '<x>', help: 'peak learning rate (AdamW, warmup then cosine decay)' },
  'lora-r': { kind: 'string', value: '<n>', help: optionHelp(LORA.r) },
  'lora-alpha': { kind: 'string', value: '<x>', help: optionHelp(LORA.alpha) },
  // warmup, scheduler, weight decay, clipping, early stopping, LoRA dropout and targets: read from their schema nodes
  ...Object.fromEntries(
    Object.entries(TRAINER_FLAGS).map(([flag, f]): [string, FlagSpec] => [
      flag,
      { kind: 'string', value: placeholder(f.node), help: optionHelp(f.node) },
    ])
  ),
  'max-samples': { kind: 'string', value: '<n>', help: optionHelp(T.maxSamples) },
  'max-length': { kind: 'string', value: '<n>', help: optionHelp(T.maxLength) },
  'gradient-accumulation': { kind: 'string', value: '<n>', help: optionHelp(T.gradientAccumulation) },
  'nproc-per-node': {
    kind: 'string',
    value: '<n>',
    help: 'data-parallel: start n training processes on this machine (as torchrun; RANK, WORLD_SIZE, ... env also work)',
  },
  nnodes: { kind: 'string', value: '<m>', help: 'data-parallel: machines in the run (default 1)' },
  'node-rank': { kind: 'string', value: '<r>', help: "data-parallel: this machine's index, 0..m-1 (default 0)" },
  'master-addr': {
    kind: 'string',
    value: '<host>',
    help: `data-parallel: ${optionHelp(DIST.masterAddr)}`,
  },
  'master-port': {
    kind: 'string',
    value: '<port>',
    help: `data-parallel: ${optionHelp(DIST.masterPort)}; on one machine the launcher takes a free port unless given`,
  },
  'gradient-checkpointing': { kind: 'boolean', help: optionHelp(T.gradientCheckpointing) },
  output: { kind: 'string', value: '<dir>', help: optionHelp(T.output) },
  checkpoint: {
    kind: 'string',
    multiple: true,
    repeatableIn: ['serve', 'compare'],
    value: '<dir>',
    help: 'a trained run folder (holds run.json)',
  },
  'eval-only': { kind: 'boolean', help: 'skip training: evaluate the run in --output/--checkpoint on --test' },
  resume: {
    kind: 'boolean',
    help: 'continue an interrupted run (<output>.partial), or the checkpoint of the run in <output>',
  },
  'eval-steps': { kind: 'string', value: '<n>', help: optionHelp(T.evalSteps) },
  'save-steps': { kind: 'string', value: '<n>', help: optionHelp(T.saveSteps) },
  'save-total-limit': { kind: 'string', value: '<n>', help: optionHelp(T.saveTotalLimit) },
  'keep-checkpoint': {
    kind: 'boolean',
    help: `keep checkpoint/ once the run finishes (default: kept, except for ${METHODS.filter((m) => !keepsCheckpointByDefault(m)).join(', ')}: 3x the model's size)`,
  },
  seed: { kind: 'string', value: '<n>', help: optionHelp(T.seed) },
  device: { kind: 'string', value: '<d>', help: `${DEVICE_OPTIONS.join(' | ')} (default ${TRAINER_DEFAULTS.device})` },
  dtype: { kind: 'string', value: '<t>', help: `${DTYPE_OPTIONS.join(' | ')} (default auto; full: float32)` },
  offline: { kind: 'boolean', help: optionHelp(T.offline) },
  text: { kind: 'string', multiple: true, value: '<text>', help: 'a post to classify (repeatable)' },
  file: { kind: 'string', value: '<file>', help: 'posts to classify: one per line, or any training format' },
  'text-column': {
    kind: 'string',
    value: '<name>',
    help: 'CSV/JSONL (--file or stdin): the column (field) holding the post (default review, else text)',
  },
  'id-column': {
    kind: 'string',
    value: '<name>',
    help: 'CSV/JSONL (--file or stdin): a column (field) carried to every output as "id"',
  },
  interactive: { kind: 'boolean', help: 'ask for posts one at a time even without a terminal (after --text/--file)' },
  ensemble: { kind: 'boolean', help: 'one row per text: P(正面) averaged over the runs (with --load-all)' },
  out: { kind: 'string', value: '<file>', help: 'write predictions to a .jsonl or .csv file' },
  'csv-bom': {
    kind: 'boolean',
    help: 'with --out f.csv: begin the file with a UTF-8 byte-order mark, so Excel opens the Chinese text correctly',
  },
  explain: {
    kind: 'boolean',
    help: 'show which characters moved each prediction: coloured on a terminal, [+ ]/[- ] marks otherwise, spans in --json and --out f.jsonl',
  },
  'explain-steps': { kind: 'string', value: '<n>', help: `with --explain: ${optionHelp(EXPLAIN_OPTIONS.steps)}` },
  'flush-texts': { kind: 'string', value: '<n>', help: `piped stdin: ${optionHelp(STREAM_OPTIONS.flushTexts)}` },
  'flush-ms': { kind: 'string', value: '<ms>', help: `piped stdin: ${optionHelp(STREAM_OPTIONS.flushMs)}` },
  'load-all': { kind: 'boolean', help: 'use every trained run under --models-dir (one row per model and text)' },
  'models-dir': { kind: 'string', value: '<dir>', help: 'where trained runs are found (default ./models)' },
  json: { kind: 'boolean', help: 'machine output: JSON Lines on stdout' },
  host: { kind: 'string', value: '<addr>', help: optionHelp(S.host) },
  port: { kind: 'string', value: '<n>', help: optionHelp(S.port) },
  'max-batch-size': { kind: 'string', value: '<n>', help: optionHelp(S.maxBatchSize) },
  'max-wait-ms': { kind: 'string', value: '<ms>', help: optionHelp(S.maxWaitMs) },
  'queue-limit': { kind: 'string', value: '<n>', help: optionHelp(S.queueLimit) },
  'max-texts': { kind: 'string', value: '<n>', help: optionHelp(S.maxTexts) },
  'max-text-length': { kind: 'string', value: '<n>', help: optionHelp(S.maxTextLength) },
  'max-explain-texts': { kind: 'string', value: '<n>', help: optionHelp(S.maxExplainTexts) },
  'explain-budget-ms': { kind: 'string', value: '<ms>', help: optionHelp(S.explainBudgetMs) },
  'body-limit': { kind: 'string', value: '<bytes>', help: optionHelp(S.bodyLimit) },
  'request-timeout-ms': { kind: 'string', value: '<ms>', help: optionHelp(S.requestTimeoutMs) },
  'max-connections': { kind: 'string', value: '<n>', help: optionHelp(S.maxConnections) },
  'stop-grace-ms': { kind: 'string', value: '<ms>', help: optionHelp(S.stopGraceMs) },
  'api-key': {
    kind: 'string',
    value: '<key>',
    help: `${optionHelp(S.apiKey)}; needed off loopback (the environment does not show in ps)`,
  },
  threads: {
    kind: 'string',
    value: '<n>',
    help: `${S.threads.description} (default: every core, ${SERVE_DEFAULTS.threads} here; fewer leave cores to HTTP)`,
  },
  'log-format': { kind: 'string', value: '<f>', help: optionHelp(S.logFormat) },
  help: { kind: 'boolean', help: 'show this help' },
  'build-dir': {
    kind: 'string',
    value: '<dir>',
    help: 'keep the CMake build tree there for incremental rebuilds (default: a temporary folder, deleted after)',
  },
  'model-path': {
    kind: 'string',
    hidden: true,
    value: '<path>',
    help: 'old spelling: a run folder (--checkpoint), train: where to save (--output) or the base model (--model)',
  },
};

const COMMON = ['model', 'device', 'dtype', 'offline', 'json', 'help'];
export const COMMAND_FLAGS: Record<Command, readonly string[]> = {
  train: [
    'method',
    'model-size',
    ...COMMON.slice(0, 1),
    'train',
    'test',
    'labels',
    'epochs',
    'batch-size',
    'learning-rate',
    'lora-r',
    'lora-alpha',
    ...Object.keys(TRAINER_FLAGS),
    'max-samples',
    'max-length',
    'gradient-accumulation',
    'gradient-checkpointing',
    'output',
    'checkpoint',
    'eval-only',
    'resume',
    'eval-steps',
    'save-steps',
    'save-total-limit',
    'keep-checkpoint',
    'seed',
    'nproc-per-node',
    'nnodes',
    'node-rank',
    'master-addr',
    'master-port',
    ...COMMON.slice(1),
    'model-path',
  ],
  predict: [
    'method',
    'model-size',
    'checkpoint',
    'text',
    'file',
    'text-column',
    'id-column',
    'out',
    'csv-bom',
    'explain',
    'explain-steps',
    'load-all',
    'ensemble',
    'interactive',
    'flush-texts',
    'flush-ms',
    'models-dir',
    'batch-size',
    ...COMMON,
    'model-path',
  ],
  eval: [
    'method',
    'model-size',
    'checkpoint',
    'test',
    'load-all',
    'models-dir',
    'batch-size',
    'max-samples',
    'seed',
    ...COMMON,
    'model-path',
  ],
  serve: [
    'checkpoint',
    'load-all',
    'models-dir',
    'host',
    'port',
    'max-batch-size',
    'max-wait-ms',
    'queue-limit',
    'max-texts',
    'max-text-length',
    'max-explain-texts',
    'explain-budget-ms',
    'body-limit',
    'request-timeout-ms',
    'max-connections',
    'stop-grace-ms',
    'api-key',
    'log-format',
    'threads',
    'model',
    'device',
    'dtype',
    'offline',
    'help',
  ],
  compare: [
    'train',
    'test',
    'methods',
    'model-size',
    'model',
    'checkpoint',
    'load-all',
    'models-dir',
    'out',
    'epochs',
    'max-samples',
    'seed',
    'wrong-posts',
    'device',
    'dtype',
    'offline',
    'json',
    'help',
  ],
  report: ['checkpoint', 'out', 'test', 'wrong-posts', 'help'],
  info: ['models-dir', 'json', 'help'],
  build: ['build-dir', 'help'],
};

/** Old names (after `_` -> `-`) mapped to today's flags. Any flag may also be written with underscores. */
export const FLAG_ALIASES: Record<string, string> = {
  'model-type': 'method',
  'train-path': 'train',
  'test-path': 'test',
  'output-dir': 'output',
  'num-epochs': 'epochs',
  'model-dir': 'models-dir',
};

/** Old --model_type / --method values and what they mean now (case-insensitive, `_` = `-`). */
export const METHOD_ALIASES: Record<string, Method> = {
  embedding: 'embedding',
  embed: 'embedding',
  'qwen3-embedding': 'embedding',
  lora: 'lora',
  'qwen3-lora': 'lora',
  'lora-head': 'lora-head',
  'qwen3-lora-head': 'lora-head',
  'lora-cls': 'lora-head',
  'seq-cls': 'lora-head',
  full: 'full',
  'qwen3-full': 'full',
  finetune: 'full',
  'fine-tune': 'full',
  'full-finetune': 'full',
};
