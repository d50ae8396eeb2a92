// Questions on a terminal. The CLI asks only when stdin AND stdout are terminals; otherwise a missing choice is an
// error that lists the valid choices (exit 2), so scripts and CI never hang on a prompt.
import * as fs from 'fs';
import * as readline from 'readline';
import { CliError, EXIT } from './errors';
import { streams } from './io';

export interface Io {
  input: NodeJS.ReadableStream;
  /** where questions go (stderr by default, so stdout stays clean for results) */
  output: NodeJS.WritableStream;
  /** may the CLI ask? (stdin and stdout are terminals) */
  interactive: boolean;
}

export function defaultIo(): Io {
  const s = streams();
  return {
    input: s.stdin,
    output: s.stderr as NodeJS.WritableStream,
    interactive: Boolean(s.stdin.isTTY && s.stdout.isTTY),
  };
}

/** The file the process's standard input reads (`< file`); undefined for a pipe, a terminal or given streams. */
export function stdinFile(): fs.Stats | undefined {
  if (streams().stdinPiped !== undefined) return undefined;
  try {
    const st = fs.fstatSync(0);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

/** stdin is a pipe, socket or file (something to read texts from), not a terminal and not /dev/null. */
export function stdinIsPiped(): boolean {
  const given = streams().stdinPiped;
  if (given !== undefined) return given;
  if (process.stdin.isTTY) return false;
  try {
    const st = fs.fstatSync(0);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

export interface Choice<T> {
  value: T;
  /** the word a user may type instead of the number */
  name: string;
  detail?: string;
}

export function formatChoices<T>(choices: Choice<T>[], numbered = false): string {
  const width = Math.max(...choices.map((c) => c.name.length));
  return choices
    .map(
      (c, i) =>
        `  ${numbered ? `${String(i + 1).padStart(2)}) ` : ''}${c.name.padEnd(width)}${c.detail ? `  ${c.detail}` : ''}`
    )
    .join('\n');
}

function openReadline(io: Io): readline.Interface {
  return readline.createInterface({
    input: io.input,
    output: io.output,
    terminal: Boolean((io.output as { isTTY?: boolean }).isTTY),
  });
}

/** Asks for one of `choices` by number or name; asks again on a bad answer. Ctrl-C / Ctrl-D abort (exit 130). */
export async function choose<T>(io: Io, question: string, choices: Choice<T>[], defaultIndex = 0): Promise<T> {
  if (choices.length === 0) throw new CliError(`${question}: nothing to choose from`, EXIT.failure);
  const rl = openReadline(io);
  try {
    io.output.write(`${question}\n${formatChoices(choices, true)}\n`);
    for (;;) {
      const answer = await new Promise<string | undefined>((resolve) => {
        const onClose = () => resolve(undefined);
        rl.once('close', onClose);
        rl.once('SIGINT', () => rl.close());
        rl.question(`choose 1-${choices.length} [${defaultIndex + 1}]: `, (a) => {
          rl.off('close', onClose);
          resolve(a);
        });
      });
      if (answer === undefined) throw new CliError('cancelled', EXIT.interrupted);
      const a = answer.trim();
      if (a === '') return choices[defaultIndex].value;
      const n = Number(a);
      if (Number.isInteger(n) && n >= 1 && n <= choices.length) return choices[n - 1].value;
      const byName = choices.find((c) => c.name.toLowerCase() === a.toLowerCase());
      if (byName) return byName.value;
      io.output.write(`  "${a}" is not a choice; type a number from 1 to ${choices.length} or a name\n`);
    }
  } finally {
    rl.close();
  }
}

/**
 * A choice the user did not give: asked on a terminal, otherwise a usage error naming the flag and listing choices.
 */
export async function requireChoice<T>(
  io: Io,
  flag: string,
  question: string,
  choices: Choice<T>[],
  hint = ''
): Promise<T> {
  if (io.interactive && choices.length > 0) return choose(io, question, choices);
  const list = choices.length ? `; choose one of:\n${formatChoices(choices)}` : '';
  throw new CliError(
    `${flag} is required${io.interactive ? '' : ' (not asking: stdin/stdout is not a terminal)'}${list}${hint ? `\n${hint}` : ''}`
  );
}

/** What an empty line and the end keys do in the prompt loop; the banner, --help and the README say exactly this. */
export const PROMPT_KEYS = 'an empty line is skipped; q, exit or Ctrl-D ends';

/**
 * The lines of a stream, asked for one at a time. Lines typed ahead wait their turn, and an end of input (Ctrl-D)
 * typed while the caller was busy ends the reading only after every line before it was read: nothing typed is lost.
 */
export class LineReader {
  private readonly rl: readline.Interface;
  private readonly queue: string[] = [];
  private waiting?: (line: string | undefined) => void;
  private closed = false;

  constructor(io: Io) {
    this.rl = openReadline(io);
    this.rl.on('line', (line) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(line);
      else this.queue.push(line);
    });
    this.rl.on('close', () => {
      this.closed = true;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(undefined);
    });
    this.rl.on('SIGINT', () => this.rl.close());
  }

  /** The next line, showing `prompt` when none is waiting; undefined once the input has ended. */
  ask(prompt: string): Promise<string | undefined> {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.resolve(undefined);
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    return new Promise((resolve) => (this.waiting = resolve));
  }

  close(): void {
    this.rl.close();
  }
}

/** Reads lines until Ctrl-D, q, exit or quit; `handle` runs for each non-empty line (an empty one is skipped). */
export async function promptLoop(
  io: Io,
  prompt: string,
  handle: (line: string, reader: LineReader) => Promise<void>
): Promise<void> {
  const reader = new LineReader(io);
  try {
    for (;;) {
      const raw = await reader.ask(prompt);
      if (raw === undefined) break;
      const line = raw.trim();
      if (/^(q|exit|quit)$/i.test(line)) break;
      if (line) await handle(line, reader);
    }
  } finally {
    reader.close();
  }
}

/** Every non-empty line of a stream (stdin when it is piped). */
export async function readAllLines(input: NodeJS.ReadableStream): Promise<string[]> {
  const rl = readline.createInterface({ input, terminal: false });
  const out: string[] = [];
  for await (const line of rl) if (line.trim()) out.push(line.replace(/\r$/, ''));
  return out;
}
