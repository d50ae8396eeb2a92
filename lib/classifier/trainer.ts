// Trainer: fine-tunes a Qwen3 sentiment classifier with one of four methods. The loop runs here; every forward,
// backward and optimizer step runs in the native core off the JS thread.
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as path from 'path';
import { loadNative, type NativeClassifier } from '../native';
import { DEFAULT_BATCH_LIMITS, packByLength } from '../qwen3/batching';
import type { Qwen3Checkpoint } from '../qwen3/checkpoint';
import { resolveDeviceAndDtype, runtimeInfo, Qwen3Model } from '../qwen3/model';
import { expectOptionalOptions, expectKnownKeys } from '../util/is';
import { packageVersion } from '../util/paths';
import { nativeBaseSpec, resolveBaseCheckpoint } from './base-checkpoint';
import { cachedEmbeddings } from './embedding-cache';
import { ExampleEncoder } from './encoding';
import {
  DEFAULT_END_TOKEN,
  DEFAULT_LABEL_TOKENS,
  defaultAppendToken,
  EMBEDDING_HEAD_DROPOUT,
  ID2LABEL,
  LABEL_TEXTS,
  usesLora,
} from './methods';
import { argmaxRows, computeMetrics } from './metrics';
import { attachRunHistory, countParameters, dataFingerprint } from './run-history';
import {
  checkpointFiles,
  copyRun,
  existingCheckpoint,
  publishRun,
  RUN_FORMAT,
  RUN_VERSION,
  writeCheckpoint,
  writeRunInfo,
  type RunInfo,
} from './run-folder';
import { learningRateAt } from './schedule';
import { sliceSample, stratifiedSplit } from './split';
import { loadData, planEpoch, type LabelledTexts, type TrainData } from './train-data';
import type { EvalEvent, ProgressEvent, TrainerEvents, TrainerListener, TrainResult } from './trainer-events';
import {
  resolveTrainerOptions,
  resumeFingerprint,
  type ResolvedTrainerOptions,
  type TrainerOptions,
} from './trainer-options';

interface Split {
  seqs: number[][];
  features?: Float32Array;
  labels: number[];
}

interface TrainerState {
  fingerprint: Record<string, unknown>;
  epoch: number;
  /** micro-batches of `epoch` already consumed */
  batchInEpoch: number;
  globalStep: number;
  evalsWithoutImprovement: number;
  info: RunInfo;
}

// Typed events: on('progress', (p) => p.loss) knows p is a ProgressEvent, and unknown events do not compile.
export interface Trainer {
  on<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  once<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  off<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  emit<E extends keyof TrainerEvents>(event: E, ...args: TrainerEvents[E]): boolean;
}

export class Trainer extends EventEmitter {
  readonly options: ResolvedTrainerOptions;
  private stopRequested = false;
  private lastResult?: TrainResult;

  constructor(options: TrainerOptions) {
    super();
    this.options = resolveTrainerOptions(options);
    attachRunHistory(this);
  }

  /** Asks a running train() to stop after the current optimizer step; it saves a checkpoint and resolves. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Copies the trained run (weights, adapter/model config, run.json) to `dir`. */
  async save(dir: string): Promise<void> {
    if (!this.lastResult) throw new Error('save: nothing trained yet (await trainer.train(...) first)');
    const target = path.resolve(dir);
    if (target !== this.lastResult.output) copyRun(this.lastResult.output, target);
  }

