// A run's dev posts, read again: run.json records its training data (the file as given, its count and sha256) and the
// seed and dev fraction of its split, so the split is made again exactly as the Trainer made it, or the evaluation
// file it was given is read. Used to show the dev posts a run gets most confidently wrong.
import * as fs from 'fs';
import * as path from 'path';
import { labelsFromRecord } from '../classifier/labels';
import { readRunInfo } from '../runs/folder';
import { fingerprintData, loadData } from '../train/data';
import { stratifiedSplit } from '../train/split';

export interface Posts {
  texts: string[];
  labels: number[];
}

/** The run's dev posts, or why they cannot be had (data given as arrays, a file moved or changed since). */
export async function devPostsOf(run: string): Promise<{ dev: Posts } | { problem: string }> {
  const info = readRunInfo(run);
  const recorded = info.data;
  if (!recorded) return { problem: 'run.json does not record its training data (a run trained before runs did)' };
  const given = recorded.eval ?? recorded.train;
  const file = path.resolve(given.name);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile())
    return { problem: `its ${recorded.eval ? 'dev' : 'training'} data ${given.name} is not a file here` };
  const labelSet = labelsFromRecord(info.labels, path.join(run, 'run.json'));
  const all = await loadData(file, given.name, labelSet);
  if (fingerprintData(all, given.name).sha256 !== given.sha256)
    return { problem: `${given.name} has changed since the run was trained (its sha256 differs)` };
  if (recorded.eval) return { dev: { texts: all.texts, labels: all.labels } };
  const hp = info.hyperParameters as { devFraction?: number; seed?: number };
  if (typeof hp.devFraction !== 'number' || typeof hp.seed !== 'number')
    return { problem: 'run.json does not record the seed and dev fraction of its split' };
  const { dev } = stratifiedSplit(all.labels, hp.devFraction, hp.seed);
  return { dev: { texts: dev.map((i) => all.texts[i]), labels: dev.map((i) => all.labels[i]) } };
}
