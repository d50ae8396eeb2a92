// The HTTP API on fastify: routes (schema.ts declares each one's method, path and schemas), validation by the
// package's one validator (util/schema: every problem listed, nothing coerced or dropped), the API key, errors as
// JSON, request logs and metrics. The server's life (listen, load, stop) is in server.ts.
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { createHash, timingSafeEqual } from 'crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { labelIndex, predictionJson } from '../predict/predictor';
import { packageVersion } from '../util/paths';
import { problems, type Problem, type SchemaNode, type TSchema } from '../util/schema';
import { bodyFields, HttpError, toHttpError, validationError } from './errors';
import { loggerOptions, type LogStream } from './logging';
import type { ServeMetrics } from './metrics';
import type { ModelPool } from './models';
import type { ResolvedServeOptions } from './options';
import type { Scheduler } from './scheduler';
import { routes } from './schema';

export type Phase = 'loading' | 'ready' | 'stopping' | 'failed';

export interface AppContext {
  options: ResolvedServeOptions;
  pool: ModelPool;
  scheduler: Scheduler;
  metrics: ServeMetrics;
  /** where the server is in its life; routes read it on each request */
  phase(): Phase;
  answering: Answering;
  logStream?: LogStream;
}

/** More fields than this in a predict request are refused before validation. */
const MAX_FIELDS = 8;

/** nginx's status for a request its client closed before the answer. */
const CLIENT_CLOSED = 499;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Whether the Authorization header carries the key, compared in constant time (hashes have equal length). The scheme
 * name is case-insensitive (RFC 9110 11.1): `bearer <key>` is as good as `Bearer <key>`.
 */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const key = header === undefined ? undefined : /^\s*bearer +(\S+)\s*$/i.exec(header)?.[1];
  return timingSafeEqual(digest(key ?? ''), expected) && key !== undefined;
}

/**
 * The requests whose body has arrived and whose answer is not yet sent: a stop waits for them before it closes the
 * connections still open (those of clients still sending).
 */
export class Answering {
  private count = 0;
  private waiters: (() => void)[] = [];

