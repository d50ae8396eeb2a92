// What a run folder says about its results besides run.json: test_results.json (the published weights measured on a
// labelled test set) and the model card (README.md) made from both. A folder written before these files existed
// reads as having no test result; its card is written the next time either changes.
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write';
import { readJsonObject } from '../util/json-file';
import { readRunInfo } from './folder';
import { isOwnModelCard, renderModelCard } from './model-card';
import { MODEL_CARD_FILE, TEST_RESULTS_FILE, TestResultsSchema, type TestResults } from './schema';

const FIX = 'Measure the run again (qwen3-native eval, or train --test), or delete the file.';

/** The run's test result; undefined when it has none. A damaged file is an error naming it. */
export function readTestResults(dir: string): TestResults | undefined {
  const file = path.join(dir, TEST_RESULTS_FILE);
  if (!fs.existsSync(file)) return undefined;
  return readJsonObject(file, FIX, TestResultsSchema);
}

/** Writes the model card of the run in `dir` from its run.json and test_results.json; a user's README.md stays. */
export function writeModelCard(dir: string): void {
  const file = path.join(dir, MODEL_CARD_FILE);
  if (fs.existsSync(file) && !isOwnModelCard(file)) return;
  writeFileAtomic(file, renderModelCard(readRunInfo(dir), readTestResults(dir), path.basename(dir)));
}

/** Records the test result of the run in `dir` (replacing an earlier one) and rewrites its model card. */
export function writeTestResults(dir: string, results: Omit<TestResults, 'evaluatedAt'>): TestResults {
  const record: TestResults = { ...results, evaluatedAt: new Date().toISOString() };
  writeJsonAtomic(path.join(dir, TEST_RESULTS_FILE), record);
  writeModelCard(dir);
  return record;
}
