// Command-line parsing: a thin layer over node:util parseArgs that adds the old Python scripts' spellings
// (--model_size, --batch_size, --model_type, ...), "did you mean" for unknown flags, and one message shape for bad
// values: "--epochs: expected a positive integer but received -1".
import { parseArgs } from 'util';
import { COMMAND_FLAGS, COMMANDS, FLAG_ALIASES, FLAGS, type Command } from './flags';
import { CliError, flagError } from './errors';

export type FlagValue = string | boolean | string[];

export interface ParsedArgs {
  command?: Command;
  values: Record<string, FlagValue>;
  positionals: string[];
  /** canonical flag -> the spelling the user typed (for messages) */
  spelled: Record<string, string>;
  /** top-level --help / --version */
  help: boolean;
  version: boolean;
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The candidate closest to `word` (ties: the first). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c) - (c.startsWith(word) || word.startsWith(c) ? 0.5 : 0);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function unknownFlag(typed: string, command: Command | undefined): CliError {
  const name = typed.replace(/^-+/, '').replace(/_/g, '-');
  const valid = command ? COMMAND_FLAGS[command].filter((f) => !FLAGS[f].hidden) : ['help', 'version'];
  const suggestion = closest(name, valid);
  const elsewhere = COMMANDS.filter((c) => c !== command && COMMAND_FLAGS[c].includes(name));
  const where = command ? `\`${command}\`` : 'qwen3-native (before a command)';
  let message = `unknown flag ${typed} for ${where}`;
  if (elsewhere.length && command) message += `; ${typed} belongs to \`${elsewhere.join('`, `')}\``;
  if (suggestion) message += `; did you mean --${suggestion}?`;
  message += ` (see qwen3-native ${command ? `${command} ` : ''}--help)`;
  return new CliError(message);
}

/** The canonical flag for a typed name, or undefined. */
function canonicalFlag(name: string, command: Command): string | undefined {
  const dashed = name.replace(/_/g, '-');
  const flag = FLAG_ALIASES[dashed] ?? dashed;
  return COMMAND_FLAGS[command].includes(flag) ? flag : undefined;
}

const TRUE_WORDS = /^(1|true|yes|on)$/i;
const FALSE_WORDS = /^(0|false|no|off)$/i;

/** Parses argv (without node and the script). Throws CliError (exit 2) for anything malformed. */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const result: ParsedArgs = { values: {}, positionals: [], spelled: {}, help: false, version: false };
  let i = 0;
  // top-level flags before the command
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') result.help = true;
    else if (a === '--version' || a === '-v' || a === '-V') result.version = true;
    else if (a === '--') {
      i++;
      break;
    } else throw unknownFlag(a.split('=')[0], undefined);
  }
  if (i >= argv.length) return result;
  const word = argv[i++];
  if (!(COMMANDS as readonly string[]).includes(word)) {
    const suggestion = closest(word, COMMANDS);
    throw new CliError(
      `unknown command ${JSON.stringify(word)}; the commands are ${COMMANDS.join(', ')}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`
    );
  }
  const command = word as Command;
  result.command = command;

  // Rewrite every flag to --canonical=value so parseArgs sees no alias and no ambiguous value ("--epochs -1").
  const tokens: string[] = [];
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      tokens.push(...argv.slice(i));
      break;
    }
    if (a === '-h') {
      tokens.push('--help');
      continue;
    }
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      tokens.push(a);
      continue;
    }
    if (!a.startsWith('--')) throw unknownFlag(a, command);
    const eq = a.indexOf('=');
    const typed = eq >= 0 ? a.slice(0, eq) : a;
    const flag = canonicalFlag(typed.slice(2), command);
    if (!flag) throw unknownFlag(typed, command);
    const spec = FLAGS[flag];
    result.spelled[flag] = typed;
    if (spec.kind === 'boolean') {
      if (eq < 0) tokens.push(`--${flag}`);
      else {
        const v = a.slice(eq + 1);
        if (TRUE_WORDS.test(v)) tokens.push(`--${flag}`);
        else if (!FALSE_WORDS.test(v)) throw flagError(typed, 'no value (it is a switch), or true/false', v);
      }
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
    else throw flagError(typed, `a value (${spec.value ?? 'a value'}: ${spec.help})`, undefined);
    tokens.push(`--${flag}=${value}`);
  }

  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const f of COMMAND_FLAGS[command])
    options[f] = FLAGS[f].multiple ? { type: FLAGS[f].kind, multiple: true } : { type: FLAGS[f].kind };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: tokens, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined) continue;
    // A repeated single-value flag: the last one wins, as in most CLIs.
    result.values[k] = v as FlagValue;
  }
  result.positionals = parsed.positionals;
  return result;
}

/** Typed, validated access to parsed flags; every error names the flag as the user spelled it. */
export class Flags {
  constructor(private readonly parsed: ParsedArgs) {}

  spelling(flag: string): string {
    return this.parsed.spelled[flag] ?? `--${flag}`;
  }

  has(flag: string): boolean {
    return this.parsed.values[flag] !== undefined;
  }

  bool(flag: string): boolean {
    return this.parsed.values[flag] === true;
  }

  /** The flag's value; for a repeated flag the last one, as in most CLIs. */
  string(flag: string): string | undefined {
    const given = this.parsed.values[flag];
    const v = Array.isArray(given) ? given[given.length - 1] : given;
    if (v === undefined) return undefined;
    const s = String(v);
    if (s.trim() === '') throw flagError(this.spelling(flag), `a non-empty ${FLAGS[flag].value ?? 'value'}`, s);
    return s;
  }

  list(flag: string): string[] {
    const v = this.parsed.values[flag];
    return Array.isArray(v) ? v : v === undefined ? [] : [String(v)];
  }

  private number(flag: string, what: string, ok: (n: number) => boolean, integer: boolean): number | undefined {
    const s = this.string(flag);
    if (s === undefined) return undefined;
    const text = s.trim();
    const n = integer
      ? /^[+-]?\d+$/.test(text)
        ? Number(text)
        : NaN
      : /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)
        ? Number(text)
        : NaN;
    if (!Number.isFinite(n) || !ok(n) || (integer && !Number.isSafeInteger(n)))
      throw flagError(this.spelling(flag), what, s);
    return n;
  }

  positiveInt(flag: string): number | undefined {
    return this.number(flag, 'a positive integer', (n) => n > 0, true);
  }

  nonNegativeInt(flag: string): number | undefined {
    return this.number(flag, 'a non-negative integer', (n) => n >= 0, true);
  }

  positiveNumber(flag: string): number | undefined {
    return this.number(flag, 'a positive number (e.g. 2e-4)', (n) => n > 0, false);
  }

  /** One of `allowed` (case-insensitive); `aliases` maps other accepted words to an allowed value. */
  oneOf<T extends string>(flag: string, allowed: readonly T[], aliases: Record<string, T> = {}): T | undefined {
    const s = this.string(flag);
    if (s === undefined) return undefined;
    const key = s.trim().toLowerCase().replace(/_/g, '-');
    const hit = allowed.find((a) => a.toLowerCase() === key) ?? aliases[key];
    if (!hit) throw flagError(this.spelling(flag), `one of ${allowed.join(', ')}`, s);
    return hit;
  }
}
