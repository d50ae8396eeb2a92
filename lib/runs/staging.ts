// How run folders change without ever being half-written (the layout itself is described in folder.ts): a run
// trains in `<output>.partial`, owned by one live process; a finished run replaces `<output>` in two renames; a
// checkpoint is written to a staging folder and swapped in; and the leftovers of a killed process (staging folders,
// temporary files, a swap cut in half) are recognised by the pid in their names and cleaned or rolled back.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  cleanStaleTemporaries,
  processAlive,
  temporaryName,
  TEMPORARY_NAME,
  writeJsonAtomic,
} from '../util/atomic-write';
import { METHODS, weightsFileFor } from '../classifier/methods';
import { makeDirectory } from '../util/make-dir';
import { METRICS_FILE, RUN_REPORT_FILE } from './history';
import { isOwnModelCard } from './model-card';
import { MODEL_CARD_FILE, TEST_RESULTS_FILE } from './schema';

/** The folder a run trains in until it finishes. */
export function workFolder(output: string): string {
  return `${output}.partial`;
}

export const OWNER_FILE = 'owner.json';
export const TRAINER_STATE = 'trainer_state.json';
export const CHECKPOINT = 'checkpoint';

interface Owner {
  pid: number;
  host: string;
  startedAt: string;
  token: string;
}

const PREVIOUS = '.previous';

/**
 * Removes, in a run's own folder (its output or work folder), the temporary files and staging folders whose process
 * is gone; returns their names. A `<output>.previous.tmp-…` is the finished run of a publish cut in half:
 * recoverPublish rolls it back instead.
 */
export function cleanStaleStaging(dir: string): string[] {
  return cleanStaleTemporaries(dir, (name) => !name.includes(`${PREVIOUS}.tmp-`));
}

/**
 * Finishes or rolls back a publish that a kill cut between its two renames: when `<output>` is missing, the finished
 * run moved aside (`<output>.previous.tmp-<pid>-<hex>`) goes back; when `<output>` exists, such leftovers go.
 */
export function recoverPublish(output: string): void {
  const parent = path.dirname(output);
  const prefix = `${path.basename(output)}${PREVIOUS}.tmp-`;
  let aside: string[];
  try {
    aside = fs
      .readdirSync(parent)
      .filter((n) => n.startsWith(prefix) && !processAlive(Number(TEMPORARY_NAME.exec(n)?.[1])));
  } catch {
    return;
  }
  for (const name of aside) {
    const dir = path.join(parent, name);
    if (!fs.existsSync(output)) fs.renameSync(dir, output);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Outputs this process is training into right now: a second train() into one of them is refused before any work.
const active = new Set<string>();

function readOwner(dir: string): Owner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    return typeof o?.pid === 'number' ? (o as Owner) : undefined;
  } catch {
    return undefined;
  }
}

/** The owner of a work folder while it lives (a pid on another host counts as alive: it cannot be checked). */
function liveOwner(output: string, dir: string): Owner | undefined {
  const owner = readOwner(dir);
  if (!owner) return undefined;
  if (owner.host !== os.hostname()) return owner;
  if (owner.pid === process.pid) return active.has(output) ? owner : undefined;
  return processAlive(owner.pid) ? owner : undefined;
}

/** Hard-links (else copies) every file of `from` into `to`, folders recursively: cheap, and safe because this
 * package never rewrites a file in place (every write is a new file renamed over the old one). */
function linkTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isFile()) {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
      }
    }
  }
}

export interface WorkLease {
  /** the requested run folder (replaced on publish) */
  output: string;
  /** where this run writes: <output>.partial */
  dir: string;
  /** the run continues a checkpoint (from the work folder, or copied from <output>) */
  resumed: boolean;
  /** ends this process's claim; the folder stays (a stopped or failed run is resumed from it) */
  release(): void;
}

/**
 * Claims `<output>.partial` for one training. `resume`: continue what is there (or, when only `<output>` holds a
 * checkpoint, start the work folder as links to it, so `<output>` stays whole until the resumed run finishes); else
 * start empty, discarding an interrupted run left by a dead process. Refuses a work folder a live process owns.
 */
