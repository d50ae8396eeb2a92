// A run folder's README.md: a short model card, every value read from run.json and test_results.json (nothing is
// kept twice), with the front matter the Hugging Face Hub reads (library_name, base_model, tags), so the folder can
// be uploaded as it is. Rendered here; written by results.ts when training ends and when test metrics come.
import * as fs from 'fs';
import * as path from 'path';
import { labelsFromRecord } from '../classifier/labels';
import { METHOD_DESCRIPTIONS, type Method } from '../classifier/methods';
import type { Metrics } from '../classifier/metrics';
import type { RunInfo, TestResults } from './schema';

/** The library that loads each method's folder in Python (the Hub's `library_name`); none for embedding's head. */
const LIBRARY: Record<Method, string | undefined> = {
  lora: 'peft',
  'lora-head': 'peft',
  full: 'transformers',
  embedding: undefined,
};

/** The first tag of every card this package writes: how a README.md of its own is told from a user's. */
const OWN_TAG = '  - "qwen3-native"';

/** Whether `file` is a model card this package wrote (a user's README.md in a run folder is theirs, never replaced). */
export function isOwnModelCard(file: string): boolean {
  try {
    const head = fs.readFileSync(file, 'utf8').slice(0, 1024);
    return head.startsWith('---\n') && head.includes(`\ntags:\n${OWN_TAG}\n`);
  } catch {
    return false;
  }
}

/** A data set by its file's name: the card is read on other machines, where this one's folders mean nothing. */
const dataName = (name: string) => path.basename(name);

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A YAML scalar in double quotes (JSON strings are valid YAML). */
const yaml = (s: string) => JSON.stringify(s);

function frontMatter(info: RunInfo): string[] {
  const library = LIBRARY[info.method];
  const tags = [
    ...new Set(['text-classification', 'sentiment-analysis', info.method, ...(library === 'peft' ? ['lora'] : [])]),
  ];
  return [
    '---',
    ...(library ? [`library_name: ${library}`] : []),
    // The Hub checks base_model against its models: only a repo id is written ('tiny' or a local folder is not one).
    ...(info.baseModel.repoId ? [`base_model: ${yaml(info.baseModel.repoId)}`] : []),
    'pipeline_tag: text-classification',
    'tags:',
    OWN_TAG,
    ...tags.map((t) => `  - ${yaml(t)}`),
    '---',
  ];
}

function hyperParameters(info: RunInfo): string {
  const h = info.hyperParameters;
  const keys = [
    'epochs',
    'batchSize',
    'gradientAccumulation',
    'learningRate',
    'scheduler',
    'warmupRatio',
    'weightDecay',
    'maxLength',
    'seed',
  ];
  const parts = keys.filter((k) => h[k] !== undefined && h[k] !== null).map((k) => `${k} ${String(h[k])}`);
  if (info.lora) {
    const l = info.lora;
    parts.push(
      `LoRA r ${l.r}, alpha ${l.alpha}, dropout ${l.dropout}${l.rslora ? ', rsLoRA' : ''} on ${l.targetModules.join(', ')}`
    );
  }
  if (info.head) parts.push(`head ${info.head}`);
  return parts.join('; ');
}

function metricsRow(split: string, posts: number, m: Pick<Metrics, 'accuracy' | 'macroF1'>): string {
  return `| ${cell(split)} | ${posts} | ${pct(m.accuracy)} | ${pct(m.macroF1)} |`;
}

/** How to load the folder in Python, for the methods Python can load (checked by test/referees). */
function pythonLines(info: RunInfo, folder: string, labels: number): string[] {
  const base = info.baseModel.repoId ?? info.baseModel.dir;
  if (info.method === 'full')
    return [
      'from transformers import AutoModelForSequenceClassification',
      `model = AutoModelForSequenceClassification.from_pretrained(${yaml(folder)})`,
    ];
  if (info.method === 'lora-head')
    return [
      'from peft import PeftModel',
      'from transformers import AutoModelForSequenceClassification',
      `base = AutoModelForSequenceClassification.from_pretrained(${yaml(base)}, num_labels=${labels})`,
      `model = PeftModel.from_pretrained(base, ${yaml(folder)})`,
    ];
  if (info.method === 'lora')
    return [
      'from peft import PeftModel',
      'from transformers import AutoModelForCausalLM',
      `model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(${yaml(base)}), ${yaml(folder)})`,
      '# the prompt is run.json "prompt"; the answer is the label word whose tokens (run.json "labelTokens") score highest',
    ];
  return [];
}

/** The model card of a run: `folder` is the name it is loaded by (the run folder's name). */
export function renderModelCard(info: RunInfo, test: TestResults | undefined, folder: string): string {
  const labels = labelsFromRecord(info.labels, 'run.json');
  const base = info.baseModel.repoId ?? info.baseModel.spec;
  const data = info.data;
  const facts: [string, string][] = [
    ['base model', base],
    ['method', `${info.method}: ${METHOD_DESCRIPTIONS[info.method]}`],
    ['labels', labels.map((l, i) => `${i} ${l}`).join(', ')],
    [
      'training data',
      data
        ? `${dataName(data.train.name)}: ${data.train.count} posts, sha256 ${data.train.sha256}`
        : `${info.trainExamples} posts`,
    ],
    [
      'split',
      `${info.trainExamples} train, ${info.devExamples} dev${data?.eval ? ` (${dataName(data.eval.name)})` : ''}`,
    ],
    ['hyper-parameters', hyperParameters(info)],
    ['trained with', `qwen3-native ${info.versions.package}, libtorch ${info.versions.libtorch}, ${info.dtype}`],
  ];
  if (info.totals)
    facts.push(['training time', `${info.totals.trainSeconds.toFixed(0)} s, ${info.totals.steps} steps`]);
  const results: string[] = [];
  if (info.best)
    results.push(
      metricsRow(`dev (epoch ${info.best.epoch}, step ${info.best.step})`, info.devExamples, info.best.metrics)
    );
  if (test) results.push(metricsRow(`test: ${dataName(test.data.name)}`, test.data.count, test.metrics));
  const python = pythonLines(info, folder, labels.length);
  return [
    ...frontMatter(info),
    '',
    `# ${folder}`,
    '',
    `A ${labels.length}-label text classifier trained from ${base} with qwen3-native (npm).`,
    '',
    '| | |',
    '| --- | --- |',
    ...facts.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    '',
    '## Results',
    '',
    ...(results.length
      ? ['| data | posts | accuracy | macro-F1 |', '| --- | --- | --- | --- |', ...results]
      : ['No evaluation was recorded.']),
    '',
    '## Use',
    '',
    '```bash',
    `npx qwen3-native predict --checkpoint ${folder} --text '今天天气真好'`,
    '```',
    '',
    '```js',
    `const predictor = new (require('qwen3-native').Predictor)({ checkpoint: ${yaml(folder)} });`,
    '```',
    ...(python.length ? ['', 'In Python:', '', '```python', ...python, '```'] : []),
    '',
  ].join('\n');
}
