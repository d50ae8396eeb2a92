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

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.version && !parsed.command) {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (!parsed.command) {
    if (parsed.help) {
      process.stdout.write(mainHelp(packageVersion()));
      return EXIT.ok;
    }
    process.stderr.write(mainHelp(packageVersion()));
    return EXIT.usage;
  }
  const command: Command = parsed.command;
  const flags = new Flags(parsed);
  if (parsed.help || flags.bool('help')) {
    process.stdout.write(commandHelp(command));
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
  try {
    // Leave a progress bar's half-drawn line behind a fresh line.
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  } catch {
    // ignore
  }
  process.stderr.write(`${formatError(error)}\n`);
  process.exitCode = exitCodeFor(error);
}

if (require.main === module) {
  process.on('unhandledRejection', (reason) => {
    fail(reason);
    process.exit(process.exitCode ?? EXIT.failure);
  });
  // A closed stdout (e.g. `| head`) is not an error worth a message.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
  });
  // A closed terminal (SIGHUP: training then stops after its step and saves) must not end it early by a failed write.
  process.stderr.on('error', () => undefined);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      if (!heldBackForLauncher(error)) return fail(error);
      setTimeout(() => fail(error), PEER_FAILURE_GRACE_MS);
    }
  );
}
