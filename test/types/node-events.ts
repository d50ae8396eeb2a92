// A Trainer is an EventEmitter to TypeScript too: Node's events.on / events.once take it (with @types/node).
import { on, once } from 'node:events';
import { Trainer, type DoneEvent, type ProgressEvent } from 'qwen3-native';

export async function watch(trainer: Trainer): Promise<number> {
  const [done] = (await once(trainer, 'done')) as [DoneEvent];
  let steps = 0;
  for await (const [progress] of on(trainer, 'progress', { signal: AbortSignal.timeout(1000) })) {
    steps = (progress as ProgressEvent).step;
  }
  return steps + (done.stopped ? 1 : 0);
}
