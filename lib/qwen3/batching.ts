// How the core cuts one call's sequences into forward passes (csrc/core/batches.h): longest first, a pass closed at
// maxBatchSize sequences or maxBatchTokens padded tokens, so sequences of similar length go together and padding
// (wasted compute) stays small. lib/ sends these limits with every prediction call; the core does the packing.
import type { BatchLimits } from '../native';

export type { BatchLimits } from '../native';

/** Prediction's passes: at most 32 texts and 4,096 padded tokens per forward pass, so activations stay small next to
 * the weights (1.43 GB peak serving 0.6B in bf16; bench/RESULTS.md). */
export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = Object.freeze({ maxBatchSize: 32, maxBatchTokens: 4096 });

/** The default limits with `maxBatchSize` sequences per pass when given (the `batchSize` options). */
export function batchLimits(maxBatchSize?: number): BatchLimits {
  return { ...DEFAULT_BATCH_LIMITS, maxBatchSize: maxBatchSize ?? DEFAULT_BATCH_LIMITS.maxBatchSize };
}
