// Finding runs under a models folder (./models): today's run folders, bare PEFT adapters, the old scripts' names and
// their pickled heads (listed so they can be explained), and interrupted runs. The format: folder.ts.
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_METHOD_ORDER, legacyRunNames, runFolderName, type Method } from '../classifier/methods';
import { isPickledFile, isRunFolder } from './folder';
import { latestCheckpoint, recoverPublish } from './staging';
import { isFile } from '../util/regular-file';

/**
 * Every run directly under `modelsDir`, sorted: run folders (run.json, or a bare PEFT adapter) and the old script's
 * pickled heads (listed so that they can be explained; never read). Interrupted runs (`.partial`) and staging
 * leftovers are not runs.
 */
export function findRuns(modelsDir = path.resolve('models')): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(modelsDir);
  } catch {
    return [];
  }
  for (const name of names) {
    const at = name.indexOf('.previous.tmp-');
    if (at > 0) recoverPublish(path.join(modelsDir, name.slice(0, at)));
  }
  return fs
    .readdirSync(modelsDir)
    .filter((name) => !name.endsWith('.partial') && !/\.tmp-\d+/.test(name))
    .map((name) => path.join(modelsDir, name))
    .filter((p) => isRunFolder(p) || (isPickledFile(p) && isFile(p)))
    .sort();
}

/** Runs interrupted before they finished (`<name>.partial` holding a checkpoint), for `info`. */
export function findInterruptedRuns(modelsDir = path.resolve('models')): string[] {
  try {
    return fs
      .readdirSync(modelsDir)
      .filter((name) => name.endsWith('.partial') && latestCheckpoint(path.join(modelsDir, name)))
      .map((name) => path.join(modelsDir, name))
      .sort();
  } catch {
    return [];
  }
}

/**
 * The run folders a size (and method) names under `modelsDir`, in lookup order (DEFAULT_METHOD_ORDER when no method
 * is given; for each, today's name qwen3_<method>_<size> then the old scripts' names), compared case-insensitively,
 * and the first that holds a run.
 */
export function findRunFor(modelsDir: string, size: string, method?: Method): { candidates: string[]; found?: string } {
  const methods = method ? [method] : DEFAULT_METHOD_ORDER;
  let present: string[] = [];
  try {
    present = fs.readdirSync(modelsDir);
  } catch {
    // no models folder: nothing found
  }
  const candidates = methods.flatMap((m) =>
    [runFolderName(m, size), ...legacyRunNames(m, size)].map((name) => {
      const actual = present.find((p) => p.toLowerCase() === name.toLowerCase()) ?? name;
      return path.join(modelsDir, actual);
    })
  );
  return { candidates, found: candidates.find((c) => isRunFolder(c) || (isPickledFile(c) && isFile(c))) };
}
