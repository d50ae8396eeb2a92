// `qwen3-native train`: fine-tune with the Trainer, show its progress, stop cleanly on Ctrl-C, test at the end.
import * as fs from 'fs';
import * as path from 'path';
import { needsFloat32, type Method } from '../classifier/methods';
import { existingCheckpoint, isRunFolder } from '../classifier/run-folder';
import type { TrainerOptions } from '../classifier/trainer-options';
import { PACKAGE_ROOT } from '../util/paths';
import { Flags } from './args';
import { commonSettings, err, existingFile, noPositionals, out, type CommonSettings } from './common';
import { CliError, EXIT, flagError } from './errors';
import { evaluateRuns } from './eval';
import { defaultIo, type Io } from './prompt';
import { chooseRuns, chooseTrainTarget, defaultRunFolder, tinyNote } from './select';
import { attachTrainView, clearProgressLine } from './train-view';

export const SAMPLE_TRAIN = path.join(PACKAGE_ROOT, 'data', 'weibo_sample.txt');

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

interface TrainSettings {
  common: CommonSettings;
  train?: string;
  test?: string;
  output?: string;
  evalOnly: boolean;
  options: Omit<TrainerOptions, 'method'>;
  loraGiven: string[];
}

function readSettings(flags: Flags): TrainSettings {
  const common = commonSettings(flags, 'train');
  let output = flags.string('output');
  const modelPath = flags.string('model-path');
  // --model_path naming a trained run: the run to resume or evaluate.
  if (modelPath !== undefined && output === undefined && isRunFolder(path.resolve(modelPath))) output = modelPath;
  const lora: NonNullable<TrainerOptions['lora']> = {};
  const r = flags.positiveInt('lora-r');
  const alpha = flags.positiveNumber('lora-alpha');
  if (r !== undefined) lora.r = r;
  if (alpha !== undefined) lora.alpha = alpha;
  const options: Omit<TrainerOptions, 'method'> = {
    epochs: flags.positiveInt('epochs'),
    batchSize: flags.positiveInt('batch-size'),
    learningRate: flags.positiveNumber('learning-rate'),
    maxSamples: flags.positiveInt('max-samples'),
    maxLength: flags.positiveInt('max-length'),
    gradientAccumulation: flags.positiveInt('gradient-accumulation'),
    gradientCheckpointing: flags.bool('gradient-checkpointing') || undefined,
    seed: flags.nonNegativeInt('seed'),
    device: common.device,
    dtype: common.dtype,
    resume: flags.bool('resume') || undefined,
    offline: common.offline,
    lora: Object.keys(lora).length ? lora : undefined,
  };
  for (const k of Object.keys(options) as (keyof typeof options)[]) if (options[k] === undefined) delete options[k];
  return {
    common,
    train: existingFile(flags, 'train'),
    test: existingFile(flags, 'test'),
    output,
    evalOnly: flags.bool('eval-only'),
    options,
    loraGiven: ['lora-r', 'lora-alpha'].filter((f) => flags.has(f)).map((f) => flags.spelling(f)),
  };
}

async function evalOnly(s: TrainSettings, flags: Flags, io: Io): Promise<number> {
  if (!s.test) throw new CliError('--eval-only needs --test <labelled file> to evaluate on');
  const c = s.common;
  let checkpoint = c.checkpoint ?? s.output;
  if (!checkpoint && c.method && (c.size || c.model)) checkpoint = defaultRunFolder(c.method, c.size, c.model);
  const runs = await chooseRuns(io, {
    checkpoint,
    checkpointFlag: c.checkpoint ? c.checkpointFlag : s.output ? flags.spelling('output') : undefined,
    method: c.method,
    size: c.size,
    modelsDir: path.resolve('models'),
  });
  await evaluateRuns({ runs, test: s.test, settings: c });
  return EXIT.ok;
}

