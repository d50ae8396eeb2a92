// Length-bucketed batches: sequences of similar length go together, so padding (wasted compute) stays small.

export interface PackedBatch {
  /** positions of these sequences in the caller's input */
  indices: number[];
  ids: Int32Array;
  lengths: Int32Array;
}

export interface BatchLimits {
  /** most sequences in one batch */
  maxBatchSize: number;
  /** most padded tokens (batch × longest) in one batch */
  maxBatchTokens: number;
}

/** Prediction's batches: at most 32 texts and 4,096 padded tokens per forward pass, so activations stay small next to
 * the weights (1.43 GB peak serving 0.6B in bf16; bench/RESULTS.md). */
export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = Object.freeze({ maxBatchSize: 32, maxBatchTokens: 4096 });

export function packByLength(
  sequences: readonly (readonly number[])[],
  limits: BatchLimits = DEFAULT_BATCH_LIMITS
): PackedBatch[] {
  const order = sequences.map((_, i) => i).sort((a, b) => sequences[b].length - sequences[a].length || a - b);
  const batches: PackedBatch[] = [];
  let current: number[] = [];
  let longest = 0;
  const flush = () => {
    if (current.length === 0) return;
    const total = current.reduce((n, i) => n + sequences[i].length, 0);
    const ids = new Int32Array(total);
    const lengths = new Int32Array(current.length);
    let offset = 0;
    current.forEach((seqIndex, j) => {
      const seq = sequences[seqIndex];
      ids.set(seq, offset);
      lengths[j] = seq.length;
      offset += seq.length;
    });
    batches.push({ indices: current, ids, lengths });
    current = [];
    longest = 0;
  };
  for (const i of order) {
    const len = sequences[i].length;
    const nextLongest = Math.max(longest, len);
    if (
      current.length > 0 &&
      (current.length + 1 > limits.maxBatchSize || (current.length + 1) * nextLongest > limits.maxBatchTokens)
    ) {
      flush();
    }
    current.push(i);
    longest = Math.max(longest, len);
  }
  flush();
  return batches;
}

/** Splits a flat [rows × width] result into per-row views, placed back in input order. */
export function scatterRows(out: Float32Array[], flat: Float32Array, indices: number[], width: number): void {
  indices.forEach((target, row) => {
    out[target] = flat.subarray(row * width, (row + 1) * width);
  });
}
