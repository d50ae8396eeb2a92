// Every failure the server answers becomes one JSON error (schema.ts ErrorBodySchema): a status, a stable code, the
// field at fault and a message that says what to do. Bad input is a 4xx, never a crash or a stack trace.
import { STATUS_CODES } from 'http';
import { describeValue } from '../util/is';
import type { Problem, SchemaNode } from '../util/schema';
import { pathName } from '../util/schema-errors';
import { CancelledError, QueueFullError, ShuttingDownError } from './scheduler';
import type { ErrorBody } from './schema';

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

/** [texts, 3] -> "texts[3]"; [] -> "body". */
function fieldName(path: readonly (string | number)[]): string {
  return path.length === 0 ? 'body' : pathName(path);
}

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

/** The fields a body may have, by name: its properties, or those of every shape of a union. */
export function bodyFields(body: SchemaNode): Record<string, SchemaNode> {
  const shapes = (body.anyOf as SchemaNode[] | undefined) ?? [body];
  return Object.assign({}, ...shapes.map((shape) => shape.properties ?? {}));
}

/** The key each shape of a union of objects requires ("texts", "text"). */
function requiredKeys(union: SchemaNode): string[] {
  return (union.anyOf as SchemaNode[]).map((shape) => (shape.required as string[])[0]);
}

/** One sentence per problem in the API's words (a list, a text), naming the field; limits come from the schema. */
function describeProblem(p: Problem, body: SchemaNode): { field: string; message: string } {
  const field = fieldName(p.path);
  const got = p.value === undefined ? 'nothing' : describeValue(p.value);
  const limit = p.params.limit;
  switch (p.keyword) {
    case 'type':
      if (p.path.length === 0)
        return { field, message: `body: expected a JSON object like {"texts": ["…"]} but received ${got}` };
      return { field, message: `${field}: expected ${typeName(p.params.type)} but received ${got}` };
    case 'minItems':
      return { field, message: `${field}: expected at least one text but received an empty list` };
    case 'maxItems':
      return {
        field,
        message: `${field}: expected at most ${limit} texts per request but received ${(p.value as unknown[]).length}; split them over several requests`,
      };
    case 'minLength':
    case 'pattern':
      return { field, message: `${field}: expected a text with at least one non-space character but received ${got}` };
    case 'maxLength':
      return {
        field,
        message: `${field}: expected at most ${limit} characters but received ${String(p.value).length}`,
      };
    case 'additionalProperties': {
      const known = Object.keys(bodyFields(body)).map((k) => `"${k}"`);
      return { field, message: `${field}: unknown field; a request has ${known.join(', ')}` };
    }
    case 'anyOf': {
      const keys = requiredKeys(p.schema);
      const fields = bodyFields(p.schema);
      const described = keys.map((k) => `"${k}"${fields[k]?.description ? ` (${fields[k].description})` : ''}`);
      return { field: keys[0], message: `${keys[0]}: missing; send ${described.join(' or ')}` };
    }
    case 'not': {
      const keys = requiredKeys(p.schema);
      return { field: keys[0], message: `${keys[0]}: give ${keys.map((k) => `"${k}"`).join(' or ')}, not both` };
    }
    default:
      return { field, message: `${field}: is not valid (${p.keyword})` };
  }
}

/** Most problems listed in one message; the rest are counted. */
const MAX_LISTED = 5;

/** A 400 listing every problem found in the body. */
export function validationError(problems: readonly Problem[], body: SchemaNode): HttpError {
  // A body of 1 MiB can hold 300,000 bad items: describe only what is shown, count the rest.
  const shown = new Map<string, string>();
  for (const p of problems) {
    if (shown.size === MAX_LISTED) break;
    const d = describeProblem(p, body);
    if (!shown.has(d.message)) shown.set(d.message, d.field);
  }
  const messages = [...shown.keys()];
  const rest = problems.length - messages.length;
  if (problems.length > MAX_LISTED && rest > 0) messages.push(`… and ${rest} more problems`);
  return new HttpError(400, 'invalid_request', messages.join('; '), { field: [...shown.values()][0] ?? 'body' });
}

/** Absolute paths in a message become their last part: clients learn which run failed, not the server's folders. */
function withoutFolders(message: string): string {
  return message.replace(/(?<=^|[\s'"(=])(?:\/[^\s/:'"]+)+\/([^\s/:'"]+)/g, '$1');
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/** The HttpError for anything thrown while answering; `unexpected` marks errors worth logging as server faults. */
export function toHttpError(error: unknown, limits: { bodyLimit: number }): { http: HttpError; unexpected: boolean } {
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
  return {
    http: new HttpError(500, 'internal', `the server failed to answer: ${withoutFolders(message)}`),
    unexpected: true,
  };
}
