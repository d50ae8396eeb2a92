// The training loop of a Trainer: optimizer steps over each epoch's micro-batches, evaluations on the dev split,
// checkpoints (every saveSteps and at each evaluation), resume from a checkpoint, and a stop that saves one. A
// non-finite loss, gradient norm or dev-set probability ends training with an error naming the step, before anything
// from that step is saved: the last good checkpoint and the published best weights stay as they were.
import type { NativeClassifier } from '../native';
import { DEFAULT_BATCH_LIMITS } from '../qwen3/batching';
import { gatherSequences, sliceSequences, type TokenSequences } from '../qwen3/sequences';
import type { Qwen3Folder } from '../qwen3/folder';
import type { DataParallel } from './distributed';
import { shareOf } from './distributed';
import { labelsFromRecord } from '../classifier/labels';
import { argmaxRows, computeMetrics } from '../classifier/metrics';
import { checkpointFiles, publishRun, writeCheckpoint, writeRunInfo } from '../runs/folder';
import type { RunInfo, TrainerState } from '../runs/schema';
import { latestCheckpoint } from '../runs/staging';
import { learningRateAt } from './schedule';
import { describeData, planEpoch } from './data';
import type { EvalEvent, ProgressEvent, TrainerEvents } from './events';
import { resumeFingerprint, type ResolvedTrainerOptions } from './options';

export interface Split {
  seqs: TokenSequences;
  features?: Float32Array;
  labels: number[];
}

/** Evaluation's forward passes: twice the micro-batch's rows (at least 8) and twice prediction's padded tokens. */
function evalLimits(batchSize: number) {
  return { maxBatchSize: Math.max(8, batchSize * 2), maxBatchTokens: DEFAULT_BATCH_LIMITS.maxBatchTokens * 2 };
}

export interface LoopResult {
  info: RunInfo;
  stopped: boolean;
  steps: number;
  /** the checkpoint written last (undefined when none was) */
  checkpoint?: string;
}

type Emit = <E extends keyof TrainerEvents>(event: E, ...args: TrainerEvents[E]) => void;

