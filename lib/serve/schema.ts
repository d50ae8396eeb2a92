// Every shape of `qwen3-native serve`, declared once (util/schema): its options (their checks, defaults and the CLI
// help's words), and the HTTP API: each route's method, path and schemas. fastify validates requests with them (the
// package's one validator), route handlers get their types from them (@fastify/type-provider-typebox), responses are
// serialized by them, and /openapi.json is generated from them (@fastify/swagger), so none of these can drift apart.
// Every limit here exists to bound memory or a client's wait, never by taste: the comment beside each says which
// number decided it.
import * as os from 'os';
import { ExplanationSchema, EXPLAIN_OPTIONS, PredictionJsonSchema } from '../predict/schema';
import { DeviceSchema, DTypeSchema } from '../qwen3/schema';
import {
  NonEmptyString,
  NonNegativeInt,
  OneOf,
  PositiveInt,
  Type,
  WithDefault,
  defaultsOf,
  type Static,
} from '../util/schema';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The environment variable that may hold the API key (a flag shows in `ps`; the environment does not). */
export const API_KEY_ENV = 'QWEN3_NATIVE_API_KEY';

const serve = {
  checkpoints: Type.Array(Type.String(), { description: "run folders to serve (each named by its folder's name)" }),
  model: NonEmptyString({ description: "base model override for every run (folder, hub id, 'tiny')" }),
  device: DeviceSchema,
  dtype: DTypeSchema,
  offline: Type.Boolean({ description: 'never download (also env HF_HUB_OFFLINE=1)' }),
  /** loopback only: nothing outside this machine can reach the server unless asked for */
  host: WithDefault(
    NonEmptyString({ description: 'address to listen on (any other than loopback needs an API key)' }),
    '127.0.0.1'
  ),
  port: WithDefault(
    Type.Integer({ minimum: 0, maximum: 65535, description: 'port; 0: any free port, logged at start' }),
    8080
  ),
  /**
   * Most texts merged into one Predictor.predict call, which is one native call: the core runs it in forward passes
   * of at most 32 texts by length, so this bounds a request's wait, not memory. 64: calls of 64 texts gave 3,300
   * texts/s against 2,000 for calls of 32 and 3,500 for 128 (tiny model, posts cut to 48 tokens, Predictor alone on
   * this 2-core CPU). 1 turns batching off.
   */
  maxBatchSize: WithDefault(
    PositiveInt({ description: 'most texts of concurrent requests merged into one model call; 1 turns batching off' }),
    64
  ),
  /**
   * How long the first text in an idle queue waits for company before its batch starts. While a batch runs the queue
   * fills anyway, so this only costs latency when the server is idle: 2 ms is under one tiny-model call (2.3 ms for one
   * text) and far under one 0.6B call. A wait longer than a minute is a mistake, not a batching policy.
   */
  maxWaitMs: WithDefault(
    Type.Number({ minimum: 0, maximum: 60_000, description: 'how long a text may wait for a fuller batch; 0: never' }),
    2
  ),
  queueLimit: WithDefault(
    PositiveInt({ description: 'texts waiting across all models before requests get 503 + Retry-After' }),
    1024
  ),
  maxTexts: WithDefault(PositiveInt({ description: 'texts per request' }), 128),
  /**
   * Texts per POST /v1/explain. An explanation runs `steps` (32) forward and backward passes of its post: one cost
   * what 49-94 predictions of it did (13.6-26.7 s for Qwen3-0.6B's shape on 2 cores, bench/RESULTS.md), so 8 texts
   * are about a full 128-text predict request's work 3-6 times over, and minutes on a small CPU (the time budget
   * below ends such a request early).
   */
  maxExplainTexts: WithDefault(PositiveInt({ description: 'texts per explain request' }), 8),
  /**
   * How long one explain request may compute before it is answered 503 over_time_budget (checked between its texts;
   * explanations share the model with predictions, which wait meanwhile). 30 s, as long as a client may take to send.
   */
  explainBudgetMs: WithDefault(
    PositiveInt({ description: 'most time one explain request may compute, else 503 over_time_budget' }),
    30_000
  ),
  /**
   * Characters in one text. The model reads at most the run's maxLength tokens (256 by default) of it anyway; 2,000
   * characters covers a long Weibo post and bounds the tokenizer's work for one text.
   */
  maxTextLength: WithDefault(PositiveInt({ description: 'characters per text' }), 2000),
  /**
   * Bytes in one request body. 128 texts of 2,000 Chinese characters (3 bytes each in UTF-8) are 768 KB, so 1 MiB
   * admits every request that the limits above admit.
   */
  bodyLimit: WithDefault(PositiveInt({ description: 'bytes per request body, else 413' }), 1024 * 1024),
  /**
   * Most time one client may take to send a request, headers and body, else 408 and the connection closes. fastify's
   * default (0) switches Node's own 300 s off: one client trickling its body a byte at a time held a stopping server
   * 148 s (measured). The largest body (bodyLimit, 1 MiB) takes 8.4 s over a 1 Mbit/s uplink; 30 s leaves it room.
   */
  requestTimeoutMs: WithDefault(
    PositiveInt({ description: 'how long a client may take to send a request (headers and body), else 408' }),
    30_000
  ),
  /**
   * Open connections at once; one more is closed as it arrives. 500 slow clients held 526 descriptors (measured), and
   * a process's soft limit is often 1,024: 960 leaves 64 for the process's own files, so no accept fails with EMFILE.
   */
  maxConnections: WithDefault(PositiveInt({ description: 'open connections at once; more are closed at once' }), 960),
  /**
   * On stop, how long requests still being sent may take before every connection is closed (queued texts are
   * predicted and answered in any case). 10 s: a supervisor's grace before SIGKILL is 30 s in Kubernetes and 90 s
   * in systemd, which leaves 20 s to answer the queue.
   */
  stopGraceMs: WithDefault(
    NonNegativeInt({ description: 'on stop, how long uploads in progress may take before connections are closed' }),
    10_000
  ),
  apiKey: NonEmptyString({
    description: `require Authorization: Bearer <key> on every route but /healthz and /readyz (or set ${API_KEY_ENV})`,
  }),
  logFormat: WithDefault(
    OneOf(LOG_FORMATS, { description: 'json writes one JSON line per request on stderr' }),
    'text' as LogFormat
  ),
  /**
   * Intra-op threads of the models: every core, as for every command. Fewer leave cores to the JS thread (HTTP, JSON,
   * tokenizing), which pays when the model is tiny and requests are many, or when other processes share the cores:
   * on this 2-core machine under a load average of 5, single-text calls of the tiny model ran 13 texts/s with 2 threads
   * and 129 with 1 (an OpenMP team waits for its slowest thread, and a busy machine deschedules one).
   */
  threads: WithDefault(
    PositiveInt({ description: 'intra-op threads of the models, for the whole process' }),
    os.availableParallelism()
  ),
};

