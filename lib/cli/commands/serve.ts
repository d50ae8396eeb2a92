// `qwen3-native serve`: reads the flags, picks the runs, and hands over to lib/serve (which listens, batches and
// stops on SIGTERM/SIGINT). Exit 0 after a graceful stop, 1 when a model fails to load, 2 for bad flags.
import * as path from 'path';
import { findRuns } from '../../runs/lookup';
import { DTYPE_OPTIONS } from '../../qwen3/runtime';
import { API_KEY_ENV, LOG_FORMATS, ServeOptionsError, type ServeOptions } from '../../serve/options';
import { startServer, stopOnSignals } from '../../serve/server';
import { displayPath } from '../../util/paths';
import { Flags } from '../args';
import { loadAllRuns } from '../runs';
import { deviceFlag, noPositionals } from '../common';
import { CliError, EXIT, flagError } from '../errors';
import { defaultIo } from '../prompt';
import { chooseRuns, readRun, runChoices } from '../select';

/** maxTexts -> --max-texts; the option names of ServeOptions are the flags in camelCase. */
function flagFor(option: string): string {
  if (option === 'checkpoints') return '--checkpoint';
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

async function servedRuns(flags: Flags): Promise<string[]> {
  const given = flags.list('checkpoint');
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');
  if (flags.bool('load-all')) return loadAllRuns(flags);
  if (given.length === 0) {
    const found = findRuns(modelsDir).map(readRun);
    throw new CliError(
      'serve needs the run(s) to serve: --checkpoint <run folder> (repeatable) or --load-all' +
        (found.length
          ? `; trained runs under ${displayPath(modelsDir)}:\n${runChoices(found)
              .map((c) => `  ${c.name}  ${c.detail}`)
              .join('\n')}`
          : '')
    );
  }
  const runs: string[] = [];
  for (const run of given) {
    runs.push(...(await chooseRuns(defaultIo(), { run, runFlag: flags.spelling('checkpoint'), modelsDir })));
  }
  return runs;
}

function port(flags: Flags): number | undefined {
  const p = flags.nonNegativeInt('port');
  if (p !== undefined && p > 65535) throw flagError(flags.spelling('port'), 'a port number from 0 to 65535', String(p));
  return p;
}

export async function runServe(flags: Flags, positionals: string[]): Promise<number> {
  noPositionals(positionals, 'serve');
  const options: ServeOptions = {
    checkpoints: await servedRuns(flags),
    model: flags.string('model'),
    device: deviceFlag(flags),
    dtype: flags.oneOf('dtype', DTYPE_OPTIONS),
    offline: flags.bool('offline') || undefined,
    host: flags.string('host'),
    port: port(flags),
    maxBatchSize: flags.positiveInt('max-batch-size'),
    maxWaitMs: flags.nonNegativeInt('max-wait-ms'),
    queueLimit: flags.positiveInt('queue-limit'),
    maxTexts: flags.positiveInt('max-texts'),
    maxTextLength: flags.positiveInt('max-text-length'),
    maxExplainTexts: flags.positiveInt('max-explain-texts'),
    explainBudgetMs: flags.positiveInt('explain-budget-ms'),
    bodyLimit: flags.positiveInt('body-limit'),
    requestTimeoutMs: flags.positiveInt('request-timeout-ms'),
    maxConnections: flags.positiveInt('max-connections'),
    stopGraceMs: flags.nonNegativeInt('stop-grace-ms'),
    apiKey: flags.string('api-key') ?? (process.env[API_KEY_ENV] || undefined),
    logFormat: flags.oneOf('log-format', LOG_FORMATS),
    threads: flags.positiveInt('threads'),
  };
  let server;
  try {
    server = await startServer(options, { optionName: flagFor });
  } catch (e) {
    if (e instanceof ServeOptionsError) throw new CliError(e.problems.join('\n'));
    throw e;
  }
  const removeHandlers = stopOnSignals(server);
  const error = await server.closed;
  removeHandlers();
  if (error) throw error;
  return EXIT.ok;
}
