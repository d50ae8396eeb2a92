// Data-parallel training over PyTorch's c10d (csrc/core/distributed: a rendezvous store, ProcessGroupGloo):
// where a rank stands (torchrun's env or the Trainer's `distributed` option), and the four hooks the training loop
// uses: which examples of a global micro-batch are mine, average the gradients before the step, agree on the step's
// numbers (loss, tokens, a stop request), gather the evaluation's predictions. Rank 0 is the one writer.
import * as os from 'os';
import { isNativeError, loadNative, type NativeClassifier, type NativeProcessGroup } from '../native';
import { differences } from '../util/differences';
import type { EmbeddingShard } from './embedding-cache';
import { invalidRangeError } from '../util/is';
import { resolveOptions } from '../util/schema-errors';
import { DistributedOptionsSchema, type DistributedOptions } from './schema';

export { DISTRIBUTED_DEFAULTS, type DistributedOptions } from './schema';

export type ResolvedDistributed = Required<DistributedOptions>;

/** The all-reduce bucket: DDP's default (bucket_cap_mb=25); the binding receives it with every other field. */
export const DISTRIBUTED_BUCKET_BYTES = 25 * 1024 * 1024;

/** An environment such as process.env; spelled out, not NodeJS.ProcessEnv, so the published declarations compile for a
 *  TypeScript user without @types/node (scripts/check-package.sh checks that). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Set by the launcher for a run on one machine: the rendezvous file (distributed.storeFile). */
export const RENDEZVOUS_FILE_ENV = 'QWEN3_NATIVE_RENDEZVOUS_FILE';

/** The secret every machine of a multi-machine run shares (distributed.rendezvousToken). */
export const RENDEZVOUS_TOKEN_ENV = 'QWEN3_NATIVE_RENDEZVOUS_TOKEN';

/** torchrun's variables, when WORLD_SIZE is set; undefined otherwise (a single-process run). */
export function distributedFromEnv(env: Environment = process.env): DistributedOptions | undefined {
  if (env.WORLD_SIZE === undefined) return undefined;
  const num = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw invalidRangeError('an integer', `environment variable ${name}`, v);
    return n;
  };
  return {
    rank: num('RANK') ?? 0,
    worldSize: num('WORLD_SIZE')!,
    localRank: num('LOCAL_RANK'),
    localWorldSize: num('LOCAL_WORLD_SIZE'),
    masterAddr: env.MASTER_ADDR || undefined,
    masterPort: num('MASTER_PORT'),
    storeFile: env[RENDEZVOUS_FILE_ENV] || undefined,
    rendezvousToken: env[RENDEZVOUS_TOKEN_ENV] || undefined,
    timeoutMs: num('QWEN3_NATIVE_DIST_TIMEOUT_MS'),
    livenessMs: num('QWEN3_NATIVE_DIST_LIVENESS_MS'),
  };
}

/** The torchrun variables distributedFromEnv reads, for one worker of a local run (the launcher, tests, bench). */
export function workerEnv(w: {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  /** absent with storeFile */
  masterPort?: number;
  storeFile?: string;
}): Record<string, string> {
  return {
    RANK: String(w.rank),
    WORLD_SIZE: String(w.worldSize),
    LOCAL_RANK: String(w.localRank),
    LOCAL_WORLD_SIZE: String(w.localWorldSize),
    MASTER_ADDR: w.masterAddr,
    ...(w.masterPort !== undefined ? { MASTER_PORT: String(w.masterPort) } : {}),
    ...(w.storeFile ? { [RENDEZVOUS_FILE_ENV]: w.storeFile } : {}),
  };
}

/** Validates `distributed` (every problem named); undefined or a world of 1: no process group. */
export function resolveDistributed(value: unknown, name = 'distributed'): ResolvedDistributed | undefined {
  if (value === undefined) return undefined;
  // The schema's defaults fill masterAddr, masterPort, storeFile, rendezvousToken, timeoutMs and livenessMs.
  const v = resolveOptions(DistributedOptionsSchema, value, name, true) as DistributedOptions &
    Pick<
      ResolvedDistributed,
      'masterAddr' | 'masterPort' | 'storeFile' | 'rendezvousToken' | 'timeoutMs' | 'livenessMs'
    >;
  if (v.rank >= v.worldSize) throw invalidRangeError(`a rank below worldSize ${v.worldSize}`, `${name}.rank`, v.rank);
  if (v.worldSize === 1) return undefined;
  return { ...v, localRank: v.localRank ?? v.rank, localWorldSize: v.localWorldSize ?? v.worldSize };
}

