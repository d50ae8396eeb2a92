// The HTTP API on fastify: routes, validation (the schemas in schemas.ts, with ajv set to reject rather than coerce
// or drop), the API key, errors as JSON, request logs and metrics. The server's life (listen, load, stop) is in
// server.ts.
import swagger from '@fastify/swagger';
import { createHash, timingSafeEqual } from 'crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { predictionJson } from '../predict/predictor';
import { packageVersion } from '../util/paths';
import { HttpError, toHttpError, validationError, type SchemaProblem } from './errors';
import { loggerOptions, type LogStream } from './logging';
import type { ServeMetrics } from './metrics';
import type { ModelPool } from './models';
import type { ResolvedServeOptions } from './options';
import type { Scheduler } from './scheduler';
import { ROUTE_SCHEMAS, ROUTES, type PredictBody } from './schemas';

export type Phase = 'loading' | 'ready' | 'stopping' | 'failed';

export interface AppContext {
  options: ResolvedServeOptions;
  pool: ModelPool;
  scheduler: Scheduler;
  metrics: ServeMetrics;
  /** where the server is in its life; routes read it on each request */
  phase(): Phase;
  logStream?: LogStream;
}

/** The fields of a predict request; more than MAX_FIELDS fields are refused before validation. */
const PREDICT_FIELDS = new Set(['texts', 'text', 'model']);
const MAX_FIELDS = 8;

/** nginx's status for a request its client closed before the answer. */
const CLIENT_CLOSED = 499;

/** Probes answer without the key: a load balancer or an orchestrator has none, and they reveal nothing. */
const OPEN_ROUTES = new Set(['/healthz', '/readyz']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares the Authorization header with the expected one in constant time (hashes have equal length). */
function authorized(header: string | undefined, expected: Buffer): boolean {
  return header !== undefined && timingSafeEqual(digest(header), expected);
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
  const limits = { maxTexts: o.maxTexts, maxTextLength: o.maxTextLength, bodyLimit: o.bodyLimit };
  const app = Fastify({
    logger: loggerOptions(o.logFormat, ctx.logStream),
    // One log line per request (onResponse below) instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    forceCloseConnections: 'idle',
    ajv: {
      // Wrong types are errors (no "5" -> 5 or "x" -> ["x"]), unknown fields too (not silently dropped); every
      // problem is reported at once, with the offending value (verbose) for the message.
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: true,
        verbose: true,
      },
    },
  });
  // JSON only: a text/plain body gets 415 naming the content type to use.
  app.removeContentTypeParser('text/plain');

  const info = new WeakMap<FastifyRequest, { texts: number; model: string }>();
  const cancelled = new WeakMap<FastifyRequest, AbortSignal>();
  const expected = o.apiKey === undefined ? undefined : digest(`Bearer ${o.apiKey}`);

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
    if (!expected || OPEN_ROUTES.has(request.url.split('?')[0])) return;
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
  // Bounds the validator's work before it runs: with every problem reported, a 1 MiB body of 300,000 bad items took
  // ajv 9 s of the event loop (measured). A list too long, or too many fields, is answered from its size alone.
  app.addHook('preValidation', async (request) => {
    const body = request.body as Record<string, unknown> | null | undefined;
    if (request.routeOptions.url !== '/v1/predict' || !body || typeof body !== 'object' || Array.isArray(body)) return;
    const problems: SchemaProblem[] = [];
    if (Array.isArray(body.texts) && body.texts.length > o.maxTexts)
      problems.push({ keyword: 'maxItems', instancePath: '/texts', params: {}, data: body.texts });
    const fields = Object.keys(body);
    if (fields.length > MAX_FIELDS) {
      const unknown = fields.filter((f) => !PREDICT_FIELDS.has(f)).slice(0, MAX_FIELDS);
      for (const f of unknown)
        problems.push({ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: f } });
    }
    if (problems.length) throw validationError(problems, limits);
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
    const e = new HttpError(
      404,
      'not_found',
      `no route ${request.method} ${path}; the routes are ${ROUTES.join(', ')}`
    );
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

  app.post('/v1/predict', { schema: ROUTE_SCHEMAS.predict(limits) }, async (request) => {
    const pending = notReady(ctx.phase());
    if (pending) throw pending;
    const body = request.body as PredictBody;
    const model = body.model ?? ctx.pool.defaultName;
    if (!ctx.pool.has(model)) {
      throw new HttpError(
        404,
        'unknown_model',
        `model: no model named ${JSON.stringify(model)}; this server serves ${ctx.pool.names.join(', ')}`,
        {
          field: 'model',
          models: [...ctx.pool.names],
        }
      );
    }
    const texts = body.texts ?? [body.text as string];
    info.set(request, { texts: texts.length, model });
    const predictions = await ctx.scheduler.submit(model, texts, cancelled.get(request));
    const labels = ctx.pool.predictor(model).labels;
    return { predictions: predictions.map((p) => predictionJson({ ...p, labels })) };
  });

  app.get('/v1/models', { schema: ROUTE_SCHEMAS.models }, async () => {
    const pending = notReady(ctx.phase());
    if (pending) throw pending;
    return { models: ctx.pool.describe() };
  });

  app.get('/healthz', { schema: ROUTE_SCHEMAS.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: ROUTE_SCHEMAS.readyz }, async (_request, reply) => {
    const phase = ctx.phase();
    if (phase !== 'ready') reply.code(503);
    return { status: phase, models: [...ctx.pool.names] };
  });

  app.get('/metrics', { schema: ROUTE_SCHEMAS.metrics }, async (_request, reply) => {
    reply.header('Content-Type', ctx.metrics.contentType);
    return ctx.metrics.text();
  });

  app.get('/openapi.json', { schema: ROUTE_SCHEMAS.openapi }, async () => app.swagger());

  return app;
}