  async train(trainData: TrainData, options?: { evalData?: TrainData }): Promise<TrainResult> {
    const extra = expectOptionalOptions(options);
    expectKnownKeys(extra, 'options', ['evalData']);
    this.stopRequested = false;
    const o = this.options;
    const startedAt = Date.now();
    const all = await loadData(trainData, 'trainData');
    let train: LabelledTexts = all;
    let dev: LabelledTexts;
    if (extra.evalData !== undefined) {
      dev = await loadData(extra.evalData, 'evalData');
    } else {
      const split = stratifiedSplit(all.labels, o.devFraction, o.seed);
      train = { texts: split.train.map((i) => all.texts[i]), labels: split.train.map((i) => all.labels[i]) };
      dev = { texts: split.dev.map((i) => all.texts[i]), labels: split.dev.map((i) => all.labels[i]) };
    }
    if (o.maxSamples !== undefined && o.maxSamples < train.texts.length)
      train = sliceSample(train, o.maxSamples, o.seed);
    if (train.texts.length === 0) throw new Error('no training examples');
    if (dev.texts.length === 0) {
      throw new Error('no dev examples: the training data needs at least 2 posts of each label, or pass { evalData }');
    }

    const base = await resolveBaseCheckpoint(o.model, o.method, {
      offline: o.offline,
      onProgress: (p) => this.emit('download', p),
    });
    const { device, dtype } = resolveDeviceAndDtype({ device: o.device, dtype: o.dtype });
    const tokenizer = base.tokenizer;
    const encoder = new ExampleEncoder(tokenizer, {
      method: o.method,
      maxLength: o.maxLength,
      prompt: o.prompt,
      instruction: o.instruction,
      labelTokens: DEFAULT_LABEL_TOKENS,
      appendToken: defaultAppendToken(o.method),
    });
    const trainSplit: Split = {
      seqs: await encoder.encodeForTraining(train.texts, train.labels),
      labels: train.labels,
    };
    const devSplit: Split = { seqs: await encoder.encodeForPrediction(dev.texts), labels: dev.labels };

    const classifier = new (loadNative().Classifier)();
    let featureDim = 0;
    try {
      if (o.method === 'embedding') {
        const model = await Qwen3Model.load(base.dir, { device, dtype });
        try {
          for (const split of [trainSplit, devSplit]) {
            const r = await cachedEmbeddings(model, split.seqs, {
              cacheDir: o.cacheDir,
              onProgress: (done, total) => this.emit('embedding', { done, total }),
            });
            split.features = r.features;
            featureDim = r.dim;
            this.emit('log', `embeddings for ${split.labels.length} posts: ${r.source}`);
          }
        } finally {
          model.dispose();
        }
      }
      const init = await classifier.init({
        method: o.method,
        training: true,
        ...nativeBaseSpec(o.method, base, true),
        device,
        dtype,
        lora: o.lora,
        head: o.head,
        featureDim,
        headDropout: EMBEDDING_HEAD_DROPOUT,
        numLabels: LABEL_TEXTS.length,
        labelTokens: [...DEFAULT_LABEL_TOKENS],
        endToken: DEFAULT_END_TOKEN,
        gradientCheckpointing: o.gradientCheckpointing,
        seed: o.seed,
        adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay },
      });
      this.emit(
        'log',
        `${o.method} on ${base.spec} (${dtype}, ${device}): ${init.trainableParameters} trainable parameters`
      );
      const info = this.newRunInfo(base, dtype, train.texts.length, dev.texts.length);
      this.emit('start', {
        dir: o.output,
        resume: o.resume,
        method: o.method,
        startedAt,
        trainableParameters: init.trainableParameters,
        baseParameters: await countParameters(base.files),
        trainExamples: train.texts.length,
        devExamples: dev.texts.length,
        dataFingerprint: dataFingerprint(all),
      });
      const result = await this.loop(classifier, info, base, trainSplit, devSplit);
      this.lastResult = result;
      return result;
    } finally {
      classifier.dispose();
    }
  }

  private newRunInfo(base: Qwen3Checkpoint, dtype: string, trainCount: number, devCount: number): RunInfo {
    const o = this.options;
    const now = new Date().toISOString();
    return {
      format: RUN_FORMAT,
      version: RUN_VERSION,
      method: o.method,
      baseModel: { spec: o.model, dir: base.dir, repoId: base.repoId, hiddenSize: base.config.hidden_size },
      labels: { ...ID2LABEL },
      maxLength: o.maxLength,
      prompt: o.method === 'lora' ? o.prompt : undefined,
      instruction: o.method === 'embedding' ? o.instruction : undefined,
      labelTokens: o.method === 'lora' ? [...DEFAULT_LABEL_TOKENS] : undefined,
      endToken: o.method === 'lora' ? DEFAULT_END_TOKEN : undefined,
      appendToken: defaultAppendToken(o.method),
      lora: usesLora(o.method) ? o.lora : undefined,
      head: o.method === 'embedding' ? o.head : undefined,
      dtype,
      hyperParameters: resumeFingerprint(o),
      history: [],
      trainExamples: trainCount,
      devExamples: devCount,
      createdAt: now,
      updatedAt: now,
      versions: { package: packageVersion(), libtorch: runtimeInfo().libtorchVersion },
    };
  }

  private async accumulate(c: NativeClassifier, split: Split, batch: number[], scale: number) {
    const labels = Int32Array.from(batch.map((i) => split.labels[i]));
    if (split.features) {
      const dim = split.features.length / split.labels.length;
      const feats = new Float32Array(batch.length * dim);
      batch.forEach((i, j) => feats.set(split.features!.subarray(i * dim, (i + 1) * dim), j * dim));
      return c.accumulateFeatures(feats, batch.length, labels, scale);
    }
    const seqs = batch.map((i) => split.seqs[i]);
    const lengths = Int32Array.from(seqs.map((s) => s.length));
    return c.accumulate(Int32Array.from(seqs.flat()), lengths, true, labels, scale);
  }

  /** Predicted labels for a split, batched by length. */
  private async predictSplit(c: NativeClassifier, split: Split): Promise<number[]> {
    const n = split.labels.length;
    if (split.features) return argmaxRows(await c.predictFeatures(split.features, n), LABEL_TEXTS.length);
    const predictions = new Array<number>(n);
    for (const b of packByLength(split.seqs, {
      maxBatchSize: Math.max(8, this.options.batchSize * 2),
      maxBatchTokens: DEFAULT_BATCH_LIMITS.maxBatchTokens * 2,
    })) {
      const labels = argmaxRows(await c.predict(b.ids, b.lengths, true), LABEL_TEXTS.length);
      b.indices.forEach((target, row) => (predictions[target] = labels[row]));
    }
    return predictions;
  }

  private async loop(
    c: NativeClassifier,
    info: RunInfo,
    base: Qwen3Checkpoint,
    train: Split,
    dev: Split
  ): Promise<TrainResult> {
    const o = this.options;
    fs.mkdirSync(o.output, { recursive: true });
    const lengths = train.seqs.map((s) => s.length);
    const batchesPerEpoch = Math.ceil(train.labels.length / o.batchSize);
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

    const checkpointDir = existingCheckpoint(o.output);
    if (o.resume && checkpointDir) {
      state = await this.restore(c, checkpointDir, state);
      this.emit('log', `resumed from ${checkpointDir} at step ${state.globalStep}`);
    } else if (o.resume) {
      this.emit('log', `no checkpoint in ${o.output}; starting from scratch`);
    }

    const started = Date.now();
    let stopped = false;
    let lastEvalStep = -1;
    outer: for (let epoch = state.epoch; epoch < o.epochs; epoch++) {
      const batches = planEpoch(lengths, o.batchSize, o.seed, epoch);
      let trainLossSum = 0;
      let trainLossCount = 0;
      for (let b = epoch === state.epoch ? state.batchInEpoch : 0; b < batches.length; b += o.gradientAccumulation) {
        const group = batches.slice(b, b + o.gradientAccumulation);
        const stepStart = Date.now();
        let loss = 0;
        let tokens = 0;
        let examples = 0;
        for (const batch of group) {
          const r = await this.accumulate(c, train, batch, 1 / group.length);
          loss += r.loss / group.length;
          tokens += r.tokens;
          examples += batch.length;
        }
        const lr = learningRateAt(state.globalStep, totalSteps, o.learningRate, warmupSteps, o.scheduler);
        const gradNorm = await c.step(lr, o.maxGradNorm);
        state.globalStep++;
        trainLossSum += loss;
        trainLossCount++;
        const seconds = Math.max(1e-6, (Date.now() - stepStart) / 1000);
        const progress: ProgressEvent = {
          epoch: epoch + 1,
          epochs: o.epochs,
          step: state.globalStep,
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
        const evalNow = o.evalSteps
          ? state.globalStep % o.evalSteps === 0 || (endOfEpoch && epoch === o.epochs - 1)
          : endOfEpoch;
        if (evalNow) {
          lastEvalStep = state.globalStep;
          const improved = await this.evaluate(
            c,
            state,
            dev,
            base,
            epoch + 1,
            trainLossCount ? trainLossSum / trainLossCount : loss
          );
          await this.saveCheckpoint(c, state);
          if (!improved && o.earlyStoppingPatience > 0 && state.evalsWithoutImprovement >= o.earlyStoppingPatience) {
            this.emit('log', `early stopping: ${state.evalsWithoutImprovement} evaluations without improvement`);
            break outer;
          }
        }
        if (this.stopRequested) {
          if (lastEvalStep !== state.globalStep) await this.saveCheckpoint(c, state);
          stopped = true;
          break outer;
        }
      }
    }
    state.info.stopped = stopped;
    state.info.updatedAt = new Date().toISOString();
    if (!state.info.best) {
      // Stopped before any evaluation: still leave usable weights.
      await publishRun(o.output, state.info, base, c);
    } else {
      writeRunInfo(o.output, state.info);
    }
    this.emit('done', { output: o.output, best: state.info.best, stopped });
    return { output: o.output, best: state.info.best, history: state.info.history, stopped, steps: state.globalStep };
  }

  private async evaluate(
    c: NativeClassifier,
    state: TrainerState,
    dev: Split,
    base: Qwen3Checkpoint,
    epoch: number,
    trainLoss: number
  ): Promise<boolean> {
    const o = this.options;
    const predictions = await this.predictSplit(c, dev);
    const metrics = computeMetrics(dev.labels, predictions);
    const value = metrics[o.bestMetric];
    const best = state.info.best;
    const improved = !best || value > best.value;
    state.info.history.push({ epoch, step: state.globalStep, trainLoss, metrics });
    if (improved) {
      state.info.best = { epoch, step: state.globalStep, metric: o.bestMetric, value, metrics };
      state.evalsWithoutImprovement = 0;
      state.info.updatedAt = new Date().toISOString();
      await publishRun(this.options.output, state.info, base, c);
    } else {
      state.evalsWithoutImprovement++;
    }
    this.emit('eval', { epoch, step: state.globalStep, metrics, best: improved } satisfies EvalEvent);
    return improved;
  }

  private async saveCheckpoint(c: NativeClassifier, state: TrainerState): Promise<void> {
    const dir = await writeCheckpoint(this.options.output, this.options.method, state, c);
    this.emit('checkpoint', { dir, step: state.globalStep });
  }

  private async restore(c: NativeClassifier, dir: string, fresh: TrainerState): Promise<TrainerState> {
    const files = checkpointFiles(dir, this.options.method);
    const saved = files.state as TrainerState;
    const want = JSON.stringify(fresh.fingerprint);
    if (JSON.stringify(saved.fingerprint) !== want) {
      throw new Error(
        `cannot resume from ${dir}: it was trained with different settings.\n  checkpoint: ${JSON.stringify(saved.fingerprint)}\n  now:        ${want}`
      );
    }
    await c.loadWeights(files.weights);
    await c.loadTrainingState(files.trainingState);
    return saved;
  }
}
