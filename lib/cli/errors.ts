// How the CLI ends on an error: one clear message, no stack trace (unless QWEN3_NATIVE_DEBUG=1), and an exit code
// that tells a usage mistake (2) from a failure while working (1).

/** Exit codes of `qwen3-native`. */
export const EXIT = {
  ok: 0,
  failure: 1,
  /** a bad flag, a bad value, a missing choice without a terminal to ask on */
  usage: 2,
  /** stopped by Ctrl-C */
  interrupted: 130,
} as const;

/** An error whose message is the whole story for the user; `code` is the exit code. */
export class CliError extends Error {
  readonly code: number;
  constructor(message: string, code: number = EXIT.usage) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

/** A usage error about one flag: "--epochs: expected a positive integer but received -1". */
export function flagError(flag: string, expected: string, received: string | undefined): CliError {
  const got = received === undefined ? 'nothing' : /^[^\s"']+$/.test(received) ? received : JSON.stringify(received);
  return new CliError(`${flag}: expected ${expected} but received ${got}`);
}

export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.QWEN3_NATIVE_DEBUG;
  return v !== undefined && v !== '' && !/^(0|false|no|off)$/i.test(v);
}

/** The text printed for an error: the message (prefixed "error: "), plus the stack only in debug mode. */
export function formatError(error: unknown, debug = debugEnabled()): string {
  if (!(error instanceof Error)) return `error: ${String(error)}`;
  let message = error.message || error.name;
  if (debug && error.stack) return `error: ${message}\n${error.stack}`;
  // Never let a stack-like line through: some native messages embed one.
  message = message
    .split('\n')
    .filter((line) => !/^\s+at\s/.test(line))
    .join('\n');
  return `error: ${message}`;
}

/** The exit code for an error: CliError carries its own; anything else is a failure (1). */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.code;
  return EXIT.failure;
}