export async function runTrain(
  flags: Flags,
  positionals: string[],
  argv: readonly string[],
  io: Io = defaultIo()
): Promise<number> {
  noPositionals(positionals, 'train');
  const s = readSettings(flags);
  if (s.evalOnly) return evalOnly(s, flags, io);
  const c = s.common;
  const { method, size } = await chooseTrainTarget(io, c);
  if (needsFloat32(method) && c.dtype !== undefined && c.dtype !== 'auto' && c.dtype !== 'float32') {
    throw flagError(
      flags.spelling('dtype'),
      `float32 or auto (method ${method} trains every weight in float32)`,
      c.dtype
    );
  }
  const output = path.resolve(s.output ?? defaultRunFolder(method, size, c.model));
  const trainFile = s.train ?? SAMPLE_TRAIN;
  const say = err;
  if (!s.train) {
    if (!fs.existsSync(SAMPLE_TRAIN))
      throw new CliError(`--train is required (the bundled sample ${SAMPLE_TRAIN} is missing)`);
    say(
      `--train not given: training on the bundled sample ${SAMPLE_TRAIN} (short posts written for demos and smoke tests; pass --train <file> for real training, e.g. node scripts/fetch-data.js downloads weibo_senti_100k)`
    );
  }
  const note = tinyNote(c.model, method);
  if (note) say(note);
  if (s.loraGiven.length && method !== 'lora' && method !== 'lora-head')
    say(`note: ${s.loraGiven.join(', ')} only apply to lora and lora-head; ignored for ${method}`);
  if (!s.options.resume && existingCheckpoint(output))
    say(
      `note: ${output} holds a checkpoint of an earlier run; training from scratch replaces it (--resume continues it)`
    );

  const options: TrainerOptions = { method: method as Method, ...s.options, output };
  if (size) options.modelSize = size;
  if (c.model) options.model = c.model;
  const { Trainer } = await import('../classifier/trainer');
  let trainer: InstanceType<typeof Trainer>;
  try {
    trainer = new Trainer(options);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  say(`training ${method} on ${trainer.options.model} -> ${output}`);
  const view = attachTrainView(trainer, c.json);

  // Ctrl-C once: stop after this step and save a checkpoint. Twice (or before training began): quit now.
  let interrupts = 0;
  const resumeCommand = buildResumeCommand(argv, {
    method: c.method ? undefined : method,
    size: c.size || c.model ? undefined : size,
  });
  const onSigint = () => {
    interrupts++;
    clearProgressLine();
    if (view.steps === 0) {
      err('\ninterrupted before the first training step: nothing to save (an interrupted download resumes next time)');
      process.exit(EXIT.interrupted);
    }
    if (interrupts === 1) {
      err('\nCtrl-C: stopping after the current step and saving a checkpoint (press Ctrl-C again to quit at once)');
      trainer.stop();
    } else {
      err('second Ctrl-C: quitting without saving this step');
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSigint);
  let result: Awaited<ReturnType<typeof trainer.train>>;
  try {
    result = await trainer.train(trainFile);
  } finally {
    process.off('SIGINT', onSigint);
  }
  clearProgressLine();

  if (result.stopped) {
    const message = `stopped at step ${result.steps} of ${view.totalSteps}; checkpoint saved in ${path.join(output, 'checkpoint')}. Continue with:\n  ${resumeCommand}`;
    if (c.json)
      out(
        JSON.stringify({
          event: 'stopped',
          steps: result.steps,
          totalSteps: view.totalSteps,
          checkpoint: path.join(output, 'checkpoint'),
          resume: resumeCommand,
        })
      );
    err(message);
    return EXIT.interrupted;
  }
  if (!c.json) {
    const best = result.best;
    out(
      best
        ? `best dev ${best.metric} ${(best.value * 100).toFixed(2)}% (epoch ${best.epoch}, step ${best.step}); run saved in ${output}`
        : `run saved in ${output}`
    );
  }
  if (s.test) {
    if (!c.json) out(`\ntest set: the best model on ${s.test}`);
    await evaluateRuns({
      runs: [output],
      test: s.test,
      settings: c,
      batchSize: s.options.batchSize,
      jsonEvent: 'test',
      tinyNoted: note !== undefined,
    });
  }
  if (!c.json)
    out(
      `\nclassify posts with:\n  qwen3-native predict --checkpoint ${shellQuote(path.relative(process.cwd(), output) || '.')} --text '今天天气真好'`
    );
  return EXIT.ok;
}

/** The command line that continues this run: the same arguments plus --resume (and any choice that was asked). */
function buildResumeCommand(argv: readonly string[], asked: { method?: string; size?: string }): string {
  const args = [...argv];
  if (asked.method) args.push('--method', asked.method);
  if (asked.size) args.push('--model-size', asked.size);
  if (!args.includes('--resume')) args.push('--resume');
  return ['qwen3-native', 'train', ...args].map(shellQuote).join(' ');
}
