// The streams the CLI reads and writes. `qwen3-native` uses the process's own; `main(argv, streams)` runs a command in
// process with others (tests: one cold start of the addon per test file instead of one per command, 2.0-2.7 s each).
// Every command writes through these, never to process.stdout / process.stderr directly.

/** What the CLI needs of an output stream: write, and whether (and how wide) it is a terminal. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliStreams {
  stdout: OutStream;
  stderr: OutStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /**
   * stdin holds posts to read (a pipe or a file). Undefined: decided from file descriptor 0, as for the process's own
   * stdin; given streams say it outright.
   */
  stdinPiped?: boolean;
}

// Getters: process.stdin is made on first use, and only a command that reads it should make it.
const PROCESS_STREAMS: CliStreams = {
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
  get stdin() {
    return process.stdin;
  },
};

let current: CliStreams | undefined;

/** The streams of the command running now. */
export function streams(): CliStreams {
  return current ?? PROCESS_STREAMS;
}

/** Runs `fn` with `given` as the CLI's streams (the process's own fill what is not given). One command at a time. */
export async function withStreams<T>(given: Partial<CliStreams> | undefined, fn: () => Promise<T>): Promise<T> {
  if (!given) return fn();
  const previous = current;
  current = {
    stdout: given.stdout ?? process.stdout,
    stderr: given.stderr ?? process.stderr,
    get stdin() {
      return given.stdin ?? process.stdin;
    },
    stdinPiped: given.stdinPiped,
  };
  try {
    return await fn();
  } finally {
    current = previous;
  }
}
