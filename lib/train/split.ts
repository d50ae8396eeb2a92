// Deterministic, stratified splitting and sampling of labelled rows: the dev split a run is selected on and the
// subset --max-samples keeps are the same on every machine for the same seed.
import {
  expectArray,
  expectNonNegativeInteger,
  expectNumberBetweenExclusive,
  expectPlainObject,
  expectPositiveInteger,
  expectStringArray,
  invalidRangeError,
} from '../util/is';
import { namedRandom } from '../util/seeded-random';

function expectLabels(labels: unknown, name: string): asserts labels is number[] {
  expectArray(labels, name);
  labels.forEach((label, index) => expectNonNegativeInteger(label, `${name}[${index}]`));
}

/** Indices of each class, classes in ascending label order. */
function indicesByClass(labels: number[]): Map<number, number[]> {
  const classes = new Map<number, number[]>();
  for (const label of [...new Set(labels)].sort((a, b) => a - b)) classes.set(label, []);
  labels.forEach((label, index) => classes.get(label)!.push(index));
  return classes;
}

/**
 * Deterministic stratified train/dev split: each class is shuffled with the seed and split in proportion, so both
 * sides keep the class balance. A class with at least two rows always has one on each side. Indices come back in
 * ascending order.
 */
export function stratifiedSplit(
  labels: number[],
  devFraction: number,
  seed: number
): { train: number[]; dev: number[] } {
  expectLabels(labels, 'labels');
  expectNumberBetweenExclusive(devFraction, 'devFraction', 0, 1);
  expectNonNegativeInteger(seed, 'seed');
  const train: number[] = [];
  const dev: number[] = [];
  for (const [label, indices] of indicesByClass(labels)) {
    namedRandom(seed, `class:${label}`).shuffle(indices);
    let devCount = Math.round(indices.length * devFraction);
    if (indices.length >= 2) devCount = Math.min(Math.max(devCount, 1), indices.length - 1);
    dev.push(...indices.slice(0, devCount));
    train.push(...indices.slice(devCount));
  }
  const ascending = (a: number, b: number) => a - b;
  return { train: train.sort(ascending), dev: dev.sort(ascending) };
}

/** Splits `total` over classes in proportion to their counts (largest remainder), summing exactly to total. */
function proportionalQuotas(counts: number[], total: number): number[] {
  const all = counts.reduce((sum, count) => sum + count, 0);
  const exact = counts.map((count) => (count * total) / all);
  const quotas = exact.map(Math.floor);
  let left = total - quotas.reduce((sum, quota) => sum + quota, 0);
  const order = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) }));
  order.sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of order) {
    if (left === 0) break;
    quotas[index]++;
    left--;
  }
  return quotas;
}

export interface SampleableData {
  texts: string[];
  labels?: number[];
}

/**
 * A deterministic random subset of at most `maxSamples` rows, stratified by label when labels are present; rows keep
 * their file order. Every array field as long as `texts` (labels, lineNumbers, …) is sliced alike; other fields are
 * copied. Returns a copy even when nothing needs dropping.
 */
export function sliceSample<T extends SampleableData>(data: T, maxSamples: number, seed: number): T {
  expectPlainObject(data, 'data');
  expectStringArray(data.texts, 'data.texts');
  const count = data.texts.length;
  if (data.labels !== undefined) {
    expectLabels(data.labels, 'data.labels');
    if (data.labels.length !== count) {
      throw invalidRangeError(`array of ${count} labels (one per text)`, 'data.labels', data.labels);
    }
  }
  expectPositiveInteger(maxSamples, 'maxSamples');
  expectNonNegativeInteger(seed, 'seed');
  let keep: number[];
  if (count <= maxSamples) {
    keep = data.texts.map((_, index) => index);
  } else if (data.labels) {
    const classes = [...indicesByClass(data.labels)];
    const quotas = proportionalQuotas(
      classes.map(([, indices]) => indices.length),
      maxSamples
    );
    keep = classes.flatMap(([label, indices], k) =>
      namedRandom(seed, `class:${label}`).shuffle(indices).slice(0, quotas[k])
    );
  } else {
    keep = namedRandom(seed, 'all')
      .shuffle(data.texts.map((_, index) => index))
      .slice(0, maxSamples);
  }
  keep.sort((a, b) => a - b);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    result[key] = Array.isArray(value) && value.length === count ? keep.map((index) => value[index]) : value;
  }
  return result as T;
}

/**
 * A deterministic stratified hold-out of exactly `count` rows (the classes in proportion, largest remainder), as
 * sklearn's train_test_split(test_size=count, stratify=labels) makes one; indices in ascending order.
 */
export function stratifiedHoldout(labels: number[], count: number, seed: number): { train: number[]; test: number[] } {
  expectLabels(labels, 'labels');
  expectPositiveInteger(count, 'count');
  expectNonNegativeInteger(seed, 'seed');
  if (count >= labels.length) throw invalidRangeError(`fewer than ${labels.length}`, 'count', count);
  const classes = [...indicesByClass(labels)];
  const quotas = proportionalQuotas(
    classes.map(([, indices]) => indices.length),
    count
  );
  const test = classes.flatMap(([label, indices], k) =>
    namedRandom(seed, `holdout:${label}`).shuffle(indices).slice(0, quotas[k])
  );
  const held = new Set(test);
  const ascending = (a: number, b: number) => a - b;
  return { train: labels.map((_, i) => i).filter((i) => !held.has(i)), test: test.sort(ascending) };
}
