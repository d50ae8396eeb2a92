// The totals a finished run records in run.json (its `totals` field): measured by run-history.ts.

/** What training a run took, measured by run-history.ts and written to run.json when training ends. */
export interface RunTotals {
  /** from train() to the end: data loading, tokenizing and (embedding) computing vectors included */
  trainSeconds: number;
  steps: number;
  examplesSeen: number;
  tokensSeen: number;
  trainableParameters: number;
  /** every parameter the trained classifier computes with: base model + adapters/head */
  totalParameters: number;
  /** the process's peak resident memory at the end of training (VmHWM) */
  peakRssBytes: number;
  /** CUDA's peak allocated memory, null without CUDA */
  peakGpuBytes: number | null;
}
