// Two JSON values compared leaf by leaf, for messages that name what differs instead of showing both values whole.

export interface Difference {
  /** "batchSize", "lora.r", "data.train.sha256" */
  field: string;
  a: unknown;
  b: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The leaves in which two JSON values differ, by dotted path (a's keys first, then b's own). */
export function differences(a: unknown, b: unknown, prefix = ''): Difference[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ field: prefix, a, b }];
}
