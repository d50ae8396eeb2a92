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

/**
 * The signals `train` stops gracefully on (after the current step, with a checkpoint) and the exit code each
 * leaves, 128 + its number as shells report it: Ctrl-C (SIGINT) 130; SIGTERM (docker stop, systemd, Kubernetes) 143;
 * SIGHUP (the terminal closed) 129.
 */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number>> = {
  SIGINT: EXIT.interrupted,
  SIGTERM: 143,
  SIGHUP: 129,
};

// C0 and C1 control characters (tab and line feed aside) and the bidirectional overrides and isolates, which would
// recolour, move the cursor or reorder what a terminal shows.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe to print on a terminal: control characters shown as \xHH / \uHHHH instead of acted on. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

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
  // Never let a stack-like line through: some native messages embed one. Messages quote file contents and
  // names: their control characters are shown, not acted on.
  message = message
    .split('\n')
    .filter((line) => !/^\s+at\s/.test(line))
    .map(escapeControls)
    .join('\n');
  return `error: ${message}`;
}

/** The exit code for an error: CliError carries its own; anything else is a failure (1). */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.code;
  return EXIT.failure;
}
