// Dynamic batching, the only batcher of requests: the texts of concurrent requests for one model are merged into one
// Predictor.predict call, which is one native call (the core runs it in forward passes by length, bounding each
// pass's memory; that is no second batcher of requests), and the results are split back per request.
//
// Per model: a FIFO of jobs and at most one predict call at a time (the process has one compute thread, so a second
// call would only wait behind the first, and while a call runs the queue fills up for the next; measured with 64
// clients on the tiny model, two calls in flight halved the texts per call, 17 against 32, and lost throughput so
// that tokenizing the next batch could overlap the running one). A batch starts when
// nothing runs for the model and either `maxBatchSize` texts wait or the oldest has waited `maxWaitMs`. A request
// larger than a batch is split across batches. The queue is bounded: `queueLimit` texts waiting across all models;
// past it submit() throws QueueFullError with a Retry-After estimate. An aborted request leaves the queue at once (its
// texts that are already in a running batch are computed and dropped).
import type { Prediction } from '../predict/predictor';

export type PredictFn = (texts: string[]) => Promise<Prediction[]>;

export interface BatchingOptions {
  /** most texts per predict call; 1 = batching off */
  maxBatchSize: number;
  /** how long the oldest waiting text may wait for a fuller batch */
  maxWaitMs: number;
  /** most texts waiting across all models */
  queueLimit: number;
}

/** What the scheduler reports as it works (metrics). */
export interface SchedulerObserver {
  batch?(model: string, texts: number, seconds: number): void;
  cancelled?(model: string, droppedTexts: number): void;
}

/** The queue has no room for the request's texts; retry after `retryAfterSeconds`. */
export class QueueFullError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly waiting: number,
    readonly limit: number
  ) {
    super(`the queue is full (${waiting} texts waiting, limit ${limit}): retry after ${retryAfterSeconds} s`);
    this.name = 'QueueFullError';
  }
}

/** The server is stopping: it finishes what it queued but takes nothing new. */
export class ShuttingDownError extends Error {
  constructor() {
    super('the server is shutting down and takes no new work');
    this.name = 'ShuttingDownError';
  }
}

/** The client went away before its predictions were ready. */
export class CancelledError extends Error {
  constructor() {
    super('the request was cancelled by its client');
    this.name = 'CancelledError';
  }
}

interface Job {
  texts: readonly string[];
  /** first text not yet handed to a batch */
  next: number;
  /** texts answered */
  answered: number;
  results: Prediction[];
  enqueuedAt: number;
  settled: boolean;
  resolve(predictions: Prediction[]): void;
  reject(error: Error): void;
}

interface Slice {
  job: Job;
  from: number;
  count: number;
}

class ModelQueue {
  readonly jobs: Job[] = [];
  waiting = 0;
  running = false;
  timer?: NodeJS.Timeout;
  constructor(
    readonly name: string,
    readonly predict: PredictFn
  ) {}
}

/** Texts finished per second over the last WINDOW_S seconds (for Retry-After and the texts/s gauge). */
export class RateMeter {
  private static readonly WINDOW_S = 10;
  private readonly counts = new Array<number>(RateMeter.WINDOW_S).fill(0);
  private readonly seconds = new Array<number>(RateMeter.WINDOW_S).fill(-1);
  private readonly started: number;

  constructor(private readonly now: () => number = Date.now) {
    this.started = now();
  }

  add(n: number): void {
    const s = Math.floor(this.now() / 1000);
    const i = s % RateMeter.WINDOW_S;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** per second, over the window (or the time since start, when shorter) */
  rate(): number {
    const now = this.now();
    const s = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < RateMeter.WINDOW_S; i++) if (this.seconds[i] > s - RateMeter.WINDOW_S) total += this.counts[i];
    const span = Math.min(RateMeter.WINDOW_S, Math.max(1, (now - this.started) / 1000));
    return total / span;
  }
}

/** Retry-After is a whole number of seconds; a minute is as long as a client should be told to wait. */
const MAX_RETRY_AFTER_S = 60;

export class Scheduler {
  private readonly queues = new Map<string, ModelQueue>();
  private readonly meters = new Map<string, RateMeter>();
  private readonly overall = new RateMeter();
  private waitingTotal = 0;
  private closing = false;
  private drained?: () => void;

  constructor(
    models: ReadonlyMap<string, PredictFn>,
    private readonly options: BatchingOptions,
    private readonly observer: SchedulerObserver = {}
  ) {
    for (const [name, predict] of models) {
      this.queues.set(name, new ModelQueue(name, predict));
      this.meters.set(name, new RateMeter());
    }
  }

  /** texts waiting for a batch: for one model, or all */
  waiting(model?: string): number {
    return model === undefined ? this.waitingTotal : (this.queues.get(model)?.waiting ?? 0);
  }

  /** texts answered per second over the last 10 s: for one model, or all */
  textsPerSecond(model?: string): number {
    return (model === undefined ? this.overall : this.meters.get(model))?.rate() ?? 0;
  }

