#!/usr/bin/env node
// qwen3-native: the command-line interface. Parses flags, runs one command, and ends with one clear message on
// error (exit 1, or 2 for bad usage); stack traces only with QWEN3_NATIVE_DEBUG=1. Model logic lives in the API
// (Trainer, Predictor, metrics); this layer only asks, calls and prints.
import { Flags, parseCommandLine } from './args';
import type { Command } from './flags';
import { packageVersion } from '../util/paths';
import { EXIT, exitCodeFor, formatError } from './errors';
import { heldBackForLauncher, PEER_FAILURE_GRACE_MS } from './commands/launch';
import { commandHelp, mainHelp } from './help';
import { streams, withStreams, type CliStreams } from './io';

/**
 * Runs one command and returns its exit code; an error ends as one message on stderr (exit 1, or 2 for bad usage).
 * `io` replaces the process's streams for this command (in-process use; one command at a time).
 */
export async function main(argv: readonly string[], io?: Partial<CliStreams>): Promise<number> {
  return withStreams(io, async () => {
    try {
      return await dispatch(argv);
    } catch (error) {
      // A collective that failed because a peer died: the launcher's message naming the dead rank comes first.
      if (heldBackForLauncher(error)) await new Promise((resolve) => setTimeout(resolve, PEER_FAILURE_GRACE_MS));
      fail(error);
      return exitCodeFor(error);
    }
  });
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.version && !parsed.command) {
    streams().stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (!parsed.command) {
    if (parsed.help) {
      streams().stdout.write(mainHelp(packageVersion()));
      return EXIT.ok;
    }
    streams().stderr.write(mainHelp(packageVersion()));
    return EXIT.usage;
  }
  const command: Command = parsed.command;
  const flags = new Flags(parsed);
  if (parsed.help || flags.bool('help')) {
    streams().stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  // Commands load lazily so --help and flag errors never load the native addon.
  const rest = argv.slice(argv.indexOf(command) + 1);
  switch (command) {
    case 'train':
      return (await import('./commands/train')).runTrain(flags, parsed.positionals, rest);
    case 'predict':
      return (await import('./commands/predict')).runPredict(flags, parsed.positionals);
    case 'eval':
      return (await import('./commands/eval')).runEval(flags, parsed.positionals);
    case 'serve':
      return (await import('./commands/serve')).runServe(flags, parsed.positionals);
    case 'compare':
      return (await import('./commands/compare')).runCompareCommand(flags, parsed.positionals);
    case 'report':
      return (await import('./commands/report')).runReportCommand(flags, parsed.positionals);
    case 'info':
      return (await import('./commands/info')).runInfo(flags);
    case 'build':
      return (await import('./commands/build')).runBuild(flags);
  }
}

function fail(error: unknown): void {
  const stderr = streams().stderr;
  try {
    // Leave a progress bar's half-drawn line behind a fresh line.
    if (stderr.isTTY) stderr.write('\r\x1b[K');
  } catch {
    // ignore
  }
  stderr.write(`${formatError(error)}\n`);
}

if (require.main === module) {
  process.on('unhandledRejection', (reason) => {
    fail(reason);
    process.exit(exitCodeFor(reason));
  });
  // A closed stdout (e.g. `| head`) is not an error worth a message.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
  });
  // A closed terminal (SIGHUP: training then stops after its step and saves) must not end it early by a failed write.
  process.stderr.on('error', () => undefined);
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
