// Flag groups the commands share and helpers for running Predictor over many texts with a progress bar.
import * as fs from 'fs';
import * as path from 'path';
import { METHODS, type Method } from '../classifier/methods';
import type { Prediction, Predictor } from '../predict/predictor';
import { isPickledFile, isRunFolder } from '../runs/folder';
import { DEVICE_OPTIONS, DTYPE_OPTIONS, parseDevice, type DeviceOption, type DTypeOption } from '../qwen3/runtime';
import { MODEL_SIZES, type ModelSize } from '../qwen3/presets';
import { createProgress } from '../util/progress';
import { PACKAGE_ROOT } from '../util/paths';
import { Flags } from './args';
import { METHOD_ALIASES } from './flags';
import { CliError, flagError } from './errors';
import { streams } from './io';

export interface CommonSettings {
  method?: Method;
  size?: ModelSize;
  model?: string;
  /** a trained run folder (--checkpoint, or the old --model_path naming one), and the flag's spelling */
  run?: string;
  runFlag?: string;
  device?: DeviceOption;
  dtype?: DTypeOption;
  offline?: boolean;
  json: boolean;
}

/**
 * Flags every command reads. For predict and eval, --model_path (old) means --checkpoint when it names a trained run
 * (a run folder, a PEFT adapter, an old pickled head), else --model; train reads it itself (legacy.ts).
 */
export function commonSettings(flags: Flags, command: 'train' | 'predict' | 'eval'): CommonSettings {
  const s: CommonSettings = {
    method: flags.oneOf('method', METHODS, METHOD_ALIASES),
    size: flags.oneOf('model-size', MODEL_SIZES, { '0.6': '0.6B', '4': '4B', '8': '8B' }),
    model: flags.string('model'),
    run: command === 'train' && !flags.bool('eval-only') ? undefined : flags.string('checkpoint'),
    runFlag: flags.has('checkpoint') ? flags.spelling('checkpoint') : undefined,
    device: deviceFlag(flags),
    dtype: flags.oneOf('dtype', DTYPE_OPTIONS),
    offline: flags.bool('offline') || undefined,
    json: flags.bool('json'),
  };
  if (command === 'train' && flags.has('checkpoint') && !flags.bool('eval-only')) {
    throw new CliError(
      `${flags.spelling('checkpoint')} goes with --eval-only; to continue a run use --output <dir> --resume`
    );
  }
  const modelPath = command === 'train' ? undefined : flags.string('model-path');
  if (modelPath !== undefined) {
    if (isRunFolder(path.resolve(modelPath)) || isPickledFile(modelPath)) {
      if (s.run === undefined && command !== 'train') {
        s.run = modelPath;
        s.runFlag = flags.spelling('model-path');
      }
    } else if (s.model === undefined) {
      s.model = modelPath;
    }
  }
  return s;
}

/** --device: auto, cpu, cuda or cuda:N (case-insensitive, as the other choice flags). */
export function deviceFlag(flags: Flags): DeviceOption | undefined {
  const s = flags.string('device');
  if (s === undefined) return undefined;
  const device = parseDevice(s.trim().toLowerCase());
  if (device === undefined) throw flagError(flags.spelling('device'), `one of ${DEVICE_OPTIONS.join(', ')}`, s);
  return device;
}

/** The word that names the bundled sample posts (data/README.md) for --train and --test, where no file has the name. */
export const SAMPLE = 'sample';
export const SAMPLE_FILES: Readonly<Record<string, string>> = {
  train: path.join(PACKAGE_ROOT, 'data', 'weibo_sample.txt'),
  test: path.join(PACKAGE_ROOT, 'data', 'weibo_sample_test.txt'),
};

/**
 * A file flag: it must exist and be a file. `--train sample` and `--test sample` name the bundled posts, which an
 * installed package keeps under node_modules (a file called `sample` in the working folder wins).
 */
export function existingFile(flags: Flags, flag: string): string | undefined {
  const file = flags.string(flag);
  if (file === undefined) return undefined;
  if (file === SAMPLE && SAMPLE_FILES[flag] && !fs.existsSync(file)) return SAMPLE_FILES[flag];
  if (!fs.existsSync(file)) throw flagError(flags.spelling(flag), 'an existing file', file);
  if (!fs.statSync(file).isFile()) throw flagError(flags.spelling(flag), 'a file (not a folder)', file);
  return file;
}

/** Rejects extra positional arguments (commands other than predict take none). */
export function noPositionals(positionals: string[], command: string): void {
  if (positionals.length) {
    throw new CliError(
      `unexpected argument ${JSON.stringify(positionals[0])} for \`${command}\` (flags start with --; see qwen3-native ${command} --help)`
    );
  }
}

const CHUNK = 256;

/**
 * predictor.predict over `texts` in chunks so a progress bar can move (the Predictor batches each chunk itself).
 * The bar is shown only for more than one chunk's worth.
 */
export async function predictAll(
  predictor: Predictor,
  texts: string[],
  label: string,
  showProgress: boolean
): Promise<Prediction[]> {
  if (texts.length <= CHUNK || !showProgress) return predictor.predict(texts);
  const progress = createProgress({ total: texts.length, label, stream: streams().stderr });
  const out: Prediction[] = [];
  for (let i = 0; i < texts.length; i += CHUNK) {
    out.push(...(await predictor.predict(texts.slice(i, i + CHUNK))));
    progress.update(out.length);
  }
  progress.done();
  return out;
}

/** Writes a line to stdout (results) or stderr (logs, notes). */
export const out = (text: string): void => void streams().stdout.write(`${text}\n`);
export const err = (text: string): void => void streams().stderr.write(`${text}\n`);