/** A run that went numerically wrong: what, where, and what to try. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    what: string,
    value: number,
    learningRate: number,
    lastCheckpoint: string | undefined
  ) {
    super(
      `training diverged at step ${step}: ${what} is ${value} (not a finite number). Nothing from this step on was ` +
        `saved; ${lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}` : 'no checkpoint had been written yet'}` +
        ` and a finished run in the output folder is untouched. Try a lower learning rate (--learning-rate / ` +
        `learningRate; it was ${learningRate}, e.g. ${learningRate / 10}), and check the training data and the base model.`
    );
    this.name = 'TrainingDivergedError';
  }
}

export class TrainingLoop {
  private lastCheckpoint?: string;
  /** the run's label set's size (run.json's labels) */
  private numLabels = 2;

  constructor(
    private readonly o: ResolvedTrainerOptions,
    private readonly c: NativeClassifier,
    /** the work folder: weights, run.json and checkpoints go here */
    private readonly dir: string,
    private readonly base: Qwen3Folder,
    private readonly emit: Emit,
    private readonly stopRequested: () => boolean,
    /** data parallelism: a group of one in a single process */
    private readonly dp: DataParallel
  ) {}

  private async accumulate(split: Split, batch: number[], scale: number) {
    const labels = Int32Array.from(batch.map((i) => split.labels[i]));
    if (split.features) {
      const dim = split.features.length / split.labels.length;
      const feats = new Float32Array(batch.length * dim);
      batch.forEach((i, j) => feats.set(split.features!.subarray(i * dim, (i + 1) * dim), j * dim));
      return this.c.accumulateFeatures(feats, batch.length, labels, scale);
    }
    const { ids, lengths } = gatherSequences(split.seqs, batch);
    return this.c.accumulate(ids, lengths, true, labels, scale);
  }

  /** Predicted labels for a split: this rank's share, gathered from every rank. */
  private async predictSplit(split: Split, step: number, lr: number): Promise<number[]> {
    const n = split.labels.length;
    const [start, end] = shareOf(n, this.dp.rank, this.dp.worldSize);
    const dim = split.features ? split.features.length / n : 0;
    const share: Split = {
      seqs: sliceSequences(split.seqs, start, end),
      labels: split.labels.slice(start, end),
      features: split.features?.subarray(start * dim, end * dim),
    };
    return this.dp.gather(await this.predictShare(share, step, lr), n);
  }

  /** Predicted labels for a split, in one native call (the core makes the forward passes); throws when a probability
   * is not finite. */
  private async predictShare(split: Split, step: number, lr: number): Promise<number[]> {
    const n = split.labels.length;
    const check = (probs: Float32Array) => {
      const bad = probs.find((p) => !Number.isFinite(p));
      if (bad !== undefined) throw this.diverged(step, 'a dev-set probability', bad, lr);
      return probs;
    };
    if (n === 0) return [];
    if (split.features) return argmaxRows(check(await this.c.predictFeatures(split.features, n)), this.numLabels);
    const { ids, lengths } = split.seqs;
    return argmaxRows(check(await this.c.predict(ids, lengths, true, evalLimits(this.o.batchSize))), this.numLabels);
  }

  private diverged(step: number, what: string, value: number, lr: number): TrainingDivergedError {
    return new TrainingDivergedError(step, what, value, lr, this.lastCheckpoint);
  }

  async run(info: RunInfo, train: Split, dev: Split, resume: boolean): Promise<LoopResult> {
    const o = this.o;
    const dp = this.dp;
    this.numLabels = Object.keys(info.labels).length;
    const lengths = Array.from(train.seqs.lengths);
    // Every rank plans the same global micro-batches (batchSize per rank) and trains on its share of each.
    const globalBatch = o.batchSize * dp.worldSize;
    const batchesPerEpoch = Math.ceil(train.labels.length / globalBatch);
    const stepsPerEpoch = Math.ceil(batchesPerEpoch / o.gradientAccumulation);
    const totalSteps = stepsPerEpoch * o.epochs;
    const warmupSteps = Math.round(totalSteps * o.warmupRatio);
    let state: TrainerState = {
      fingerprint: resumeFingerprint(o),
      epoch: 0,
      batchInEpoch: 0,
      globalStep: 0,
      evalsWithoutImprovement: 0,
      info,
    };

    const checkpointDir = latestCheckpoint(this.dir);
    if (resume && checkpointDir) {
      state = await this.restore(checkpointDir, state);
      this.lastCheckpoint = checkpointDir;
      this.emit('log', `resumed from ${checkpointDir} at step ${state.globalStep}`);
    } else if (resume) {
      this.emit('log', `no checkpoint in ${o.output}; starting from scratch`);
    }

    const started = Date.now();
    let stopped = false;
    let savedStep = state.globalStep;
    outer: for (let epoch = state.epoch; epoch < o.epochs; epoch++) {
      const batches = planEpoch(lengths, globalBatch, o.seed, epoch);
      let trainLossSum = 0;
      let trainLossCount = 0;
      for (let b = epoch === state.epoch ? state.batchInEpoch : 0; b < batches.length; b += o.gradientAccumulation) {
        const group = batches.slice(b, b + o.gradientAccumulation);
        const stepStart = Date.now();
        const step = state.globalStep + 1;
        const lr = learningRateAt(state.globalStep, totalSteps, o.learningRate, warmupSteps, o.scheduler);
        let loss = 0;
        let tokens = 0;
        let examples = 0;
        for (const global of group) {
          // The loss is the mean over the global micro-batch; each rank's share of it scales its gradient.
          const batch = dp.mine(global);
          if (batch.length === 0) continue;
          const r = await this.accumulate(train, batch, dp.lossScale(batch.length, global.length) / group.length);
          if (!Number.isFinite(r.loss)) throw this.diverged(step, 'the loss', r.loss, lr);
          loss += (r.loss * batch.length) / global.length / group.length;
          tokens += r.tokens;
          examples += batch.length;
        }
        await dp.averageGradients(this.c);
        // A stop asked of any rank stops every rank after this step (one decision, no rank left waiting).
        const totals = await dp.agree({ loss, tokens, examples, stop: this.stopRequested() });
        ({ loss, tokens, examples } = totals);
        const gradNorm = await this.c.step(lr, o.maxGradNorm);
        if (!Number.isFinite(gradNorm)) throw this.diverged(step, 'the gradient norm', gradNorm, lr);
        state.globalStep = step;
        trainLossSum += loss;
        trainLossCount++;
        const seconds = Math.max(1e-6, (Date.now() - stepStart) / 1000);
        const progress: ProgressEvent = {
          epoch: epoch + 1,
          epochs: o.epochs,
          step,
          totalSteps,
          loss,
          learningRate: lr,
          gradNorm,
          tokensPerSecond: tokens / seconds,
          examplesPerSecond: examples / seconds,
          elapsedMs: Date.now() - started,
          examples,
          tokens,
        };
        this.emit('progress', progress);
        state.epoch = epoch;
        state.batchInEpoch = b + group.length;
        const endOfEpoch = state.batchInEpoch >= batches.length;
        if (endOfEpoch) {
          state.epoch = epoch + 1;
          state.batchInEpoch = 0;
        }
        const evalNow = o.evalSteps ? step % o.evalSteps === 0 || (endOfEpoch && epoch === o.epochs - 1) : endOfEpoch;
        let improved = true;
        if (evalNow) {
          const meanLoss = trainLossCount ? trainLossSum / trainLossCount : loss;
          improved = await this.evaluate(state, dev, epoch + 1, meanLoss, lr);
        }
        if (evalNow || (o.saveSteps !== undefined && step % o.saveSteps === 0)) {
          await this.saveCheckpoint(state);
          savedStep = step;
        }
        if (evalNow && !improved && o.earlyStoppingPatience > 0) {
          if (state.evalsWithoutImprovement >= o.earlyStoppingPatience) {
            this.emit('log', `early stopping: ${state.evalsWithoutImprovement} evaluations without improvement`);
            break outer;
          }
        }
        if (dp.worldSize > 1 ? totals.stop : this.stopRequested()) {
          if (savedStep !== step) await this.saveCheckpoint(state);
          stopped = true;
          break outer;
        }
      }
    }
    state.info.stopped = stopped;
    state.info.updatedAt = new Date().toISOString();
    // Stopped before any evaluation: still leave usable weights.
    if (dp.isWriter) {
      if (!state.info.best) await publishRun(this.dir, state.info, this.base, this.c);
      else writeRunInfo(this.dir, state.info);
    }
    return { info: state.info, stopped, steps: state.globalStep, checkpoint: this.lastCheckpoint };
  }

  private async evaluate(state: TrainerState, dev: Split, epoch: number, trainLoss: number, lr: number) {
    const o = this.o;
    const predictions = await this.predictSplit(dev, state.globalStep, lr);
    const metrics = computeMetrics(dev.labels, predictions, this.numLabels);
    const value = metrics[o.bestMetric];
    const best = state.info.best;
    const improved = !best || value > best.value;
    state.info.history.push({ epoch, step: state.globalStep, trainLoss, metrics });
    if (improved) {
      state.info.best = { epoch, step: state.globalStep, metric: o.bestMetric, value, metrics };
      state.evalsWithoutImprovement = 0;
      state.info.updatedAt = new Date().toISOString();
      if (this.dp.isWriter) await publishRun(this.dir, state.info, this.base, this.c);
    } else {
      state.evalsWithoutImprovement++;
    }
    const labels = labelsFromRecord(state.info.labels, 'run.json');
    this.emit('eval', { epoch, step: state.globalStep, metrics, best: improved, labels } satisfies EvalEvent);
    return improved;
  }

  private async saveCheckpoint(state: TrainerState): Promise<void> {
    if (!this.dp.isWriter) return;
    let dir: string;
    try {
      dir = await writeCheckpoint(this.dir, this.o.method, state, this.c, this.o.saveTotalLimit);
    } catch (e) {
      throw new Error(
        `could not save the checkpoint of step ${state.globalStep} in ${this.dir}: ${(e as Error).message}. ` +
          (this.lastCheckpoint
            ? `The previous checkpoint (${this.lastCheckpoint}) is intact: fix the cause and continue with --resume / resume: true`
            : 'No checkpoint had been saved yet: fix the cause and train again')
      );
    }
    this.lastCheckpoint = dir;
    this.emit('checkpoint', { dir, step: state.globalStep });
  }

  private async restore(dir: string, fresh: TrainerState): Promise<TrainerState> {
    const files = checkpointFiles(dir, this.o.method);
    const saved = files.state;
    const want = JSON.stringify(fresh.fingerprint);
    if (JSON.stringify(saved.fingerprint) !== want) {
      throw new Error(
        `cannot resume from ${dir}: it was trained with different settings.\n  checkpoint: ${JSON.stringify(saved.fingerprint)}\n  now:        ${want}`
      );
    }
    for (const part of ['train', 'eval'] as const) {
      const was = saved.info.data?.[part];
      const now = fresh.info.data?.[part];
      if (was && now && (was.sha256 !== now.sha256 || was.count !== now.count)) {
        throw new Error(
          `cannot resume from ${dir}: it was trained on other ${part === 'train' ? 'training' : 'dev'} data.\n` +
            `  checkpoint: ${describeData(was)}\n  now:        ${describeData(now)}\n` +
            `Resume with the data it was trained on, or train from scratch (without --resume / resume: true).`
        );
      }
    }
    await this.c.loadWeights(files.weights);
    await this.c.loadTrainingState(files.trainingState);
    // A checkpoint from before data fingerprints: from now on the run records this data.
    saved.info.data ??= fresh.info.data;
    return saved;
  }
}
