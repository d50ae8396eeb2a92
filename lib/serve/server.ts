// A running prediction server: it listens first (so /healthz and /readyz answer while the models load), loads the
// runs one after the other, then answers predictions. stop() is the graceful end: new work is refused, everything
// queued is predicted and answered, then the server closes and the predictors are freed.
import type { FastifyInstance } from 'fastify';
import { setComputeThreads } from '../qwen3/runtime';
import { buildApp, type Phase } from './app';
import type { LogStream } from './logging';
import { ServeMetrics } from './metrics';
import { ModelPool, predictorsFor, type ServedPredictor } from './models';
import { resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from './options';
import { Scheduler, type PredictFn } from './scheduler';

export interface StartOptions {
  /** serve these (e.g. Predictors made in code) instead of options.checkpoints; the server disposes them */
  predictors?: ServedPredictor[];
  /** where the log goes (default stderr) */
  logStream?: LogStream;
  /** turns an option name into what the user typed, for messages (the CLI: maxTexts -> --max-texts) */
  optionName?: (option: string) => string;
}

export interface RunningServer {
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
  const app = await buildApp({ options, pool, scheduler, metrics, phase: () => phase, logStream: start.logStream });

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
      // Answers first, then the socket: close() waits for the requests still being answered.
      await Promise.all([queue.close(), app.close()]);
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

  return { url, options, ready, closed, app, stop };
}

/**
 * SIGTERM and SIGINT stop the server gracefully; a second one ends the process at once (exit 130), for a drain that
 * takes too long. Returns a function that removes the handlers.
 */
export function stopOnSignals(
  server: RunningServer,
  exit: (code: number) => void = (c) => process.exit(c)
): () => void {
  let signalled = false;
  const log = (server.app as FastifyInstance).log;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn(`${signal} again: exiting without finishing the queue`);
      exit(130);
      return;
    }
    signalled = true;
    log.info(`${signal}: stopping (send it again to exit at once)`);
    void server.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