export function acquireWorkFolder(output: string, resume: boolean, log: (line: string) => void): WorkLease {
  recoverPublish(output);
  const dir = workFolder(output);
  if (active.has(output)) {
    throw new Error(`${output} is already being trained by this process: one training per run folder at a time`);
  }
  const owner = liveOwner(output, dir);
  if (owner) {
    throw new Error(
      `${dir} is in use by another training (pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}): wait ` +
        `for it to finish or stop it${owner.host !== os.hostname() ? `; if it is gone, delete ${dir}` : ''}`
    );
  }
  let resumed = false;
  if (fs.existsSync(dir) && !resume) {
    if (latestCheckpoint(dir)) log(`note: discarding the interrupted run in ${dir} (--resume would have continued it)`);
    fs.rmSync(dir, { recursive: true, force: true });
  } else if (fs.existsSync(dir)) {
    resumed = settleCheckpoint(dir);
  } else if (resume && latestCheckpoint(output)) {
    linkTree(output, dir);
    fs.rmSync(path.join(dir, OWNER_FILE), { force: true });
    resumed = settleCheckpoint(dir);
  }
  cleanStaleStaging(output);
  cleanStaleStaging(dir);
  makeDirectory(dir);
  const token = crypto.randomBytes(8).toString('hex');
  writeJsonAtomic(path.join(dir, OWNER_FILE), {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    token,
  } satisfies Owner);
  active.add(output);
  return {
    output,
    dir,
    resumed,
    release: () => {
      active.delete(output);
      if (readOwner(dir)?.token === token) fs.rmSync(path.join(dir, OWNER_FILE), { force: true });
    },
  };
}

/**
 * Makes the finished run in the work folder the run at `<output>`: `<output>` moves aside, the work folder takes its
 * name, the old run goes. A kill between the two renames is rolled back by recoverPublish (the old run returns; the
 * finished one waits in <output>.partial for --resume, which publishes it).
 */
