// Learning-rate schedules: linear warmup, then cosine, linear or constant. Step s (0-based) trains with
// peak * (s + 1) / warmup during warmup, so the first update is not wasted at a learning rate of 0.

export type SchedulerKind = 'cosine' | 'linear' | 'constant';
export const SCHEDULERS: readonly SchedulerKind[] = ['cosine', 'linear', 'constant'];

export function learningRateAt(
  step: number,
  totalSteps: number,
  peak: number,
  warmupSteps: number,
  kind: SchedulerKind
): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  if (kind === 'constant') return peak;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / decaySteps));
  if (kind === 'linear') return peak * (1 - progress);
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
