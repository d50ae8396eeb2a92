// Every failure the server answers becomes one JSON error (schemas.ts errorSchema): a status, a stable code, the
// field at fault and a message that says what to do. Bad input is a 4xx, never a crash or a stack trace.
import { STATUS_CODES } from 'http';
import { describeValue } from '../util/is';
import { CancelledError, QueueFullError, ShuttingDownError } from './scheduler';
import type { RequestLimits } from './schemas';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  field?: string;
  models?: string[];
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: {
      field?: string;
      models?: string[];
      retryAfterSeconds?: number;
      headers?: Record<string, string>;
    } = {}
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): ErrorBody {
    const { field, models } = this.extra;
    return {
      statusCode: this.statusCode,
      error: STATUS_CODES[this.statusCode] ?? 'Error',
      code: this.code,
      message: this.message,
      ...(field !== undefined && { field }),
      ...(models !== undefined && { models }),
    };
  }
}

/** One problem ajv found (the subset of its ErrorObject used here; `verbose` gives `data`). */
export interface SchemaProblem {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  data?: unknown;
  message?: string;
}

/** "/texts/3" -> "texts[3]"; "" -> "body". */
export function fieldName(instancePath: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (parts.length === 0) return 'body';
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

const FIELDS = '"texts" (a list of posts), "text" (one post) and "model"';

function typeName(type: unknown): string {
  switch (type) {
    case 'array':
      return 'a list';
    case 'object':
      return 'a JSON object';
    case 'integer':
      return 'an integer';
    default:
      return `a ${String(type)}`;
  }
}

/** One sentence per problem, naming the field and what it accepts. */
export function describeProblem(p: SchemaProblem, l: RequestLimits): { field: string; message: string } {
  const field = fieldName(p.instancePath);
  const got = p.data === undefined ? 'nothing' : describeValue(p.data);
  switch (p.keyword) {
    case 'type':
      if (field === 'body')
        return { field, message: `body: expected a JSON object like {"texts": ["…"]} but received ${got}` };
      return { field, message: `${field}: expected ${typeName(p.params.type)} but received ${got}` };
    case 'minItems':
      return { field, message: `${field}: expected at least one text but received an empty list` };
    case 'maxItems':
      return {
        field,
        message: `${field}: expected at most ${l.maxTexts} texts per request but received ${(p.data as unknown[]).length}; split them over several requests`,
      };
    case 'minLength':
    case 'pattern':
      return { field, message: `${field}: expected a text with at least one non-space character but received ${got}` };
    case 'maxLength':
      return {
        field,
        message: `${field}: expected at most ${l.maxTextLength} characters but received ${[...String(p.data)].length}`,
      };
    case 'additionalProperties': {
      const extra = String(p.params.additionalProperty);
      return { field: extra, message: `${extra}: unknown field; a request has ${FIELDS}` };
    }
    case 'anyOf':
    case 'required':
      return {
        field: 'texts',
        message: `texts: missing; send {"texts": ["…", …]} or {"text": "…"} (fields: ${FIELDS})`,
      };
    case 'not':
      return { field: 'texts', message: 'texts: give "texts" or "text", not both' };
    default:
      return { field, message: `${field}: ${p.message ?? 'is not valid'}` };
  }
}

/** Most problems listed in one message; the rest are counted. */
const MAX_LISTED = 5;

/** A 400 listing every problem ajv found in the body (anyOf's inner "required" folded into one). */
export function validationError(problems: readonly SchemaProblem[], l: RequestLimits): HttpError {
  // A body that is not an object fails the object-only rules vacuously (`not` of `required`): its type says it all.
  const notObject = problems.find((p) => p.keyword === 'type' && p.instancePath === '');
  const hasAnyOf = problems.some((p) => p.keyword === 'anyOf' && p.instancePath === '');
  const relevant = notObject
    ? [notObject]
    : problems.filter((p) => !(hasAnyOf && p.keyword === 'required' && p.instancePath === ''));
  // A body of 1 MiB can hold 300,000 bad items: describe only what is shown, count the rest.
  const shown = new Map<string, string>();
  for (const p of relevant) {
    if (shown.size === MAX_LISTED) break;
    const d = describeProblem(p, l);
    if (!shown.has(d.message)) shown.set(d.message, d.field);
  }
  const messages = [...shown.keys()];
  const rest = relevant.length - messages.length;
  if (relevant.length > MAX_LISTED && rest > 0) messages.push(`… and ${rest} more problems`);
  return new HttpError(400, 'invalid_request', messages.join('; '), { field: [...shown.values()][0] ?? 'body' });
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: SchemaProblem[];
}

/** The HttpError for anything thrown while answering; `unexpected` marks errors worth logging as server faults. */
export function toHttpError(
  error: unknown,
  limits: RequestLimits & { bodyLimit: number }
): { http: HttpError; unexpected: boolean } {
  if (error instanceof HttpError) return { http: error, unexpected: false };
  if (error instanceof QueueFullError) {
    return {
      http: new HttpError(503, 'queue_full', `${error.message}; the server is busier than it can take`, {
        retryAfterSeconds: error.retryAfterSeconds,
      }),
      unexpected: false,
    };
  }
  if (error instanceof ShuttingDownError)
    return { http: new HttpError(503, 'shutting_down', error.message, { retryAfterSeconds: 1 }), unexpected: false };
  if (error instanceof CancelledError)
    return { http: new HttpError(499, 'cancelled', error.message), unexpected: false };
  const e = (error ?? {}) as FastifyLikeError;
  if (e.validation) return { http: validationError(e.validation, limits), unexpected: false };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        http: new HttpError(400, 'invalid_json', 'body: not valid JSON; send a JSON object like {"texts": ["…"]}', {
          field: 'body',
        }),
        unexpected: false,
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        http: new HttpError(400, 'invalid_json', 'body: empty; send a JSON object like {"texts": ["…"]}', {
          field: 'body',
        }),
        unexpected: false,
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        http: new HttpError(
          413,
          'body_too_large',
          `body: larger than this server's limit of ${limits.bodyLimit} bytes; send fewer or shorter texts per request`,
          {
            field: 'body',
          }
        ),
        unexpected: false,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        http: new HttpError(
          415,
          'unsupported_media_type',
          'body: send JSON with the header Content-Type: application/json',
          { field: 'body' }
        ),
        unexpected: false,
      };
  }
  // Other client errors fastify raises (a bad Content-Length, …) keep their status.
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return { http: new HttpError(e.statusCode, 'invalid_request', e.message ?? 'bad request'), unexpected: false };
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return { http: new HttpError(500, 'internal', `the server failed to answer: ${message}`), unexpected: true };
}
