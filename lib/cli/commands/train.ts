// `qwen3-native train`: fine-tune with the Trainer, show its progress, stop cleanly on Ctrl-C (and on SIGTERM or
// SIGHUP, as docker stop, systemd and Kubernetes send), test at the end.
import * as fs from 'fs';
import * as path from 'path';
import { needsFloat32, type Method } from '../../classifier/methods';
import { isRunFolder } from '../../runs/folder';
import { writeTestResults } from '../../runs/results';
import type { LabelledTexts } from '../../train/data';
import type { TrainerOptions } from '../../train/options';
import { displayPath, PACKAGE_ROOT } from '../../util/paths';
import { Flags } from '../args';
import { dieWithLauncher, LAUNCHER_FLAGS_ENV, launchSettings, launchWorkers } from './launch';
import { commonSettings, err, existingFile, noPositionals, out, SAMPLE_FILES, type CommonSettings } from '../common';
import { CliError, EXIT, flagError, SIGNAL_EXIT } from '../errors';
import { evaluateRuns } from './eval';
import { oldDefaultData, trainModelPath } from '../legacy';
import { defaultIo, type Io } from '../prompt';
import { parseLabelsFlag } from '../../classifier/labels';
import { chooseRuns, chooseTrainTarget, defaultRunFolder, tinyNote } from '../select';
import { attachTrainView, clearProgressLine } from './train-view';
import { LORA_FLAGS, readTrainerFlags } from '../trainer-flags';

const SAMPLE_TRAIN = SAMPLE_FILES.train;

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
  notes: string[];
}