export function publishWorkFolder(lease: WorkLease): string | undefined {
  fs.rmSync(path.join(lease.dir, OWNER_FILE), { force: true });
  const aside = temporaryName(`${lease.output}${PREVIOUS}`);
  const had = fs.existsSync(lease.output);
  if (had) fs.renameSync(lease.output, aside);
  fs.renameSync(lease.dir, lease.output);
  if (!had) return undefined;
  // Files put into the old run while this one trained (checkOutputFolder saw none at the start) are not deleted: the
  // old run stays beside the new one, under a name that says when it was replaced.
  if (foreignEntries(aside).length === 0) {
    fs.rmSync(aside, { recursive: true, force: true });
    return undefined;
  }
  const kept = `${lease.output}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(aside, kept);
  return kept;
}

// ---- checkpoints ----

function stepOf(dir: string): number | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(dir, TRAINER_STATE), 'utf8'))?.globalStep;
    return Number.isSafeInteger(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

const NUMBERED = /^checkpoint-(\d+)$/;

/**
 * The checkpoint to resume from: the complete one (its trainer_state.json, written last, exists) with the most
 * steps among `checkpoint/`, older numbered ones, and those a kill left mid-swap or fully staged.
 */
export function latestCheckpoint(runDir: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(runDir);
  } catch {
    return undefined;
  }
  let best: { dir: string; step: number } | undefined;
  for (const name of names) {
    if (name !== CHECKPOINT && !NUMBERED.test(name) && !name.startsWith(`${CHECKPOINT}.`)) continue;
    const dir = path.join(runDir, name);
    // checkpoint/ with a damaged trainer_state.json stays a candidate, so that resuming names the damaged file.
    const damaged = name === CHECKPOINT && fs.existsSync(path.join(dir, TRAINER_STATE)) ? -1 : undefined;
    const step = stepOf(dir) ?? damaged;
    if (step === undefined) continue;
    // Ties go to checkpoint/ itself.
    if (!best || step > best.step || (step === best.step && name === CHECKPOINT)) best = { dir, step };
  }
  return best?.dir;
}

/**
 * Makes the newest complete checkpoint `checkpoint/` again after a kill (one fully staged but not swapped in, or the
 * previous one moved aside mid-swap), before the staging leftovers are cleaned. True when the run has a checkpoint.
 */
export function settleCheckpoint(runDir: string): boolean {
  const best = latestCheckpoint(runDir);
  if (!best) return false;
  const target = path.join(runDir, CHECKPOINT);
  if (best !== target && !NUMBERED.test(path.basename(best))) {
    if (fs.existsSync(target)) fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(best, target);
  }
  return true;
}

/**
 * Replaces `<runDir>/checkpoint` with what `fill` writes into a staging folder. With `keep` > 1 the replaced one
 * stays as checkpoint-<its step>, and only the newest `keep` checkpoints in all are kept.
 */
export async function writeCheckpointFolder(
  runDir: string,
  keep: number,
  fill: (staging: string) => Promise<void>
): Promise<string> {
  const target = path.join(runDir, CHECKPOINT);
  const staging = temporaryName(`${target}.staging`);
  fs.mkdirSync(staging, { recursive: true });
  try {
    await fill(staging);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  let aside: string | undefined;
  if (fs.existsSync(target)) {
    const step = stepOf(target);
    aside =
      keep > 1 && step !== undefined ? path.join(runDir, `${CHECKPOINT}-${step}`) : temporaryName(`${target}.old`);
    fs.rmSync(aside, { recursive: true, force: true });
    fs.renameSync(target, aside);
  }
  fs.renameSync(staging, target);
  if (aside && !NUMBERED.test(path.basename(aside))) fs.rmSync(aside, { recursive: true, force: true });
  const numbered = fs
    .readdirSync(runDir)
    .map((n) => NUMBERED.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  for (const m of numbered.slice(Math.max(0, keep - 1))) fs.rmSync(path.join(runDir, m[0]), { recursive: true });
  return target;
}

/** Removes every checkpoint of a run folder (a finished `full` run: they hold 3x the model's size). */
export function removeCheckpoints(runDir: string): void {
  for (const name of fs.readdirSync(runDir)) {
    if (name === CHECKPOINT || NUMBERED.test(name)) fs.rmSync(path.join(runDir, name), { recursive: true });
  }
}

// ---- where a run may go ----

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of `p`, resolving symlinks in the part that exists. */
function realPath(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail);
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return abs;
      tail.unshift(path.basename(head));
      head = parent;
    }
  }
}

// Every name this package writes in a run folder (folder.ts describes them); anything else is someone else's.
const RUN_FILES = new Set([
  'run.json',
  'adapter_config.json',
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  METRICS_FILE,
  RUN_REPORT_FILE,
  TEST_RESULTS_FILE,
  OWNER_FILE,
  CHECKPOINT,
  ...METHODS.map(weightsFileFor),
]);

/** The entries of a run folder this package did not write (a user's notes, a second adapter, their README). */
export function foreignEntries(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const ours = (n: string) => RUN_FILES.has(n) || (n === MODEL_CARD_FILE && isOwnModelCard(path.join(dir, n)));
  return names
    .filter((n) => !ours(n) && !NUMBERED.test(n) && !n.startsWith(`${CHECKPOINT}.`) && !TEMPORARY_NAME.test(n))
    .sort();
}

function listed(names: string[]): string {
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, … (${names.length} in all)` : ''}`;
}

/**
 * Refuses, before any work, an output folder that publishing a finished run (which replaces the folder as a whole)
 * would damage: the working directory or one holding it, a file, a model folder, a PEFT adapter trained elsewhere,
 * a run folder holding files this package did not write, a folder of other files.
 */
export function checkOutputFolder(output: string): void {
  const out = realPath(output);
  if (isInside(realPath(process.cwd()), out)) {
    throw new Error(
      `output folder ${output} is the current folder or holds it: a finished run replaces its folder as a whole. ` +
        'Choose a folder of its own, e.g. ./models/my-run'
    );
  }
  let entries: string[];
  try {
    if (!fs.statSync(output).isDirectory()) throw new Error(`output folder ${output} is a file, not a folder`);
    entries = fs.readdirSync(output);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (entries.length === 0) return;
  const foreign = foreignEntries(output);
  const ours = entries.includes('run.json') || entries.includes(CHECKPOINT);
  let what: string | undefined;
  if (ours && foreign.length) what = `holds a trained run and files this package did not write (${listed(foreign)})`;
  else if (!ours && entries.includes('adapter_config.json'))
    what = `holds a PEFT adapter this package did not train (adapter_config.json without run.json${foreign.length ? `; also ${listed(foreign)}` : ''})`;
  else if (!ours && entries.includes('config.json')) what = 'holds a model (config.json), not a trained run';
  else if (!ours) what = `holds files that are not a trained run (${listed(entries)})`;
  if (!what) return;
  throw new Error(
    `output folder ${output} ${what}: a finished run replaces its folder as a whole, so they would be deleted. ` +
      'Move them elsewhere, or choose a new or empty folder'
  );
}

/** Refuses an output folder that is, holds or is inside the base model's folder (training would overwrite it). */
export function refuseBaseModelOutput(output: string, baseDir: string): void {
  const out = realPath(output);
  const base = realPath(baseDir);
  const relation =
    out === base
      ? 'is the base model'
      : isInside(base, out)
        ? `holds the base model (${baseDir})`
        : isInside(out, base)
          ? `is inside the base model's folder (${baseDir})`
          : undefined;
  if (relation) {
    throw new Error(
      `output folder ${output} ${relation}: training would overwrite or delete the base model. Choose an output ` +
        'folder outside it (the default is ./models/qwen3_<method>_<size>)'
    );
  }
}
