// The old Python scripts' conventions (qwen3_lora_universal.py, qwen3_embedding_universal.py, predict_universal.py),
// applied where a command leaves something open and the old layout is there: this package's own layout stays the
// default, and each time an old convention decides something the user gets a one-line note saying so.
import * as path from 'path';
import { loadLabelledFile } from '../classifier/data';
import { isRunFolder } from '../runs/folder';
import { stratifiedHoldout } from '../train/split';
import type { LabelledTexts } from '../train/data';
import { findPreset } from '../qwen3/presets';
import { isTinySpec } from '../qwen3/tiny';
import { displayPath } from '../util/paths';
import { CliError } from './errors';
import { isFile } from '../util/regular-file';

/** base_model.py's data: the CSV first (when present), else the two text files (train.py's --train_path/--test_path). */
export const OLD_DATA = {
  csv: path.join('dataset', 'weibo_senti_100k.csv'),
  train: path.join('dataset', 'train.txt'),
  test: path.join('dataset', 'test.txt'),
};
/** base_model.py: a stratified test split of 5,000 posts (20% when the CSV has 5,000 or fewer), random_state 42. */
export const OLD_TEST_POSTS = 5000;
export const OLD_SMALL_TEST_FRACTION = 0.2;
export const OLD_SPLIT_SEED = 42;

export interface OldData {
  train: string | LabelledTexts;
  test?: string | LabelledTexts;
  notes: string[];
}

/** The old scripts' data when --train is not given and the old layout is in the working directory. */
export async function oldDefaultData(testGiven: boolean): Promise<OldData | undefined> {
  if (isFile(OLD_DATA.csv)) {
    const all = await loadLabelledFile(OLD_DATA.csv);
    const n = all.texts.length;
    const count = n > OLD_TEST_POSTS ? OLD_TEST_POSTS : Math.max(1, Math.round(n * OLD_SMALL_TEST_FRACTION));
    if (n < 2) throw new CliError(`${OLD_DATA.csv} has ${n} post(s): too few to train on`, 1);
    const split = stratifiedHoldout(all.labels, count, OLD_SPLIT_SEED);
    const pick = (indices: number[], part: string): LabelledTexts => ({
      texts: indices.map((i) => all.texts[i]),
      labels: indices.map((i) => all.labels[i]),
      source: `${OLD_DATA.csv} (${part})`,
    });
    const csv = displayPath(path.resolve(OLD_DATA.csv));
    return {
      train: pick(split.train, 'training split'),
      test: testGiven ? undefined : pick(split.test, `test split of ${count}`),
      notes: [
        `note: --train not given: using ${csv} (the old scripts' default): ${split.train.length} posts train` +
          (testGiven
            ? `, ${count} are held out as the old scripts did (a stratified split, seed ${OLD_SPLIT_SEED})`
            : `, a stratified test split of ${count} (seed ${OLD_SPLIT_SEED}) is evaluated at the end`),
      ],
    };
  }
  if (isFile(OLD_DATA.train)) {
    const notes = [
      `note: --train not given: using ${displayPath(path.resolve(OLD_DATA.train))} (the old scripts' default)`,
    ];
    const test = !testGiven && isFile(OLD_DATA.test) ? OLD_DATA.test : undefined;
    if (test) notes.push(`note: --test not given: using ${displayPath(path.resolve(test))} (the old scripts' default)`);
    return { train: OLD_DATA.train, test, notes };
  }
  return undefined;
}

export interface ModelPathMeaning {
  output?: string;
  model?: string;
  note?: string;
}

/**
 * What `train --model_path <p>` means. For the old training scripts it was where to save the model; for this
 * package's first versions it was the base model. In order: a trained run (run.json or a PEFT adapter) is the run
 * to resume, evaluate or train again; a model folder (config.json), 'tiny' or a known Qwen3 name is the base model;
 * with --output also given it is the base model; anything else (a folder to create) is where to save (--output).
 */
export function trainModelPath(p: string, given: { output: boolean; model: boolean }): ModelPathMeaning {
  const dir = path.resolve(p);
  if (isRunFolder(dir)) {
    if (given.output) throw new CliError(`--model_path ${p} is a trained run and --output is given too: keep one`);
    return { output: p };
  }
  const baseLike = isFile(path.join(dir, 'config.json')) || isTinySpec(p) || findPreset(p) !== undefined;
  if (baseLike || given.output) {
    if (given.model) throw new CliError(`--model_path ${p} names a base model and --model is given too: keep one`);
    return { model: p };
  }
  return {
    output: p,
    note:
      `note: --model_path ${p} is where the run is saved (the old scripts' meaning; same as --output); the base ` +
      'model comes from --model-size or --model',
  };
}