export const ServeOptionsSchema = Type.Partial(Type.Object(serve), { additionalProperties: false });
export type ServeOptions = Static<typeof ServeOptionsSchema>;
/** The properties of ServeOptionsSchema (the CLI's help reads their descriptions). */
export const SERVE_OPTIONS = serve;
export const SERVE_DEFAULTS = defaultsOf(serve);

// ---- the HTTP API ----

export interface RequestLimits {
  maxTexts: number;
  maxTextLength: number;
  maxExplainTexts: number;
}

/** One post: at least one non-space character, at most `maxTextLength` characters (UTF-16 units, as JS counts). */
function text(l: RequestLimits, description: string) {
  return Type.String({ minLength: 1, maxLength: l.maxTextLength, pattern: '\\S', description });
}

/** A predict request: "texts" (a list) or "text" (one post), not both; "model" optional in either. */
export function predictBodySchema(l: RequestLimits) {
  const model = Type.Optional(
    NonEmptyString({ description: 'which served model answers (GET /v1/models); default: the first one' })
  );
  const texts = Type.Array(text(l, 'a post'), {
    minItems: 1,
    maxItems: l.maxTexts,
    description: `the posts, 1 to ${l.maxTexts}, each at most ${l.maxTextLength} characters`,
  });
  return Type.Union(
    [
      Type.Object({ texts, model }, { additionalProperties: false }),
      Type.Object(
        { text: text(l, `one post, at most ${l.maxTextLength} characters`), model },
        { additionalProperties: false }
      ),
    ],
    {
      description: 'Posts to classify: "texts" (a list) or "text" (one post), not both.',
      examples: [{ texts: ['今天天气真好', '排了两个小时的队，结果卖完了'] }],
    }
  );
}
export type PredictBody = Static<ReturnType<typeof predictBodySchema>>;

/** An explain request: "texts" or "text" as for predict (fewer texts), the label explained and the steps. */
export function explainBodySchema(l: RequestLimits) {
  const common = {
    model: Type.Optional(NonEmptyString({ description: 'which served model explains (default: the first one)' })),
    label: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), NonEmptyString()], {
        description: "the label explained, by id or name (default: each text's predicted label)",
      })
    ),
    steps: Type.Optional(EXPLAIN_OPTIONS.steps),
  };
  const texts = Type.Array(text(l, 'a post'), {
    minItems: 1,
    maxItems: l.maxExplainTexts,
    description: `the posts, 1 to ${l.maxExplainTexts}, each at most ${l.maxTextLength} characters`,
  });
  return Type.Union(
    [
      Type.Object({ texts, ...common }, { additionalProperties: false }),
      Type.Object(
        { text: text(l, `one post, at most ${l.maxTextLength} characters`), ...common },
        { additionalProperties: false }
      ),
    ],
    {
      description: 'Posts to explain: "texts" (a list) or "text" (one post), not both.',
      examples: [{ text: '排了两个小时的队，结果卖完了', steps: 32 }],
    }
  );
}
export type ExplainBody = Static<ReturnType<typeof explainBodySchema>>;

