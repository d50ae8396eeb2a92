// /metrics in Prometheus' text format, with prom-client (maintained, the usual Node client): one registry per server
// (two servers in one process do not mix counts), the process's own metrics (RSS, CPU, event-loop lag) included.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { cpuPoolStats } from '../qwen3/runtime';
import type { Scheduler, SchedulerObserver } from './scheduler';

const PREFIX = 'qwen3_native_';

/** Seconds, from a tiny model's 1 ms to a large model's queue on a CPU. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Texts per predict call: powers of two up to a large --max-batch-size. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export class ServeMetrics implements SchedulerObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route'>;
  private readonly batchSize: Histogram<'model'>;
  private readonly batchSeconds: Histogram<'model'>;
  private readonly texts: Counter<'model'>;
  private readonly cancelledRequests: Counter<'model'>;
  private readonly droppedTexts: Counter<'model'>;

  constructor(models: readonly string[], scheduler: () => Scheduler | undefined) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: `${PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'Time from a request arriving to its answer being sent',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: `${PREFIX}batch_size_texts`,
      help: 'Texts per predict call (the texts of concurrent requests, merged)',
      labelNames: ['model'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.batchSeconds = new Histogram({
      name: `${PREFIX}batch_duration_seconds`,
      help: 'Time one predict call took (tokenizing and the forward passes)',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.texts = new Counter({
      name: `${PREFIX}texts_predicted_total`,
      help: 'Texts classified',
      labelNames: ['model'],
      registers,
    });
    this.cancelledRequests = new Counter({
      name: `${PREFIX}cancelled_requests_total`,
      help: 'Requests whose client went away before the answer',
      labelNames: ['model'],
      registers,
    });
    this.droppedTexts = new Counter({
      name: `${PREFIX}cancelled_texts_total`,
      help: 'Texts removed from the queue because their request was cancelled',
      labelNames: ['model'],
      registers,
    });
    new Gauge({
      name: `${PREFIX}queue_depth_texts`,
      help: 'Texts waiting for a batch',
      labelNames: ['model'],
      registers,
      collect() {
        const s = scheduler();
        for (const m of models) this.set({ model: m }, s?.waiting(m) ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}texts_per_second`,
      help: 'Texts classified per second over the last 10 s',
      labelNames: ['model'],
      registers,
      collect() {
        const s = scheduler();
        for (const m of models) this.set({ model: m }, s?.textsPerSecond(m) ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}cpu_pool_bytes`,
      help: "Bytes of the CPU tensor pool's blocks: held by tensors (in_use), or freed and kept for reuse (cached)",
      labelNames: ['state'],
      registers,
      collect() {
        const p = cpuPoolStats();
        this.set({ state: 'in_use' }, p.inUse);
        this.set({ state: 'cached' }, p.cached);
      },
    });
    for (const m of models) {
      // Zero series from the start, so rate() and alerts see every model before its first text.
      this.texts.inc({ model: m }, 0);
      this.cancelledRequests.inc({ model: m }, 0);
      this.droppedTexts.inc({ model: m }, 0);
    }
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ method, route }, seconds);
  }

  batch(model: string, texts: number, seconds: number): void {
    this.batchSize.observe({ model }, texts);
    this.batchSeconds.observe({ model }, seconds);
    this.texts.inc({ model }, texts);
  }

  cancelled(model: string, droppedTexts: number): void {
    this.cancelledRequests.inc({ model });
    this.droppedTexts.inc({ model }, droppedTexts);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