/** A contiguous share [start, end) of n items for `rank` of `world`: sizes differ by at most one. */
export function shareOf(n: number, rank: number, world: number): [number, number] {
  const base = Math.floor(n / world);
  const extra = n % world;
  const start = rank * base + Math.min(rank, extra);
  return [start, start + base + (rank < extra ? 1 : 0)];
}

/**
 * Which rank a failed collective lost, as far as `rank` can tell: the ranks on other machines when there are any
 * (torchrun's layout: each machine holds the contiguous ranks [rank - localRank, rank - localRank + localWorldSize),
 * and its launcher reports its own workers' deaths), else the other ranks of this machine.
 */
export function lostRanks(rank: number, worldSize: number, localRank: number, localWorldSize: number): string {
  const first = rank - localRank;
  const others = Array.from({ length: worldSize }, (_, r) => r).filter((r) => r !== rank);
  const remote = others.filter((r) => r < first || r >= first + localWorldSize);
  const lost = remote.length ? remote : others;
  const named = lost.length === 1 ? `rank ${lost[0]}` : `one of ranks ${rankRanges(lost)}`;
  return (
    `Lost: ${named}${remote.length ? ', on another machine' : ''} (it exited or hangs, or the network to it is ` +
    'down). The run continues from its last checkpoint with --resume / resume: true, at any world size with the ' +
    'same global batch'
  );
}

/** Ascending ranks as "0-3, 8, 10-11". */
function rankRanges(ranks: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ranks.length;) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j] + 1) j++;
    parts.push(j > i ? `${ranks[i]}-${ranks[j]}` : String(ranks[i]));
    i = j + 1;
  }
  return parts.join(', ');
}

/** The step's numbers every rank agrees on. */
export interface StepTotals {
  /** mean loss over the global batch */
  loss: number;
  tokens: number;
  examples: number;
  /** some rank was asked to stop */
  stop: boolean;
}

/**
 * One rank of a data-parallel run. A single process is a group of one: every hook is then the identity, so the
 * training loop has one path.
 */