export const ExplainResponseSchema = Type.Object(
  { explanations: Type.Array(ExplanationSchema, { description: 'one per text, in order' }) },
  { additionalProperties: false }
);

/** serve answers predictions without predict's --file id. */
const ServedPredictionSchema = Type.Omit(PredictionJsonSchema, ['id'], { additionalProperties: false });

export const PredictResponseSchema = Type.Object(
  { predictions: Type.Array(ServedPredictionSchema, { description: 'one per text, in order' }) },
  { additionalProperties: false }
);

/** Every error the server answers with: fastify's own shape plus the field at fault and a stable code. */
export const ErrorBodySchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String({ description: 'the HTTP status text' }),
  code: Type.String({
    description:
      'invalid_request, invalid_json, unsupported_media_type, body_too_large, unknown_model, not_found, unauthorized, ' +
      'queue_full, not_ready, shutting_down, over_time_budget, internal',
  }),
  message: Type.String({ description: 'what went wrong and what to do, naming the field' }),
  field: Type.Optional(
    Type.String({ description: 'the request field at fault, e.g. texts[2] (body: the whole body)' })
  ),
  models: Type.Optional(Type.Array(Type.String(), { description: 'unknown_model: the models served' })),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

const errors = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema } as const;

export const ModelDescriptionSchema = Type.Object({
  name: Type.String({ description: 'the run folder\'s name; the "model" of a predict request' }),
  default: Type.Boolean({ description: 'answers requests that name no model' }),
  method: Type.String({ description: 'embedding, lora, lora-head or full' }),
  baseModel: Type.String({ description: "the base model's hub id, or what it was given as ('tiny', a folder)" }),
  labels: Type.Array(Type.Object({ label: Type.Integer(), sentiment: Type.String() })),
  devAccuracy: Type.Union([Type.Number(), Type.Null()], {
    description: "the best checkpoint's accuracy on the run's dev split; null when the run has none",
  }),
  maxLength: Type.Integer({ description: 'most tokens of a post the model reads (longer posts are cut)' }),
  test: Type.Union(
    [
      Type.Object({
        data: Type.String({ description: 'the test file' }),
        count: Type.Integer({ description: 'its posts' }),
        accuracy: Type.Number(),
        macroF1: Type.Number(),
      }),
      Type.Null(),
    ],
    { description: "the run's result on a labelled test set (train --test); null when it has none" }
  ),
});
export type ModelDescription = Static<typeof ModelDescriptionSchema>;

const ModelsResponseSchema = Type.Object({ models: Type.Array(ModelDescriptionSchema) });

const StatusSchema = Type.Object({
  status: Type.String(),
  models: Type.Optional(Type.Array(Type.String())),
});

const OPEN = [] as const; // no security requirement: probes work without the key

/** Every route: method, path and schemas (app.ts adds the handlers; 404 messages list these). */
export function routes(l: RequestLimits) {
  return {
    predict: {
      method: 'POST',
      url: '/v1/predict',
      schema: {
        summary: 'Classify posts',
        description:
          'One prediction per text, as `qwen3-native predict --json` prints them. Texts of concurrent requests are ' +
          'batched together. 503 with Retry-After when the queue is full or the models are still loading.',
        body: predictBodySchema(l),
        response: { 200: PredictResponseSchema, ...errors },
      },
    },
    explain: {
      method: 'POST',
      url: '/v1/explain',
      schema: {
        summary: 'Why each label: token attributions',
        description:
          'For each text, its spans of characters and how much each moved the model towards the label (integrated ' +
          'gradients), as `qwen3-native predict --explain --json` gives them. Texts run one after another, not ' +
          'batched; a request computing longer than the time budget is answered 503 over_time_budget.',
        body: explainBodySchema(l),
        response: { 200: ExplainResponseSchema, ...errors },
      },
    },
    models: {
      method: 'GET',
      url: '/v1/models',
      schema: { summary: 'The models served', response: { 200: ModelsResponseSchema, ...errors } },
    },
    healthz: {
      method: 'GET',
      url: '/healthz',
      schema: { summary: 'Alive (no key needed)', security: OPEN, response: { 200: StatusSchema } },
    },
    readyz: {
      method: 'GET',
      url: '/readyz',
      schema: {
        summary: 'Models loaded: 200, else 503 (no key needed)',
        security: OPEN,
        response: { 200: StatusSchema, 503: StatusSchema },
      },
    },
    metrics: {
      method: 'GET',
      url: '/metrics',
      schema: {
        summary: 'Prometheus metrics (text format 0.0.4)',
        description:
          'Requests by route and status, request latency, texts per batch, texts waiting, texts per second, ' +
          'cancelled requests, and the process (RSS, CPU, event-loop lag).',
      },
    },
    openapi: { method: 'GET', url: '/openapi.json', schema: { summary: 'This document (OpenAPI 3)' } },
  } as const;
}
