// The JSON schemas of every route: fastify validates requests and serializes responses with them, and
// /openapi.json is generated from the same objects (@fastify/swagger), so the document cannot drift from the code.

export interface RequestLimits {
  maxTexts: number;
  maxTextLength: number;
}

/** One post: at least one non-space character, at most `maxTextLength` characters (code points). */
function textSchema(l: RequestLimits, description: string) {
  return { type: 'string', minLength: 1, maxLength: l.maxTextLength, pattern: '\\S', description } as const;
}

export interface PredictBody {
  texts?: string[];
  text?: string;
  model?: string;
}

export function predictBodySchema(l: RequestLimits) {
  return {
    type: 'object',
    description: 'Posts to classify: "texts" (a list) or "text" (one post), not both.',
    additionalProperties: false,
    properties: {
      texts: {
        type: 'array',
        minItems: 1,
        maxItems: l.maxTexts,
        items: textSchema(l, 'a post'),
        description: `the posts, 1 to ${l.maxTexts}, each at most ${l.maxTextLength} characters`,
      },
      text: textSchema(l, `one post, at most ${l.maxTextLength} characters`),
      model: {
        type: 'string',
        minLength: 1,
        description: 'which served model answers (GET /v1/models); default: the first one',
      },
    },
    anyOf: [{ required: ['texts'] }, { required: ['text'] }],
    not: { required: ['texts', 'text'] },
    examples: [{ texts: ['今天天气真好', '排了两个小时的队，结果卖完了'] }],
  } as const;
}

/** What `predict --json` prints per prediction (predictionJson). */
export const predictionSchema = {
  type: 'object',
  required: ['text', 'label', 'sentiment', 'confidence', 'probabilities', 'model'],
  additionalProperties: false,
  properties: {
    text: { type: 'string' },
    label: { type: 'integer', minimum: 0, description: 'the label id (default set: 1 positive, 0 negative)' },
    sentiment: { type: 'string', description: "the label's name (default set: 正面 or 负面)" },
    confidence: { type: 'number', description: "the predicted label's probability" },
    probabilities: {
      type: 'array',
      items: { type: 'number' },
      minItems: 2,
      description: 'one per label, label 0 first (default set: [P(负面), P(正面)])',
    },
    labels: {
      type: 'array',
      items: { type: 'string' },
      description: "the run's label set, label 0 first: only for sets other than the default 负面, 正面",
    },
    model: { type: 'string', description: 'the run that answered' },
  },
} as const;

export const predictResponseSchema = {
  type: 'object',
  required: ['predictions'],
  additionalProperties: false,
  properties: { predictions: { type: 'array', items: predictionSchema, description: 'one per text, in order' } },
} as const;

/** Every error the server answers with: fastify's own shape plus the field at fault and a stable code. */
export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'error', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string', description: 'the HTTP status text' },
    code: {
      type: 'string',
      description:
        'invalid_request, invalid_json, unsupported_media_type, body_too_large, unknown_model, not_found, unauthorized, ' +
        'queue_full, not_ready, shutting_down, internal',
    },
    message: { type: 'string', description: 'what went wrong and what to do, naming the field' },
    field: { type: 'string', description: 'the request field at fault, e.g. texts[2] (body: the whole body)' },
    models: { type: 'array', items: { type: 'string' }, description: 'unknown_model: the models served' },
  },
} as const;

const errors = { '4xx': errorSchema, '5xx': errorSchema } as const;

export const modelsResponseSchema = {
  type: 'object',
  required: ['models'],
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'default', 'method', 'baseModel', 'labels', 'devAccuracy', 'maxLength'],
        properties: {
          name: { type: 'string', description: 'the run folder\'s name; the "model" of a predict request' },
          default: { type: 'boolean', description: 'answers requests that name no model' },
          method: { type: 'string', description: 'embedding, lora, lora-head or full' },
          baseModel: { type: 'string' },
          labels: {
            type: 'array',
            items: { type: 'object', properties: { label: { type: 'integer' }, sentiment: { type: 'string' } } },
          },
          devAccuracy: {
            type: ['number', 'null'],
            description: "the best checkpoint's accuracy on the run's dev split",
          },
          maxLength: { type: 'integer', description: 'most tokens of a post the model reads (longer posts are cut)' },
        },
      },
    },
  },
} as const;

const statusSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' }, models: { type: 'array', items: { type: 'string' } } },
} as const;

const OPEN = [] as const; // no security requirement: probes work without the key

export const ROUTE_SCHEMAS = {
  predict: (l: RequestLimits) => ({
    summary: 'Classify posts',
    description:
      'One prediction per text, as `qwen3-native predict --json` prints them. Texts of concurrent requests are batched ' +
      'together. 503 with Retry-After when the queue is full or the models are still loading.',
    body: predictBodySchema(l),
    response: { 200: predictResponseSchema, ...errors },
  }),
  models: { summary: 'The models served', response: { 200: modelsResponseSchema, ...errors } },
  healthz: { summary: 'Alive (no key needed)', security: OPEN, response: { 200: statusSchema } },
  readyz: {
    summary: 'Models loaded: 200, else 503 (no key needed)',
    security: OPEN,
    response: { 200: statusSchema, 503: statusSchema },
  },
  metrics: {
    summary: 'Prometheus metrics (text format 0.0.4)',
    description:
      'Requests by route and status, request latency, texts per batch, texts waiting, texts per second, cancelled ' +
      'requests, and the process (RSS, CPU, event-loop lag).',
  },
  openapi: { summary: 'This document (OpenAPI 3)' },
};

/** Routes clients may call, for 404 messages. */
export const ROUTES = [
  'POST /v1/predict',
  'GET /v1/models',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /openapi.json',
] as const;