function readSettings(flags: Flags): TrainSettings {
  const common = commonSettings(flags, 'train');
  let output = flags.string('output');
  const notes: string[] = [];
  const modelPath = flags.string('model-path');
  if (modelPath !== undefined) {
    const meaning = trainModelPath(modelPath, { output: output !== undefined, model: common.model !== undefined });
    output ??= meaning.output;
    common.model ??= meaning.model;
    if (meaning.note) notes.push(meaning.note);
  }
  const trainerFlags = readTrainerFlags(flags);
  const lora: NonNullable<TrainerOptions['lora']> = { ...trainerFlags.lora };
  const r = flags.positiveInt('lora-r');
  const alpha = flags.positiveNumber('lora-alpha');
  if (r !== undefined) lora.r = r;
  if (alpha !== undefined) lora.alpha = alpha;
  const labelsFlag = flags.string('labels');
  let labels: string[] | undefined;
  try {
    labels = labelsFlag === undefined ? undefined : parseLabelsFlag(labelsFlag);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const options: Omit<TrainerOptions, 'method'> = {
    labels,
    epochs: flags.positiveInt('epochs'),
    batchSize: flags.positiveInt('batch-size'),
    learningRate: flags.positiveNumber('learning-rate'),
    maxSamples: flags.positiveInt('max-samples'),
    maxLength: flags.positiveInt('max-length'),
    gradientAccumulation: flags.positiveInt('gradient-accumulation'),
    gradientCheckpointing: flags.bool('gradient-checkpointing') || undefined,
    evalSteps: flags.positiveInt('eval-steps'),
    saveSteps: flags.positiveInt('save-steps'),
    saveTotalLimit: flags.positiveInt('save-total-limit'),
    keepCheckpoint: flags.bool('keep-checkpoint') || undefined,
    seed: flags.nonNegativeInt('seed'),
    device: common.device,
    dtype: common.dtype,
    resume: flags.bool('resume') || undefined,
    offline: common.offline,
    ...trainerFlags,
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
    loraGiven: ['lora-r', 'lora-alpha', ...LORA_FLAGS].filter((f) => flags.has(f)).map((f) => flags.spelling(f)),
    notes,
  };
}

async function evalOnly(s: TrainSettings, flags: Flags, io: Io): Promise<number> {
  if (!s.test) throw new CliError('--eval-only needs --test <labelled file> to evaluate on');
  const c = s.common;
  let run = c.run ?? s.output;
  if (!run && c.method && (c.size || c.model)) run = defaultRunFolder(c.method, c.size, c.model);
  const runs = await chooseRuns(io, {
    run,
    runFlag: c.run ? c.runFlag : s.output ? flags.spelling('output') : undefined,
    method: c.method,
    size: c.size,
    modelsDir: path.resolve('models'),
  });
  await evaluateRuns({ runs, test: s.test, settings: c });
  return EXIT.ok;
}

/** The training and test data: the flags, else the old scripts' layout (with a note), else the bundled sample. */
async function chooseData(s: TrainSettings): Promise<{ train: string | LabelledTexts; test?: string | LabelledTexts }> {
  if (s.train) return { train: s.train, test: s.test };
  const old = await oldDefaultData(s.test !== undefined);
  if (old) {
    for (const note of old.notes) err(note);
    return { train: old.train, test: s.test ?? old.test };
  }
  if (!fs.existsSync(SAMPLE_TRAIN))
    throw new CliError(`--train is required (the bundled sample ${SAMPLE_TRAIN} is missing)`);
  err(
    `--train not given: training on the bundled sample ${SAMPLE_TRAIN} (short posts written for demos and smoke tests; pass --train <file> for real training, e.g. node ${displayPath(path.join(PACKAGE_ROOT, 'scripts', 'fetch-data.js'))} downloads weibo_senti_100k)`
  );
  return { train: SAMPLE_TRAIN, test: s.test };
}

export async function runTrain(
  flags: Flags,
  positionals: string[],
  argv: readonly string[],
  io: Io = defaultIo()
): Promise<number> {
  noPositionals(positionals, 'train');
  const launch = launchSettings(flags);
  if (launch) return launchWorkers(launch, argv);
  dieWithLauncher();
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
  const say = err;
  for (const note of s.notes) say(note);
  const data = await chooseData(s);
  const note = tinyNote(c.model, method);
  if (note) say(note);
  if (s.loraGiven.length && method !== 'lora' && method !== 'lora-head')
    say(`note: ${s.loraGiven.join(', ')} only apply to lora and lora-head; ignored for ${method}`);
  const hadRun = isRunFolder(output);
  if (!s.options.resume && hadRun)
    say(`note: ${output} holds a finished run: it stays as it is until this run finishes, then this run replaces it`);

  const options: TrainerOptions = { method: method as Method, ...s.options, output };
  if (size) options.modelSize = size;
  if (c.model) options.model = c.model;
  const { Trainer } = await import('../../train/trainer');
  let trainer: InstanceType<typeof Trainer>;
  try {
    trainer = new Trainer(options);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  say(`training ${method} on ${trainer.options.model} -> ${output}`);
  const view = attachTrainView(trainer, c.json);

  // The first Ctrl-C, SIGTERM or SIGHUP: stop after this step and save a checkpoint. A second one (or one before
  // training began): quit now. Either way the exit code is 128 + the first signal's number.
  let first: keyof typeof SIGNAL_EXIT | undefined;
  // A worker of `--nproc-per-node`: the command to continue is the launcher's.
  const launcherFlags = JSON.parse(process.env[LAUNCHER_FLAGS_ENV] || '[]') as string[];
  const resumeCommand = buildResumeCommand([...launcherFlags, ...argv], {
    method: c.method ? undefined : method,
    size: c.size || c.model ? undefined : size,
  });
  const signals = Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[];
  // Quitting at once while the native thread works: process.exit() would run libtorch's static destructors under
  // that thread (measured: SIGSEGV). The signal's default action ends the process as a shell expects (exit status
  // 128 + its number) without them; the run folder is then as after a kill -9: the finished run whole, the work
  // folder resumable.
  const quitNow = (signal: keyof typeof SIGNAL_EXIT) => {
    for (const s of signals) process.off(s, onSignal);
    process.kill(process.pid, signal);
  };
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
    clearProgressLine();
    const what = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    // A data-parallel worker stops with the others (rank 0 shows the steps; the others see none).
    if (view.steps === 0 && !trainer.options.distributed) {
      err(
        `\n${what}: interrupted before the first training step: nothing to save (an interrupted download resumes next time)`
      );
      quitNow(signal);
    } else if (!first) {
      first = signal;
      err(`\n${what}: stopping after the current step and saving a checkpoint (press Ctrl-C again to quit at once)`);
      trainer.stop();
    } else {
      err(`${what} again: quitting without saving this step (${output} is as it was)`);
      quitNow(first);
    }
  };
  for (const signal of signals) process.on(signal, onSignal);
  let result: Awaited<ReturnType<typeof trainer.train>>;
  try {
    result = await trainer.train(data.train);
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
  clearProgressLine();
  // Data-parallel: rank 0 reports the run and evaluates the test set; the others only trained.
  if ((trainer.options.distributed?.rank ?? 0) !== 0) return result.stopped && first ? SIGNAL_EXIT[first] : EXIT.ok;

  if (result.stopped) {
    const kept = hadRun
      ? `${output} still holds the earlier finished run`
      : `${output} is written when the run finishes`;
    const message = `stopped at step ${result.steps} of ${view.totalSteps}; checkpoint saved in ${result.checkpoint}; ${kept}. Continue with:\n  ${resumeCommand}`;
    if (c.json)
      out(
        JSON.stringify({
          event: 'stopped',
          steps: result.steps,
          totalSteps: view.totalSteps,
          checkpoint: result.checkpoint,
          resume: resumeCommand,
        })
      );
    err(message);
    return first ? SIGNAL_EXIT[first] : EXIT.interrupted;
  }
  if (!c.json) {
    const best = result.best;
    out(
      best
        ? `best dev ${best.metric} ${(best.value * 100).toFixed(2)}% (epoch ${best.epoch}, step ${best.step}); run saved in ${output}`
        : `run saved in ${output}`
    );
  }
  if (data.test) {
    const name = typeof data.test === 'string' ? data.test : (data.test.source ?? 'the test split');
    if (!c.json) out(`\ntest set: the best model on ${name}`);
    const [tested] = await evaluateRuns({
      runs: [output],
      test: name,
      testData: typeof data.test === 'string' ? undefined : data.test,
      settings: c,
      batchSize: s.options.batchSize,
      jsonEvent: 'test',
      tinyNoted: note !== undefined,
    });
    // The result stays with the run: report, info, serve's /v1/models and the model card show it.
    writeTestResults(output, { data: tested.data, metrics: tested.metrics });
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
