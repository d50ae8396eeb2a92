// The examples a Trainer trains on: given as a file or as arrays, checked, and ordered into each epoch's
// micro-batches (a seeded shuffle, then similar lengths grouped so padding stays small).
import * as crypto from 'crypto';
import { expectArray, invalidRangeError } from '../util/is';
import { namedRandom } from '../util/seeded-random';
import { loadLabelledFile } from './data';
import { LABEL_TEXTS } from './methods';
import type { DataFingerprint } from './run-folder';

export interface LabelledTexts {
  texts: string[];
  labels: number[];
  /** where the examples came from, for messages and the run's data fingerprint (default: the file, or "arrays") */
  source?: string;
}

export type TrainData = string | LabelledTexts;

function validateLabelled(data: unknown, name: string): asserts data is LabelledTexts {
  const d = data as LabelledTexts;
  expectArray(d?.texts, `${name}.texts`);
  expectArray(d?.labels, `${name}.labels`);
  if (d.texts.length !== d.labels.length)
    throw invalidRangeError(`${d.texts.length} labels`, `${name}.labels`, d.labels);
  d.labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= LABEL_TEXTS.length) {
      throw invalidRangeError(`a label id in 0..${LABEL_TEXTS.length - 1}`, `${name}.labels[${i}]`, l);
    }
  });
}

export async function loadData(data: TrainData, name: string): Promise<LabelledTexts> {
  if (typeof data === 'string') {
    const d = await loadLabelledFile(data);
    return { texts: d.texts, labels: d.labels, source: data };
  }
  validateLabelled(data, name);
  return data;
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
