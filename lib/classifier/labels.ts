// Label sets: a run's ordered list of class names (id = position). The one home of the type, its validation, how
// it is read from --labels / { labels }, from the data (integer ids 0..N-1 or names) and from run.json, and how a
// raw label in a data file maps to an id. The default is the binary 负面/正面 set (methods.ts's LABEL_TEXTS): a
// run.json without a label set means it, and every default-set output keeps today's exact shape.
import { DEFAULT_EMBEDDING_INSTRUCTION, DEFAULT_LORA_PROMPT, LABEL_TEXTS } from './methods';

/** Class names, label id = index. */
export type LabelSet = readonly string[];

export const DEFAULT_LABELS: LabelSet = LABEL_TEXTS;
/** The English words the default set also accepts in data files (today's behaviour). */
const DEFAULT_ALIASES: Record<string, number> = { negative: 0, positive: 1 };

/** How two names are compared: trimmed, ASCII letters case-folded (负面 and 负面 collide, Pos and pos too). */
export function labelKey(name: string): string {
  return name.trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
}

const INTEGER = /^\d+$/;

/**
 * Checks a label set and returns its names trimmed; one Error lists every problem (fewer than two labels, a name
 * that is not a string or is empty, names that collide, an integer name that is not its own id).
 */
export function checkLabelSet(names: unknown, where: string): string[] {
  if (!Array.isArray(names)) throw new Error(`${where}: expected a list of label names but received ${String(names)}`);
  const problems: string[] = [];
  if (names.length < 2) problems.push(`it has ${names.length} label(s); a classifier needs at least 2`);
  const seen = new Map<string, number>();
  const out = names.map((raw, id) => {
    if (typeof raw !== 'string') {
      problems.push(`label ${id} is ${JSON.stringify(raw)}, not a string`);
      return '';
    }
    const name = raw.trim();
    if (!name) problems.push(`label ${id} is empty`);
    else if (INTEGER.test(name) && Number(name) !== id)
      problems.push(`label ${id} is the number ${name}, which names another id (use numbers only in their own place)`);
    const key = labelKey(name);
    if (name && seen.has(key))
      problems.push(
        `labels ${seen.get(key)} and ${id} are the same name "${name}" (names compare trimmed, ASCII case-blind)`
      );
    else seen.set(key, id);
    return name;
  });
  if (problems.length)
    throw new Error(
      `${where}: bad label set ${JSON.stringify(names)}: ${problems.join('; ')}. Give distinct names, e.g. 消极,中性,积极`
    );
  return out;
}

/** `--labels 消极,中性,积极` (a full-width ， separates too). */
export function parseLabelsFlag(value: string): string[] {
  return checkLabelSet(value.split(/[,，]/), '--labels');
}

export function isDefaultLabels(labels: LabelSet): boolean {
  return labels.length === DEFAULT_LABELS.length && labels.every((l, i) => l === DEFAULT_LABELS[i]);
}

export function sameLabels(a: LabelSet, b: LabelSet): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

/** run.json's and config.json's id2label: { "0": name, ... }. */
export function id2label(labels: LabelSet): Record<string, string> {
  return Object.fromEntries(labels.map((name, id) => [String(id), name]));
}

export function label2id(labels: LabelSet): Record<string, number> {
  return Object.fromEntries(labels.map((name, id) => [name, id]));
}

/** The label set of run.json's `labels` ({ "0": name, ... }); none recorded means the default set. */
export function labelsFromRecord(record: unknown, where: string): string[] {
  if (record === undefined) return [...DEFAULT_LABELS];
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    throw new Error(`${where}: "labels" should be an object {"0": name, "1": name, ...}`);
  const entries = Object.entries(record as Record<string, unknown>);
  const names = entries.map((_, id) => (record as Record<string, unknown>)[String(id)]);
  if (names.some((n) => n === undefined))
    throw new Error(
      `${where}: "labels" should have the keys 0..${entries.length - 1} but has ${Object.keys(record).join(', ')}`
    );
  return checkLabelSet(names, `${where}: "labels"`);
}

/** "0 消极, 1 中性, 2 积极" */
export function describeLabels(labels: LabelSet): string {
  return labels.map((name, id) => `${id} ${name}`).join(', ');
}

