// A stream of texts in, a stream of predictions out, in input order: texts are read as they arrive and go to the model
// in batches, one Predictor.predict call each, a batch closed at flushTexts texts or flushMs after its first text came.
// The source is read ahead while a batch runs, by at most one batch (a slow consumer holds the reading back, so memory
// stays bounded whatever the source's length).
import { abortable, throwIfAborted, type AbortSignalLike } from '../util/abort';
import { invalidTypeError } from '../util/is';

export interface StreamSettings {
  flushTexts: number;
  flushMs: number;
  signal?: AbortSignalLike;
}

type Source<T> = AsyncIterable<T> | Iterable<T>;

function iteratorOf<T>(source: Source<T>, name: string): AsyncIterator<T> | Iterator<T> {
  const s = source as Partial<AsyncIterable<T> & Iterable<T>> | null;
  const async = s?.[Symbol.asyncIterator];
  if (typeof async === 'function') return async.call(s);
  const sync = typeof s === 'string' ? undefined : s?.[Symbol.iterator];
  if (typeof sync === 'function') return sync.call(s);
  throw invalidTypeError('an async iterable or iterable of strings', name, source);
}

/**
 * Predictions of `source`'s texts, in its order, from `predict` over batches. The texts read before the source fails
 * are predicted and yielded, then its error is thrown. A consumer that stops early (break, return, throw) ends the
 * reading: the source's return() is called and no batch is started after.
 */
export function batchedPredictions<R>(
  source: Source<string>,
  predict: (texts: string[], signal?: AbortSignalLike) => Promise<R[]>,
  settings: StreamSettings,
  name = 'texts'
): AsyncGenerator<R, void, undefined> {
  // Checked at the call, not at the first next(): a wrong source fails where it is passed.
  return batches(iteratorOf(source, name), predict, settings, name);
}

async function* batches<R>(
  iterator: AsyncIterator<string> | Iterator<string>,
  predict: (texts: string[], signal?: AbortSignalLike) => Promise<R[]>,
  settings: StreamSettings,
  name: string
): AsyncGenerator<R, void, undefined> {
  const { flushTexts, flushMs, signal } = settings;
  throwIfAborted(signal);
  let pending: string[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let sourceDone = false; // the source ended or threw by itself: nothing to release
  let due = false; // flushMs has passed since pending[0] arrived
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;
  const notify = () => {
    const wake = wakeConsumer;
    wakeConsumer = undefined;
    wake?.();
  };

  const read = async () => {
    try {
      for (let index = 0; !stopped; index++) {
        while (pending.length >= flushTexts && !stopped) await new Promise<void>((r) => (wakeReader = r));
        if (stopped) break;
        let next: IteratorResult<string>;
        try {
          next = await iterator.next();
        } catch (error) {
          sourceDone = true;
          throw error;
        }
        if (next.done) sourceDone = true;
        if (next.done || stopped) break;
        if (typeof next.value !== 'string') throw invalidTypeError('a string', `${name}[${index}]`, next.value);
        pending.push(next.value);
        if (pending.length === 1 && flushMs > 0) {
          timer = setTimeout(() => {
            due = true;
            notify();
          }, flushMs);
        }
        if (pending.length >= flushTexts || flushMs === 0) notify();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      notify();
    }
  };
  const reading = read();

  try {
    for (;;) {
      while (!(
        ended ||
        pending.length >= flushTexts ||
        (due && pending.length > 0) ||
        (flushMs === 0 && pending.length)
      ))
        await abortable(new Promise<void>((r) => (wakeConsumer = r)), signal);
      if (pending.length === 0) {
        if (failure) throw failure.error;
        return;
      }
      const batch = pending;
      pending = [];
      clearTimeout(timer);
      due = false;
      const resume = wakeReader;
      wakeReader = undefined;
      resume?.();
      for (const result of await predict(batch, signal)) yield result;
    }
  } finally {
    stopped = true;
    clearTimeout(timer);
    wakeReader?.();
    if (!sourceDone) {
      // The reader may wait on a source that has nothing yet (a pipe, tail -f): its return() ends the wait where the
      // source supports that; this generator does not wait for it.
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    }
    void reading;
  }
}
