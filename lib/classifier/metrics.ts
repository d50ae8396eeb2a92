// Classification metrics for N classes: accuracy, per-class precision/recall/F1/support, macro and support-weighted
// averages, the N x N confusion matrix.

export interface ClassMetrics {
  label: number;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Metrics {
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** F1 averaged with each class's support as its weight (sklearn's average='weighted') */
  weightedF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] */
  confusion: number[][];
  count: number;
}

export function computeMetrics(labels: readonly number[], predictions: readonly number[], numLabels = 2): Metrics {
  if (labels.length !== predictions.length) throw new Error('labels and predictions differ in length');
  const confusion = Array.from({ length: numLabels }, () => new Array<number>(numLabels).fill(0));
  labels.forEach((y, i) => {
    if (!(y >= 0 && y < numLabels && predictions[i] >= 0 && predictions[i] < numLabels))
      throw new RangeError(`label ${y} or prediction ${predictions[i]} (row ${i}) is outside 0..${numLabels - 1}`);
    confusion[y][predictions[i]]++;
  });
  const perClass: ClassMetrics[] = [];
  let correct = 0;
  for (let c = 0; c < numLabels; c++) {
    const tp = confusion[c][c];
    correct += tp;
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    const support = confusion[c].reduce((s, v) => s + v, 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass.push({ label: c, precision, recall, f1, support });
  }
  const mean = (f: (m: ClassMetrics) => number) => perClass.reduce((s, m) => s + f(m), 0) / numLabels;
  const total = labels.length;
  return {
    accuracy: labels.length === 0 ? 0 : correct / labels.length,
    macroPrecision: mean((m) => m.precision),
    macroRecall: mean((m) => m.recall),
    macroF1: mean((m) => m.f1),
    weightedF1: total === 0 ? 0 : perClass.reduce((s, m) => s + m.f1 * m.support, 0) / total,
    perClass,
    confusion,
    count: labels.length,
  };
}

/** argmax over rows of a flat [rows × width] probability array */
export function argmaxRows(probs: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * width < probs.length; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if (probs[r * width + c] > probs[r * width + best]) best = c;
    out.push(best);
  }
  return out;
}