/** Maps the raw labels of data files (an id, a name, and for the default set negative/positive) to ids. */
export class LabelMatcher {
  private readonly byKey = new Map<string, number>();
  constructor(readonly labels: LabelSet) {
    labels.forEach((name, id) => this.byKey.set(labelKey(name), id));
    if (isDefaultLabels(labels)) for (const [w, id] of Object.entries(DEFAULT_ALIASES)) this.byKey.set(w, id);
  }
  /** the id of a raw label, else undefined */
  id(raw: unknown): number | undefined {
    if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 && raw < this.labels.length ? raw : undefined;
    if (typeof raw !== 'string') return undefined;
    const t = raw.trim();
    if (INTEGER.test(t)) return Number(t) < this.labels.length ? Number(t) : undefined;
    return this.byKey.get(labelKey(t));
  }
  /** what a bad raw label should have been, for row errors */
  expected(): string {
    return isDefaultLabels(this.labels)
      ? '0/1, 负面/正面 or negative/positive'
      : `an id 0..${this.labels.length - 1} or a name of the label set (${describeLabels(this.labels)})`;
  }
}

/**
 * The label set a file's raw labels imply, when none is given: the default set when every label is one of its
 * spellings; integer ids 0..max (each present) named "0".."max"; else the names found, sorted (pass --labels /
 * { labels } to fix their order). Mixed ids and names, or no labels at all, give undefined: the rows are then
 * checked against the default set, and each bad one reported.
 */
export function inferLabelSet(raws: readonly unknown[]): string[] | undefined {
  const present = raws.filter((r) => r !== undefined && r !== null && !(typeof r === 'string' && !r.trim()));
  if (present.length === 0) return undefined;
  const binary = new LabelMatcher(DEFAULT_LABELS);
  if (present.every((r) => binary.id(r) !== undefined)) return [...DEFAULT_LABELS];
  const isId = (r: unknown) =>
    (typeof r === 'number' && Number.isInteger(r) && r >= 0) || (typeof r === 'string' && INTEGER.test(r.trim()));
  if (present.every(isId)) {
    // Ids with a gap (0, 1, 5) are more likely a typo than a six-class set: only 0..max all present is a set.
    const ids = new Set(present.map((r) => Number(typeof r === 'string' ? r.trim() : r)));
    const max = Math.max(...ids);
    return max >= 1 && ids.size === max + 1 ? Array.from({ length: max + 1 }, (_, i) => String(i)) : undefined;
  }
  if (present.some(isId) || present.some((r) => typeof r !== 'string')) return undefined;
  const byKey = new Map<string, string>();
  for (const r of present as string[]) if (!byKey.has(labelKey(r))) byKey.set(labelKey(r), r.trim());
  const names = [...byKey.values()].sort();
  return names.length >= 2 ? names : undefined;
}

/** lora's default prompt for a label set: today's for the default set, else one that lists the label words. */
export function defaultLoraPrompt(labels: LabelSet): string {
  return isDefaultLabels(labels) ? DEFAULT_LORA_PROMPT : fillLabelsPlaceholder(LORA_PROMPT_TEMPLATE, labels);
}

/** lora prompt for any label set: {labels} becomes 'a'、'b'或'c'. */
export const LORA_PROMPT_TEMPLATE = '请分析以下微博文本的情感倾向，回答{labels}之一。\n\n文本：{text}\n\n情感：';

/**
 * Fills a prompt's {labels} placeholder with the label words: 'a'、'b'或'c'. A label holding {text} is refused: the
 * post goes where the prompt's first {text} is, which would then be the label's.
 */
export function fillLabelsPlaceholder(prompt: string, labels: LabelSet): string {
  const clash = labels.filter((l) => l.includes('{text}'));
  if (clash.length && prompt.includes('{labels}')) {
    throw new Error(
      `labels ${clash.map((l) => JSON.stringify(l)).join(', ')}: lora's prompt lists the labels, and {text} in a ` +
        "label would take the post's place in it; rename the label (e.g. " +
        `${JSON.stringify(clash[0].split('{text}').join('text'))})`
    );
  }
  const quoted = labels.map((l) => `'${l}'`);
  const list = `${quoted.slice(0, -1).join('、')}或${quoted[quoted.length - 1]}`;
  return prompt.split('{labels}').join(list);
}

/** embedding's default instruction: today's for the default set, else one that names the labels. */
export function defaultEmbeddingInstruction(labels: LabelSet): string {
  return isDefaultLabels(labels) ? DEFAULT_EMBEDDING_INSTRUCTION : `判断微博文本属于哪一类：${labels.join('、')}`;
}

/** The CSV column of each label's probability: p_negative,p_positive for the default set, else p_<name>. */
export function probabilityColumns(labels: LabelSet): string[] {
  return isDefaultLabels(labels) ? ['p_negative', 'p_positive'] : labels.map((l) => `p_${l}`);
}