export class DataParallel {
  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    readonly localRank: number,
    private readonly localWorldSize: number,
    private readonly group?: NativeProcessGroup
  ) {}

  static single(): DataParallel {
    return new DataParallel(0, 1, 0, 1);
  }

  /** Joins the group (blocks until every rank is there, or rejects after the timeout) and sets this rank's threads. */
  static async join(d: ResolvedDistributed): Promise<DataParallel> {
    const native = loadNative();
    if (!native.distributedAvailable) {
      throw new Error(
        `distributed training (rank ${d.rank} of ${d.worldSize}): this build of the addon has no Gloo; install ` +
          'libgloo-dev (bash scripts/setup.sh does) and rebuild with npm run build:native'
      );
    }
    // Each local worker gets an equal share of the cores: two teams of all the cores oversubscribe them.
    native.setNumThreads(Math.max(1, Math.floor(os.cpus().length / d.localWorldSize)));
    const group = new native.ProcessGroup();
    try {
      await group.init({ ...d, bucketBytes: DISTRIBUTED_BUCKET_BYTES });
    } catch (e) {
      group.dispose();
      if (!isNativeError(e, 'portTaken')) throw e;
      throw new Error(
        `${(e as Error).message}: choose a free port for the run (the launcher's --master-port, MASTER_PORT, or ` +
          "the Trainer's distributed.masterPort)"
      );
    }
    return new DataParallel(d.rank, d.worldSize, d.localRank, d.localWorldSize, group);
  }

  /**
   * Refuses to train unless every rank was given the same settings and data: `fields` (settings and data
   * fingerprints) are gathered from every rank and compared with rank 0's. Throws on every rank, naming the fields,
   * their values and the ranks that differ.
   */
  async checkAgreement(fields: Record<string, unknown>): Promise<void> {
    if (!this.group) return;
    const all = (await this.gatherText(JSON.stringify(fields))).map(
      (text) => JSON.parse(text) as Record<string, unknown>
    );
    const shown = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
    const lines: string[] = [];
    for (let r = 1; r < all.length; r++) {
      for (const d of differences(all[0], all[r]))
        lines.push(`  ${d.field}: ${shown(d.a)} on rank 0, ${shown(d.b)} on rank ${r}`);
    }
    if (lines.length) {
      throw new Error(
        `the ranks of this run disagree, so they would train different models (or none): start every rank with the ` +
          `same settings and the same data.\n${lines.join('\n')}`
      );
    }
  }

  /** Every rank's `text` (UTF-8, any length), in rank order, on every rank: a byte a float32 (exact up to 2^24). */
  private async gatherText(text: string): Promise<string[]> {
    const bytes = Buffer.from(text, 'utf8');
    const [lengths] = await this.collective(() => this.group!.allGather(Float32Array.of(bytes.length)));
    const width = Math.max(...lengths);
    const mine = new Float32Array(width);
    mine.set(bytes);
    const [all] = await this.collective(() => this.group!.allGather(mine));
    return Array.from(lengths, (n, r) =>
      Buffer.from(Uint8Array.from(all.subarray(r * width, r * width + n))).toString('utf8')
    );
  }

  /** Rank 0 writes run folders, checkpoints, logs and events; the others only compute. */
  get isWriter(): boolean {
    return this.rank === 0;
  }

  /** This rank's examples of a global micro-batch (a contiguous share: similar lengths, little padding). */
  mine<T>(batch: readonly T[]): T[] {
    const [start, end] = shareOf(batch.length, this.rank, this.worldSize);
    return batch.slice(start, end);
  }

  /**
   * The loss scale that makes the ranks' averaged gradients the gradient of the global micro-batch's mean loss:
   * this rank's mean counts mine/global of it, times worldSize because the all-reduce divides by worldSize.
   */
  lossScale(mine: number, global: number): number {
    return (mine / global) * this.worldSize;
  }

  async averageGradients(c: NativeClassifier): Promise<void> {
    const group = this.group;
    if (group) await this.collective(() => c.reduceGradients(group));
  }

  /** Every rank's share of the step -> the global numbers (one small all-reduce; a stop on any rank stops all). */
  async agree(mine: StepTotals): Promise<StepTotals> {
    if (!this.group) return mine;
    const w = this.worldSize;
    const group = this.group;
    const [r] = await this.collective(() =>
      group.allReduceMean([Float32Array.from([mine.loss * w, mine.tokens * w, mine.examples * w, mine.stop ? 1 : 0])])
    );
    return { loss: r[0], tokens: Math.round(r[1]), examples: Math.round(r[2]), stop: r[3] > 0 };
  }

  /** Per-example values of n items, each rank having computed its shareOf(n): the whole list, on every rank. */
  async gather(mine: readonly number[], n: number): Promise<number[]> {
    if (!this.group) return [...mine];
    return Array.from(await this.gatherRows(Float32Array.from(mine), n, 1));
  }

  /** Rows shareOf(n) of an n x dim table on each rank (row-major) -> the whole table, on every rank. */
  async gatherRows(mine: Float32Array, n: number, dim: number): Promise<Float32Array> {
    if (!this.group) return mine;
    const width = Math.ceil(n / this.worldSize) * dim;
    const padded = new Float32Array(width);
    padded.set(mine);
    const group = this.group;
    const [all] = await this.collective(() => group.allGather(padded));
    const out = new Float32Array(n * dim);
    for (let r = 0; r < this.worldSize; r++) {
      const [start, end] = shareOf(n, r, this.worldSize);
      out.set(all.subarray(r * width, r * width + (end - start) * dim), start * dim);
    }
    return out;
  }

  /** The embedding method's pass over the posts, split over the ranks (one cache writer per machine). */
  embeddingShard(): EmbeddingShard | undefined {
    if (!this.group) return undefined;
    return {
      range: (n) => shareOf(n, this.rank, this.worldSize),
      gatherRows: (mine, n, dim) => this.gatherRows(mine, n, dim),
      everyone: (flag) => this.everyone(flag),
      writesCache: this.localRank === 0,
    };
  }

  /** True on every rank when `flag` is true on every rank (so that all ranks take the same path to a collective). */
  async everyone(flag: boolean): Promise<boolean> {
    if (!this.group) return flag;
    const group = this.group;
    const [r] = await this.collective(() => group.allReduceMean([Float32Array.of(flag ? 1 : 0)]));
    return r[0] > 1 - 1e-6;
  }

  async barrier(): Promise<void> {
    const group = this.group;
    if (group) await this.collective(() => group.barrier());
  }

  /**
   * Runs a collective; when it fails because a peer is gone, its error (code kept) also names the rank it lost. A
   * peer rank's death under the launcher is the launcher's to name, but a rank on another machine, or the network to
   * it, is seen by nobody else: the native error names only this rank ("rank 0 of 2"), and on two machines the user
   * was left to guess that rank 1 was the one gone.
   */
  private async collective<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (isNativeError(e, 'collectiveFailed'))
        (e as Error).message += `. ${lostRanks(this.rank, this.worldSize, this.localRank, this.localWorldSize)}`;
      throw e;
    }
  }

  dispose(): void {
    this.group?.dispose();
  }
}
