// The Trainer's knobs that are `train` flags one for one. Each flag names its option's node in the Trainer's schema
// (train/schema.ts): its help (words, choices, default: flags.ts), how its text is read, and its checks all come from
// that node, so a value the Trainer would refuse is refused here with the schema's words and the flag's name.
import { LoraOptionsSchema, TRAINER_OPTIONS } from '../train/schema';
import type { TrainerOptions } from '../train/options';
import { problems, type SchemaNode } from '../util/schema';
import { expectedPhrase } from '../util/schema-errors';
import { CliError, flagError } from './errors';

const T = TRAINER_OPTIONS;
const LORA = LoraOptionsSchema.properties;

interface TrainerFlag {
  /** the option it sets: a key of TrainerOptions, or of its `lora` */
  key: string;
  lora?: true;
  node: SchemaNode;
}

export const TRAINER_FLAGS: Readonly<Record<string, TrainerFlag>> = {
  'warmup-ratio': { key: 'warmupRatio', node: T.warmupRatio },
  scheduler: { key: 'scheduler', node: T.scheduler },
  'weight-decay': { key: 'weightDecay', node: T.weightDecay },
  'max-grad-norm': { key: 'maxGradNorm', node: T.maxGradNorm },
  'early-stopping-patience': { key: 'earlyStoppingPatience', node: T.earlyStoppingPatience },
  'best-metric': { key: 'bestMetric', node: T.bestMetric },
  'lora-dropout': { key: 'dropout', lora: true, node: LORA.dropout },
  'lora-target-modules': { key: 'targetModules', lora: true, node: LORA.targetModules },
};

/** The flags of TRAINER_FLAGS that set LoRA settings (ignored, with a note, for the other methods). */
export const LORA_FLAGS = Object.keys(TRAINER_FLAGS).filter((f) => TRAINER_FLAGS[f].lora);

const literals = (node: SchemaNode) => ((node.anyOf ?? []) as SchemaNode[]).map((m) => m.const);

/** The placeholder a flag's help shows, from its node's type. */
export function placeholder(node: SchemaNode): string {
  if (node.type === 'integer') return '<n>';
  if (node.type === 'number') return '<x>';
  if (node.type === 'array') return '<a,b,..>';
  return literals(node).length ? '<name>' : '<value>';
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A flag's text as its node's value: a number, a comma-separated list, a choice (any case); else the text itself,
 * which the check then names. */
function fromText(text: string, node: SchemaNode): unknown {
  const t = text.trim();
  if (node.type === 'integer' || node.type === 'number') return NUMBER.test(t) ? Number(t) : text;
  if (node.type === 'array') {
    return t
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((item) => fromText(item, node.items as SchemaNode));
  }
  const choice = literals(node).find((c) => String(c).toLowerCase() === t.toLowerCase());
  return choice ?? text;
}

/** What reads a flag: Flags (args.ts) has it. */
interface FlagReader {
  string(flag: string): string | undefined;
  spelling(flag: string): string;
}

/** The options the Trainer flags set; every bad value is listed, one line each, as a usage error. */
export function readTrainerFlags(flags: FlagReader): Pick<TrainerOptions, 'lora'> & Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const lora: Record<string, unknown> = {};
  const lines: string[] = [];
  for (const [flag, f] of Object.entries(TRAINER_FLAGS)) {
    const text = flags.string(flag);
    if (text === undefined) continue;
    const value = fromText(text, f.node);
    const found = problems(f.node, value);
    for (const p of found) {
      const received = p.path.length ? String(p.value) : text;
      lines.push(flagError(flags.spelling(flag), expectedPhrase(p.schema), received).message);
    }
    if (!found.length) (f.lora ? lora : options)[f.key] = value;
  }
  if (lines.length) throw new CliError(lines.join('\n'));
  return Object.keys(lora).length ? { ...options, lora } : options;
}
