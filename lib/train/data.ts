// The examples a Trainer trains on: given as a file or as arrays, checked, and ordered into each epoch's
// micro-batches (a seeded shuffle, then similar lengths grouped so padding stays small).
import * as crypto from 'crypto';
import { expectArray, invalidRangeError } from '../util/is';
import { namedRandom } from '../util/seeded-random';
import { loadLabelledFile } from '../classifier/data';
import { DEFAULT_LABELS, inferLabelSet, LabelMatcher, type LabelSet } from '../classifier/labels';
import type { DataFingerprint } from '../runs/schema';

export interface LabelledTexts {
  texts: string[];
  /** label ids into the run's label set */
  labels: number[];
  /** where the examples came from, for messages and the run's data fingerprint (default: the file, or "arrays") */
  source?: string;
  /** the label set the ids index (a file's, or the one the arrays imply); default: the binary set */
  labelSet?: string[];
}

/** Examples as arrays: labels are ids (0..N-1) or names of the label set. */
export interface LabelledInput {
  texts: string[];
  labels: (number | string)[];
  source?: string;
}

export type TrainData = string | LabelledInput;

/**
 * Examples with ids into a label set: `labels` when given, else the one the data implies (see inferLabelSet). One
 * Error lists every label outside the set (file:line for files, name.labels[i] for arrays).
 */
export async function loadData(
  data: TrainData,
  name: string,
  labels?: LabelSet
): Promise<LabelledTexts & { labelSet: string[] }> {
  if (typeof data === 'string') {
    const d = await loadLabelledFile(data, { labels });
    return { texts: d.texts, labels: d.labels, source: data, labelSet: d.labelSet };
  }
  const d = data as LabelledInput;
  expectArray(d?.texts, `${name}.texts`);
  expectArray(d?.labels, `${name}.labels`);
  if (d.texts.length !== d.labels.length)
    throw invalidRangeError(`${d.texts.length} labels`, `${name}.labels`, d.labels);
  const labelSet = [...(labels ?? inferLabelSet(d.labels) ?? DEFAULT_LABELS)];
  const matcher = new LabelMatcher(labelSet);
  const ids = d.labels.map((l) => matcher.id(l) ?? -1);
  const bad = ids.flatMap((id, i) => (id < 0 ? [`${name}.labels[${i}] is ${JSON.stringify(d.labels[i])}`] : []));
  if (bad.length) {
    const shown = bad.slice(0, 20).join('; ') + (bad.length > 20 ? `; … and ${bad.length - 20} more` : '');
    throw new RangeError(`Expected each label to be ${matcher.expected()}: ${shown}`);
  }
  return { texts: d.texts, labels: ids, source: d.source, labelSet };
}

/** The label ids with no example, for the "missing class" warning. */
export function missingClasses(labels: readonly number[], labelSet: LabelSet): string[] {
  const seen = new Set(labels);
  return labelSet.filter((_, id) => !seen.has(id));
}

/** sha256 over every example (label, then the text's length and bytes: no two different lists hash alike). */
export function fingerprintData(data: LabelledTexts, name: string): DataFingerprint {
  const hash = crypto.createHash('sha256');
  data.texts.forEach((text, i) => {
    hash.update(`${data.labels[i]}:${Buffer.byteLength(text)}:`);
    hash.update(text);
  });
  return { name: data.source ?? name, count: data.texts.length, sha256: hash.digest('hex') };
}

/** "train.txt (240 examples, sha256 1f2e3d4c…)" */
export function describeData(d: DataFingerprint): string {
  return `${d.name} (${d.count} examples, sha256 ${d.sha256.slice(0, 12)}…)`;
}

/** Micro-batches of one epoch: a seeded shuffle, then similar lengths grouped so padding stays small. */
export function planEpoch(lengths: readonly number[], batchSize: number, seed: number, epoch: number): number[][] {
  const rng = namedRandom(seed, `epoch:${epoch}`);
  const order = rng.shuffle(lengths.map((_, i) => i));
  const window = batchSize * 32;
  const batches: number[][] = [];
  for (let w = 0; w < order.length; w += window) {
    const chunk = order.slice(w, w + window).sort((a, b) => lengths[a] - lengths[b]);
    for (let i = 0; i < chunk.length; i += batchSize) batches.push(chunk.slice(i, i + batchSize));
  }
  return rng.shuffle(batches);
}
