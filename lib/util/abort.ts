// Cancellation as Node's APIs do it: an AbortSignal in the options; a call it aborts rejects with the signal's reason
// (an AbortError DOMException unless the caller gave another). AbortSignalLike is the part of an AbortSignal this
// package reads, so its declarations need neither @types/node nor the DOM library: Node's and the DOM's AbortSignal
// both fit it.

/** What the package reads of an AbortSignal (Node's, the DOM's, or any object with these members). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The error an aborted call rejects with: the signal's reason, or an AbortError when it has none. */
export function abortReason(signal: AbortSignalLike): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('This operation was aborted');
  e.name = 'AbortError';
  return e;
}

/** Throws the signal's reason when it is aborted. */
export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** Runs `onAbort` once when `signal` aborts (at once when it already has); returns a function that stops listening. */
export function whenAborted(signal: AbortSignalLike | undefined, onAbort: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    onAbort();
    return () => undefined;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** `work`, or a rejection with the signal's reason as soon as it aborts (work left running is the caller's to stop). */
export function abortable<T>(work: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stop = whenAborted(signal, () => reject(abortReason(signal)));
    work.then(
      (value) => (stop(), resolve(value)),
      (error: unknown) => (stop(), reject(error))
    );
  });
}
