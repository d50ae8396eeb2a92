// `qwen3-native compare`: reads the flags, picks the runs (or the methods to train), shows progress, and hands over to
// lib/compare, which trains, measures and writes the report files.
import { METHODS, type Method } from '../../classifier/methods';
import { CompareOptionsError, type CompareOptions } from '../../compare/options';
import { runCompare } from '../../compare/compare';
import { summaryTable } from '../../compare/report';
import { DTYPE_OPTIONS } from '../../qwen3/runtime';
import { MODEL_SIZES } from '../../qwen3/presets';
import { displayPath } from '../../util/paths';
import { createProgress, type Progress } from '../../util/progress';
import { Flags } from '../args';
import { loadAllRuns } from '../runs';
import { deviceFlag, err, existingFile, noPositionals, out } from '../common';
import { CliError, EXIT, flagError } from '../errors';
import { METHOD_ALIASES } from '../flags';
import { formatTable } from '../table';
import { streams } from '../io';

/** CompareOptions' names as the user typed them. */
function flagFor(flags: Flags): (option: string) => string {
  const names: Record<string, string> = {
    modelSize: 'model-size',
    maxSamples: 'max-samples',
    checkpoints: 'checkpoint',
  };
  return (option) => flags.spelling(names[option] ?? option);
}

function methodsFlag(flags: Flags): Method[] | undefined {
  const text = flags.string('methods');
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean)
    .map((w) => {
      const key = w.toLowerCase().replace(/_/g, '-');
      const m = (METHODS as readonly string[]).includes(key) ? (key as Method) : METHOD_ALIASES[key];
      if (!m) throw flagError(flags.spelling('methods'), `a comma-separated list of ${METHODS.join(', ')}`, text);
      return m;
    });
}

/** --checkpoint (repeatable) or --load-all: existing runs to compare instead of training. */
function existingRuns(flags: Flags): string[] | undefined {
  const given = flags.list('checkpoint');
  if (!flags.bool('load-all')) return given.length ? given : undefined;
  return loadAllRuns(flags);
}

export async function runCompareCommand(flags: Flags, positionals: string[]): Promise<number> {
  noPositionals(positionals, 'compare');
  const options: CompareOptions = {
    test: existingFile(flags, 'test') as string,
    train: existingFile(flags, 'train'),
    methods: methodsFlag(flags),
    modelSize: flags.oneOf('model-size', MODEL_SIZES, { '0.6': '0.6B', '4': '4B', '8': '8B' }),
    model: flags.string('model'),
    checkpoints: existingRuns(flags),
    out: flags.string('out'),
    seed: flags.nonNegativeInt('seed'),
    epochs: flags.positiveInt('epochs'),
    maxSamples: flags.positiveInt('max-samples'),
    wrongPosts: flags.nonNegativeInt('wrong-posts'),
    device: deviceFlag(flags),
    dtype: flags.oneOf('dtype', DTYPE_OPTIONS),
    offline: flags.bool('offline') || undefined,
  };
  for (const k of Object.keys(options) as (keyof CompareOptions)[]) if (options[k] === undefined) delete options[k];
  const json = flags.bool('json');
  let bar: Progress | undefined;
  let result;
  try {
    result = await runCompare(
      options,
      {
        phase: ({ method, phase, index, of }) => {
          bar?.done();
          bar = undefined;
          err(`[${index + 1}/${of}] ${method}: ${phase === 'train' ? 'training' : 'measuring prediction'}`);
        },
        progress: (_method, p) => {
          bar ??= createProgress({ label: 'train', total: p.totalSteps, stream: streams().stderr });
          bar.update(p.step, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`);
        },
        log: (line) => err(`  ${line}`),
      },
      flagFor(flags)
    );
  } catch (e) {
    if (e instanceof CompareOptionsError) throw new CliError(e.problems.join('\n'));
    throw e;
  } finally {
    bar?.done();
  }
  if (json) {
    out(JSON.stringify(result.report));
    return EXIT.ok;
  }
  // One column per method: the summary has more measures than a terminal has columns.
  const t = summaryTable(result.report.results);
  out(
    formatTable(
      ['', ...t.rows.map((r) => r[0])],
      t.header.slice(1).map((h, i) => [h, ...t.rows.map((r) => r[i + 1])]),
      { align: ['left', ...t.rows.map(() => 'right' as const)] }
    )
  );
  out(
    `\nreport: ${displayPath(result.files.html)} (charts), ${displayPath(result.files.markdown)}, ${displayPath(result.files.json)}`
  );
  return EXIT.ok;
}