  /** seconds until `texts` more would likely fit, from the recent rate */
  retryAfterSeconds(texts = 0): number {
    const rate = this.overall.rate();
    const excess = this.waitingTotal + texts - this.options.queueLimit;
    const wait = rate > 0 ? Math.ceil(excess / rate) : 1;
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, wait));
  }

  /** Predictions for `texts` from `model`, in order. Rejects with QueueFullError, ShuttingDownError or CancelledError. */
  submit(model: string, texts: readonly string[], signal?: AbortSignal): Promise<Prediction[]> {
    const q = this.queues.get(model);
    if (!q) return Promise.reject(new Error(`no model named ${JSON.stringify(model)}`));
    if (this.closing) return Promise.reject(new ShuttingDownError());
    if (signal?.aborted) return Promise.reject(new CancelledError());
    if (texts.length === 0) return Promise.resolve([]);
    if (this.waitingTotal + texts.length > this.options.queueLimit) {
      return Promise.reject(
        new QueueFullError(this.retryAfterSeconds(texts.length), this.waitingTotal, this.options.queueLimit)
      );
    }
    return new Promise<Prediction[]>((resolve, reject) => {
      const job: Job = {
        texts,
        next: 0,
        answered: 0,
        results: new Array(texts.length),
        enqueuedAt: Date.now(),
        settled: false,
        resolve,
        reject,
      };
      q.jobs.push(job);
      q.waiting += texts.length;
      this.waitingTotal += texts.length;
      if (signal) {
        const onAbort = () => this.cancel(q, job);
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = (f: () => void) => {
          signal.removeEventListener('abort', onAbort);
          f();
        };
        job.resolve = (p) => settle(() => resolve(p));
        job.reject = (e) => settle(() => reject(e));
      }
      this.pump(q);
    });
  }

  /**
   * Stops taking work and runs everything queued without waiting for fuller batches; resolves when the last batch
   * has finished.
   */
  close(): Promise<void> {
    this.closing = true;
    for (const q of this.queues.values()) this.pump(q);
    return new Promise((resolve) => {
      this.drained = resolve;
      this.checkDrained();
    });
  }

  private cancel(q: ModelQueue, job: Job): void {
    if (job.settled) return;
    const dropped = job.texts.length - job.next;
    const at = q.jobs.indexOf(job);
    if (at >= 0) q.jobs.splice(at, 1);
    q.waiting -= dropped;
    this.waitingTotal -= dropped;
    job.next = job.texts.length;
    this.settle(job, undefined, new CancelledError());
    this.observer.cancelled?.(q.name, dropped);
    this.checkDrained();
  }

  private settle(job: Job, value: Prediction[] | undefined, error?: Error): void {
    if (job.settled) return;
    job.settled = true;
    if (error) job.reject(error);
    else job.resolve(value!);
  }

  private pump(q: ModelQueue): void {
    if (q.running || q.jobs.length === 0) return;
    const age = Date.now() - q.jobs[0].enqueuedAt;
    if (!this.closing && q.waiting < this.options.maxBatchSize && age < this.options.maxWaitMs) {
      q.timer ??= setTimeout(() => {
        q.timer = undefined;
        this.pump(q);
      }, this.options.maxWaitMs - age);
      return;
    }
    if (q.timer) {
      clearTimeout(q.timer);
      q.timer = undefined;
    }
    const slices: Slice[] = [];
    const texts: string[] = [];
    while (q.jobs.length && texts.length < this.options.maxBatchSize) {
      const job = q.jobs[0];
      const count = Math.min(job.texts.length - job.next, this.options.maxBatchSize - texts.length);
      slices.push({ job, from: job.next, count });
      for (let i = 0; i < count; i++) texts.push(job.texts[job.next + i]);
      job.next += count;
      if (job.next === job.texts.length) q.jobs.shift();
    }
    q.waiting -= texts.length;
    this.waitingTotal -= texts.length;
    q.running = true;
    const started = process.hrtime.bigint();
    q.predict(texts).then(
      (predictions) => {
        this.observer.batch?.(q.name, texts.length, Number(process.hrtime.bigint() - started) / 1e9);
        this.meters.get(q.name)!.add(texts.length);
        this.overall.add(texts.length);
        let offset = 0;
        for (const { job, from, count } of slices) {
          for (let i = 0; i < count; i++) job.results[from + i] = predictions[offset + i];
          offset += count;
          job.answered += count;
          if (job.answered === job.texts.length) this.settle(job, job.results);
        }
        this.finishBatch(q);
      },
      (error: Error) => {
        // Every request with a text in the failed batch fails whole: its other texts leave the queue too.
        for (const { job } of slices) {
          if (job.settled) continue;
          const at = q.jobs.indexOf(job);
          if (at >= 0) {
            q.jobs.splice(at, 1);
            q.waiting -= job.texts.length - job.next;
            this.waitingTotal -= job.texts.length - job.next;
          }
          this.settle(job, undefined, error);
        }
        this.finishBatch(q);
      }
    );
  }

  private finishBatch(q: ModelQueue): void {
    q.running = false;
    this.pump(q);
    this.checkDrained();
  }

  private checkDrained(): void {
    if (!this.drained) return;
    for (const q of this.queues.values()) if (q.running || q.jobs.length) return;
    const done = this.drained;
    this.drained = undefined;
    done();
  }
}