  begin(): () => void {
    this.count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  /** Resolves once no request is being answered. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

function notReady(phase: Phase): HttpError | undefined {
  if (phase === 'ready') return undefined;
  if (phase === 'loading')
    return new HttpError(503, 'not_ready', 'the models are still loading; retry shortly (GET /readyz says when)', {
      retryAfterSeconds: 1,
    });
  if (phase === 'stopping')
    return new HttpError(503, 'shutting_down', 'the server is shutting down and takes no new work', {
      retryAfterSeconds: 1,
    });
  return new HttpError(503, 'not_ready', 'the models failed to load; see the server log');
}

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const o = ctx.options;
  const limits = {
    maxTexts: o.maxTexts,
    maxTextLength: o.maxTextLength,
    maxExplainTexts: o.maxExplainTexts,
    bodyLimit: o.bodyLimit,
  };
  const api = routes(limits);
  const body = api.predict.schema.body as SchemaNode;
  // Probes (routes with no security requirement) answer without the key: a load balancer has none, they reveal nothing.
  const open = new Set<string>(Object.values(api).flatMap((r) => ('security' in r.schema ? [r.url] : [])));
  const app = Fastify({
    logger: loggerOptions(o.logFormat, ctx.logStream),
    // One log line per request (onResponse below) instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    forceCloseConnections: 'idle',
    requestTimeout: o.requestTimeoutMs,
    // Node checks the timeouts every connectionsCheckingInterval (30 s by default, which let a 2 s timeout fire at
    // 30 s); the headers count within the request's time.
    http: { headersTimeout: o.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, o.requestTimeoutMs) },
    // Requests that arrive on open connections while the server closes reach the routes, which answer 503
    // shutting_down with the documented body (fastify's own 503 has no code).
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.maxConnections = o.maxConnections;
  app.setValidatorCompiler(({ schema }) => (data: unknown) => {
    const found = problems(schema as TSchema, data);
    return found.length ? { error: validationError(found, schema as SchemaNode) } : { value: data };
  });
  // JSON only: a text/plain body gets 415 naming the content type to use.
  app.removeContentTypeParser('text/plain');

  const info = new WeakMap<FastifyRequest, { texts: number; model: string }>();
  const cancelled = new WeakMap<FastifyRequest, AbortSignal>();
  const expected = o.apiKey === undefined ? undefined : digest(o.apiKey);

  app.addHook('onRequest', async (request, reply) => {
    // The response closing before it finished means the client went away: queued texts leave the queue (abort).
    // (fastify's onRequestAbort and request.signal only see a client that leaves while still sending its body.)
    const started = performance.now();
    const abort = new AbortController();
    cancelled.set(request, abort.signal);
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      abort.abort();
      record(request, CLIENT_CLOSED, performance.now() - started);
    });
    if (!expected || open.has(request.url.split('?')[0])) return;
    if (!authorized(request.headers.authorization, expected)) {
      throw new HttpError(
        401,
        'unauthorized',
        'this server needs the header Authorization: Bearer <key> (the key it was started with)',
        {
          headers: { 'WWW-Authenticate': 'Bearer realm="qwen3-native"' },
        }
      );
    }
  });
  // While stopping, every answer closes its connection, so the server's close is not held up by idle keep-alives.
  app.addHook('onSend', async (_request, reply) => {
    if (ctx.phase() === 'stopping') reply.header('Connection', 'close');
  });
  // One log line and one count per request: answered (onResponse), or abandoned by its client (status 499, as nginx
  // logs it; fastify runs no onResponse then).
  const recorded = new WeakSet<FastifyRequest>();
  const record = (request: FastifyRequest, status: number, ms: number) => {
    if (recorded.has(request)) return;
    recorded.add(request);
    ctx.metrics.request(request.method, request.routeOptions.url ?? 'unmatched', status, ms / 1000);
    request.log.info(
      { method: request.method, url: request.url, status, ms: Math.round(ms * 10) / 10, ...info.get(request) },
      'request'
    );
  };
  app.addHook('onResponse', async (request, reply) => record(request, reply.statusCode, reply.elapsedTime));
  // From here on the body has arrived: the request is being answered until its response is sent or its client leaves.
  // (A request pipelined behind one whose answer closed the connection gets no 'finish' or 'close' of its own: the
  // socket's close ends it too.)
  app.addHook('preValidation', async (request, reply) => {
    const end = ctx.answering.begin();
    const socket = request.raw.socket;
    const done = () => {
      end();
      socket.off('close', done);
      reply.raw.off('finish', done);
      reply.raw.off('close', done);
    };
    socket.once('close', done);
    reply.raw.once('finish', done);
    reply.raw.once('close', done);
  });
  // Bounds the validator's work before it runs: with every problem reported, a 1 MiB body of 300,000 bad items took
  // ajv 9 s of the event loop (measured). A list too long, or too many fields, is answered from its size alone.
  app.addHook('preValidation', async (request) => {
    const given = request.body as Record<string, unknown> | null | undefined;
    if (request.routeOptions.url !== api.predict.url || !given || typeof given !== 'object' || Array.isArray(given))
      return;
    const found: Problem[] = [];
    const properties = bodyFields(body);
    const limit = properties.texts.maxItems as number;
    if (Array.isArray(given.texts) && given.texts.length > limit)
      found.push({
        path: ['texts'],
        kind: 'range',
        keyword: 'maxItems',
        schema: properties.texts,
        value: given.texts,
        params: { limit },
      });
    const fields = Object.keys(given);
    if (fields.length > MAX_FIELDS) {
      for (const f of fields.filter((k) => !(k in properties)).slice(0, MAX_FIELDS))
        found.push({
          path: [f],
          kind: 'unknown',
          keyword: 'additionalProperties',
          schema: body,
          value: given[f],
          params: {},
        });
    }
    if (found.length) throw validationError(found, body);
  });

  app.setErrorHandler((error, request, reply) => {
    const { http, unexpected } = toHttpError(error, limits);
    if (unexpected) request.log.error({ err: error }, 'request failed');
    if (http.extra.retryAfterSeconds !== undefined) reply.header('Retry-After', String(http.extra.retryAfterSeconds));
    for (const [k, v] of Object.entries(http.extra.headers ?? {})) reply.header(k, v);
    reply.code(http.statusCode).send(http.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const all = Object.values(api).map((r) => `${r.method} ${r.url}`);
    // A known path with another method is 405 with the methods it takes in Allow (RFC 9110 15.5.6); fastify answers
    // HEAD for every GET route.
    const methods = Object.values(api).flatMap((r) =>
      r.url === path ? [r.method, ...(r.method === 'GET' ? ['HEAD'] : [])] : []
    );
    if (methods.length) {
      const allow = methods.join(', ');
      const e = new HttpError(405, 'method_not_allowed', `${path} takes ${allow}, not ${request.method}`);
      reply.code(405).header('Allow', allow).send(e.body());
      return;
    }
    const e = new HttpError(404, 'not_found', `no route ${request.method} ${path}; the routes are ${all.join(', ')}`);
    reply.code(404).send(e.body());
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'qwen3-native serve',
        version: packageVersion(),
        description:
          'Sentiment of Chinese Weibo posts (0 负面 negative, 1 正面 positive) from trained Qwen3 classifiers.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: expected ? [{ bearerAuth: [] }] : [],
    },
  });

  /** What a predict or explain request asks about, once the server is ready: the model it names (or the default)
   * and its texts (logged with the request). */
  const accepted = (
    request: FastifyRequest,
    body: { model?: string } & ({ texts: string[] } | { text: string })
  ): { model: string; texts: string[] } => {
    const pending = notReady(ctx.phase());
    if (pending) throw pending;
    const model = body.model ?? ctx.pool.defaultName;
    if (!ctx.pool.has(model)) {
      throw new HttpError(
        404,
        'unknown_model',
        `model: no model named ${JSON.stringify(model)}; this server serves ${ctx.pool.names.join(', ')}`,
        { field: 'model', models: [...ctx.pool.names] }
      );
    }
    const texts = 'texts' in body ? body.texts : [body.text];
    info.set(request, { texts: texts.length, model });
    return { model, texts };
  };

  app.route({
    ...api.predict,
    handler: async (request) => {
      const { model, texts } = accepted(request, request.body);
      const predictions = await ctx.scheduler.submit(model, texts, cancelled.get(request));
      const labels = ctx.pool.predictor(model).labels;
      return { predictions: predictions.map((p) => predictionJson({ ...p, labels })) };
    },
  });

  app.route({
    ...api.explain,
    handler: async (request) => {
      const { model, texts } = accepted(request, request.body);
      const predictor = ctx.pool.predictor(model);
      const { label, steps } = request.body;
      if (label !== undefined) {
        // Checked before any work, as the Predictor checks it (one message), answered as a bad field.
        try {
          labelIndex(label, predictor.labels!);
        } catch (e) {
          throw new HttpError(400, 'invalid_request', `label: ${(e as Error).message} (model ${model})`, {
            field: 'label',
          });
        }
      }
      const budget = AbortSignal.timeout(o.explainBudgetMs);
      const signal = AbortSignal.any([cancelled.get(request)!, budget]);
      const explanations = [];
      for (const text of texts) {
        try {
          explanations.push(await predictor.explain(text, { label, steps, signal }));
        } catch (e) {
          if (!budget.aborted) throw e;
          throw new HttpError(
            503,
            'over_time_budget',
            `explaining ${texts.length} text(s) took over the server's time budget of ${o.explainBudgetMs} ms ` +
              `(${explanations.length} done): send fewer texts or steps`,
            { retryAfterSeconds: 1 }
          );
        }
      }
      return { explanations };
    },
  });

  app.route({
    ...api.models,
    handler: async () => {
      const pending = notReady(ctx.phase());
      if (pending) throw pending;
      return { models: ctx.pool.describe() };
    },
  });

  app.route({ ...api.healthz, handler: async () => ({ status: 'ok' }) });

  app.route({
    ...api.readyz,
    handler: async (_request, reply) => {
      const phase = ctx.phase();
      if (phase !== 'ready') reply.code(503);
      return { status: phase, models: [...ctx.pool.names] };
    },
  });

  app.route({
    ...api.metrics,
    handler: async (_request, reply) => {
      reply.header('Content-Type', ctx.metrics.contentType);
      return ctx.metrics.text();
    },
  });

  app.route({ ...api.openapi, handler: async () => app.swagger() });

  return app;
}
