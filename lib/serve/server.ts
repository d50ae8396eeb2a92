// A running prediction server: it listens first (so /healthz and /readyz answer while the models load), loads the
// runs one after the other, then answers predictions. stop() is the graceful end: new work is refused, everything
// queued is predicted and answered, then the server closes and the predictors are freed.
import type { FastifyInstance } from 'fastify';
import { setComputeThreads } from '../qwen3/runtime';
import { Answering, buildApp, type Phase } from './app';
import type { LogStream } from './logging';
import { ServeMetrics } from './metrics';
import { ModelPool, predictorsFor, type ServedPredictor } from './models';
import { resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from './options';
import { Scheduler, type PredictFn } from './scheduler';
import type { AsyncDisposableResource } from '../util/disposable';

export interface StartOptions {
  /** serve these (e.g. Predictors made in code) instead of options.checkpoints; the server disposes them */
  predictors?: ServedPredictor[];
  /** where the log goes (default stderr) */
  logStream?: LogStream;
  /** turns an option name into what the user typed, for messages (the CLI: maxTexts -> --max-texts) */
  optionName?: (option: string) => string;
}

export interface RunningServer extends AsyncDisposableResource {
  /** http://host:port, with the port actually bound (useful with port 0) */
  readonly url: string;
  readonly options: ResolvedServeOptions;
  /** resolves once every model is loaded; rejects when one fails to load (the server then stops by itself) */
  readonly ready: Promise<void>;
  /** resolves when the server has stopped: with the error that stopped it, if any */
  readonly closed: Promise<Error | undefined>;
  /**
   * the fastify instance (a FastifyInstance: inject() in tests). Typed unknown so that the package's declarations
   * need neither fastify's types nor @types/node (scripts/check-package.sh compiles them without): cast to use it.
   */
  readonly app: unknown;
  /** Stops gracefully (idempotent): no new work, queued work finished and answered, server closed, predictors freed. */
  stop(reason?: Error): Promise<void>;
  /** stop(), for `await using server = await startServer(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startServer(serveOptions: ServeOptions, start: StartOptions = {}): Promise<RunningServer> {
  const options = resolveServeOptions(serveOptions, start.optionName);
  setComputeThreads(options.threads);
  const predictors =
    start.predictors ??
    predictorsFor(options.checkpoints, {
      model: options.model,
      device: options.device,
      dtype: options.dtype,
      offline: options.offline,
    });
  const pool = new ModelPool(predictors);
  let phase: Phase = 'loading';
  const predictFns = new Map<string, PredictFn>(
    pool.names.map((name) => [name, (texts) => pool.predictor(name).predict(texts)])
  );
  let scheduler: Scheduler | undefined;
  const metrics = new ServeMetrics(pool.names, () => scheduler);
  scheduler = new Scheduler(predictFns, options, metrics);
  const queue = scheduler;
  const answering = new Answering();
  const app = await buildApp({
    options,
    pool,
    scheduler,
    metrics,
    phase: () => phase,
    answering,
    logStream: start.logStream,
  });

  let bound: string;
  try {
    bound = await app.listen({
      host: options.host,
      port: options.port,
      listenTextResolver: (address) =>
        `listening on ${address}; loading ${pool.names.length} model${pool.names.length === 1 ? '' : 's'}: ${pool.names.join(', ')}`,
    });
  } catch (e) {
    pool.dispose();
    await app.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') {
      throw new Error(
        `${options.host}:${options.port} is already in use: pick another port (port 0 takes any free one)`
      );
    }
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
      throw new Error(`cannot listen on ${options.host}: this machine has no such address`);
    throw e;
  }
  const url = bound;

  let resolveClosed!: (e: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;

  const stop = (reason?: Error): Promise<void> => {
    stopping ??= (async () => {
      const wasLoading = phase === 'loading';
      phase = 'stopping';
      const waiting = queue.waiting();
      app.log.info(
        { waiting },
        `stopping: finishing ${waiting} queued text${waiting === 1 ? '' : 's'}, taking no new work`
      );
      // The listener closes at once, idle connections too; close() then waits for every other connection to end.
      const closed = app.close();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, options.stopGraceMs)));
      // Everything queued is predicted and answered; a client still sending its request has the grace to finish.
      await queue.close();
      await Promise.race([closed, grace]);
      clearTimeout(timer);
      // Past the grace, connections still open belong to clients still sending (or idle between requests): they are
      // closed once the answers being written are out.
      await answering.idle();
      app.server.closeAllConnections();
      await closed;
      if (wasLoading) await loading.catch(() => undefined);
      pool.dispose();
      app.log.info('stopped');
      resolveClosed(reason);
    })();
    return stopping;
  };

  const loading = pool.load((name, seconds) =>
    app.log.info({ model: name, seconds }, `loaded ${name} in ${seconds.toFixed(1)} s`)
  );
  const ready = loading.then(
    () => {
      if (phase !== 'loading') return;
      phase = 'ready';
      app.log.info({ url, models: pool.names }, `ready: POST ${url}/v1/predict (models: ${pool.names.join(', ')})`);
    },
    (error: Error) => {
      app.log.error({ err: error }, `could not load the models: ${error.message}`);
      phase = 'failed';
      void stop(error);
      throw error;
    }
  );
  ready.catch(() => undefined); // the error is also delivered through `closed`

  return { url, options, ready, closed, app, stop, [Symbol.asyncDispose]: () => stop() };
}

/** The signals that stop the server gracefully: Ctrl-C, and what supervisors (SIGTERM) and closed terminals send. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * SIGTERM, SIGINT and SIGHUP stop the server gracefully; a second one ends the process at once, for a drain that takes
 * too long. It ends by the signal itself, with the handlers removed (exit status 128 + its number, 143 for SIGTERM):
 * process.exit() would run libtorch's static destructors while the compute thread is inside a forward pass (measured:
 * 8 SIGSEGV and 1 SIGABRT in 13 trials). Returns a function that removes the handlers.
 */
export function stopOnSignals(
  server: RunningServer,
  quit: (signal: StopSignal) => void = (signal) => process.kill(process.pid, signal)
): () => void {
  let signalled = false;
  const log = (server.app as FastifyInstance).log;
  const remove = () => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  };
  const onSignal = (signal: StopSignal) => {
    if (signalled) {
      log.warn(`${signal} again: exiting without finishing the queue`);
      remove();
      quit(signal);
      return;
    }
    signalled = true;
    log.info(`${signal}: stopping (send it again to exit at once)`);
    void server.stop();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return remove;
}
