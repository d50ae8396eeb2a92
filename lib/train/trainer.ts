// Trainer: fine-tunes a Qwen3 sentiment classifier with one of four methods. This file prepares a run (data, base
// model, the work folder it trains in, the native classifier) and publishes it when it finishes; the loop itself is
// loop.ts. Every forward, backward and optimizer step runs in the native core off the JS thread.
import * as path from 'path';
import { loadNative } from '../native';
import type { Qwen3Folder } from '../qwen3/folder';
import { Qwen3Model } from '../qwen3/model';
import { resolveDeviceAndDtype, runtimeInfo } from '../qwen3/runtime';
import { checkOptions } from '../util/schema-errors';
import { packageVersion } from '../util/paths';
import { resolveBaseModel } from '../classifier/base-model';
import { nativeClassifierSpec } from '../classifier/native-spec';
import { DataParallel } from './distributed';
import { cachedEmbeddings } from './embedding-cache';
import { ExampleEncoder, labelTokensFor, type LabelAnswers } from '../classifier/encoding';
import {
  defaultEmbeddingInstruction,
  defaultLoraPrompt,
  describeLabels,
  fillLabelsPlaceholder,
  id2label,
  type LabelSet,
} from '../classifier/labels';
import { DEFAULT_END_TOKEN, defaultAppendToken, usesLora } from '../classifier/methods';
import { attachRunHistory, countParameters } from './history';
import { copyRun, isRunFolder } from '../runs/folder';
import { writeModelCard } from '../runs/results';
import { RUN_FORMAT, RUN_VERSION, type DataFingerprint, type RunInfo } from '../runs/schema';
import {
  acquireWorkFolder,
  checkOutputFolder,
  publishWorkFolder,
  refuseBaseModelOutput,
  removeCheckpoints,
  workFolder,
  CHECKPOINT,
} from '../runs/staging';
import { sliceSample, stratifiedSplit } from './split';
import { TrainingLoop, type Split } from './loop';
import { fingerprintData, loadData, missingClasses, type LabelledTexts, type TrainData } from './data';
import { TypedEmitter, type TrainerEvents, type TrainResult } from './events';
import { resolveTrainerOptions, resumeFingerprint, type ResolvedTrainerOptions, type TrainerOptions } from './options';
import { TrainCallOptionsSchema, type TrainCallOptions } from './schema';
import { rankFingerprint } from './fingerprint';
import { throwIfAborted, whenAborted } from '../util/abort';
import type { AsyncDisposableResource } from '../util/disposable';

/** How posts become model input for the run's label set (lora's prompt and label tokens, embedding's instruction). */
interface TextSettings extends LabelAnswers {
  prompt: string;
  instruction: string;
}

export class Trainer extends TypedEmitter implements AsyncDisposableResource {
  readonly options: ResolvedTrainerOptions;
  private stopRequested = false;
  private training = false;
  /** the train() running now, for Symbol.asyncDispose to wait for */
  private running?: Promise<unknown>;
  /** Date.now() when train() began: data loading, tokenizing and embedding count as training time (run.json totals) */
  private startedAt = 0;
  private lastResult?: TrainResult;
  /** where the last train() left its run: the output once published, else its work folder */
  private lastRunDir?: string;
  /** false on ranks other than 0 of a data-parallel run: they emit no events (rank 0 reports the run) */
  private reporting = true;

  constructor(options: TrainerOptions) {
    super();
    this.options = resolveTrainerOptions(options);
    attachRunHistory(this);
  }

  emit<E extends keyof TrainerEvents>(event: E, ...args: TrainerEvents[E]): boolean {
    return this.reporting ? super.emit(event, ...args) : false;
  }

  /** Asks a running train() to stop after the current optimizer step; it saves a checkpoint and resolves. */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * For `await using trainer = new Trainer(...)`: a train() still running at the end of the scope stops after its
   * current step, as stop() does (its checkpoint kept for resume), and this waits until it has.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.running) return;
    this.stop();
    await this.running.catch(() => undefined);
  }

  /** Copies the trained run (weights, adapter/model config, run.json) to `dir`. */
  async save(dir: string): Promise<void> {
    if (this.training) throw new Error('save: train() is still running (await it first)');
    if (!this.lastResult || !this.lastRunDir || !isRunFolder(this.lastRunDir))
      throw new Error('save: nothing trained yet (await trainer.train(...) first)');
    const target = path.resolve(dir);
    if (target === this.lastRunDir) return;
    copyRun(this.lastRunDir, target);
    writeModelCard(target); // the card names the folder it is in
  }

  /**
   * Trains and, when the run finishes, publishes it at `options.output` (replacing a finished run there only now).
   * One train() at a time per Trainer: a second call while one runs rejects. `signal` stops it as stop() does; one
   * already aborted rejects the call with its reason, before anything is read or written.
   */
  train(trainData: TrainData, options?: TrainCallOptions): Promise<TrainResult> {
    const running = this.trainGuarded(trainData, options);
    if (!this.running) {
      this.running = running;
      void running.finally(() => (this.running = undefined)).catch(() => undefined);
    }
    return running;
  }

  private async trainGuarded(trainData: TrainData, options?: TrainCallOptions): Promise<TrainResult> {
    if (this.training) {
      throw new Error(
        'train: this Trainer is already training (one train() at a time per Trainer; create a second Trainer, with ' +
          'its own output folder, to train two runs at once)'
      );
    }
    const extra = options ?? {};
    checkOptions(TrainCallOptionsSchema, extra);
    throwIfAborted(extra.signal);
    this.training = true;
    this.stopRequested = false;
    const stopListening = whenAborted(extra.signal, () => this.stop());
    try {
      const d = this.options.distributed;
      const dp = d ? await DataParallel.join(d) : DataParallel.single();
      this.reporting = dp.isWriter;
      try {
        return await this.trainOnce(trainData, dp, extra);
      } finally {
        this.reporting = true;
        dp.dispose();
      }
    } finally {
      stopListening();
      this.training = false;
    }
  }

  private async trainOnce(trainData: TrainData, dp: DataParallel, extra: TrainCallOptions): Promise<TrainResult> {
    const o = this.options;
    checkOutputFolder(o.output);
    this.startedAt = Date.now();
    const all = await loadData(trainData, 'trainData', o.labels);
    const labelSet = all.labelSet;
    const data: NonNullable<RunInfo['data']> = { train: fingerprintData(all, 'trainData arrays') };
    let train: LabelledTexts = all;
    let dev: LabelledTexts;
    if (extra.evalData !== undefined) {
      dev = await loadData(extra.evalData, 'evalData', labelSet);
      data.eval = fingerprintData(dev, 'evalData arrays');
    } else {
      const split = stratifiedSplit(all.labels, o.devFraction, o.seed);
      train = { texts: split.train.map((i) => all.texts[i]), labels: split.train.map((i) => all.labels[i]) };
      dev = { texts: split.dev.map((i) => all.texts[i]), labels: split.dev.map((i) => all.labels[i]) };
    }
    // Ranks given other settings or other data would train different models, or fail mid-run in a collective.
    await dp.checkAgreement(rankFingerprint(o, data));
    if (o.maxSamples !== undefined && o.maxSamples < train.texts.length)
      train = sliceSample(train, o.maxSamples, o.seed);
    if (train.texts.length === 0) throw new Error('no training examples');
    const missing = missingClasses(train.labels, labelSet);
    if (missing.length)
      this.emit(
        'log',
        `warning: no training examples of ${missing.join(', ')} (label set ${describeLabels(labelSet)}): the model ` +
          'cannot learn to predict them; add examples of each label, or leave them out of --labels / { labels }'
      );
    if (dev.texts.length === 0) {
      throw new Error('no dev examples: the training data needs at least 2 posts of each label, or pass { evalData }');
    }

    const base = await resolveBaseModel(o.model, o.method, {
      offline: o.offline,
      onProgress: (p) => this.emit('download', p),
      onNote: (line) => this.emit('log', line),
    });
    refuseBaseModelOutput(o.output, base.dir);
    // Before the work folder: a label set lora cannot answer is refused with nothing written.
    const text: TextSettings = {
      prompt: o.method === 'lora' ? fillLabelsPlaceholder(o.prompt ?? defaultLoraPrompt(labelSet), labelSet) : '',
      instruction: o.instruction ?? defaultEmbeddingInstruction(labelSet),
      ...(o.method === 'lora' ? await labelTokensFor(labelSet, base.tokenizer) : { labelTokens: [] }),
    };
    // Rank 0 owns the work folder; the others read its checkpoint when resuming (a folder every rank sees: one
    // machine, or a shared file system), once rank 0 has settled it.
    const lease = dp.isWriter
      ? acquireWorkFolder(o.output, o.resume, (line) => this.emit('log', line))
      : { output: o.output, dir: workFolder(o.output), resumed: o.resume, release: () => undefined };
    try {
      await dp.barrier();
      const result = await this.trainIn(
        lease.dir,
        lease.resumed || o.resume,
        base,
        train,
        dev,
        data,
        labelSet,
        text,
        dp
      );
      if (!dp.isWriter) {
        this.lastRunDir = undefined;
      } else if (!result.stopped) {
        if (!o.keepCheckpoint) {
          removeCheckpoints(lease.dir);
          this.emit(
            'log',
            `removed the finished run's ${CHECKPOINT}/ (a ${o.method} checkpoint is 3x the model's size); keep it with keepCheckpoint: true (--keep-checkpoint)`
          );
        }
        const kept = publishWorkFolder(lease);
        if (kept)
          this.emit(
            'log',
            `note: files added to ${o.output} while this run trained are kept with the run it replaced: ${kept}`
          );
        this.lastRunDir = o.output;
      } else {
        this.lastRunDir = lease.dir;
      }
      // Every rank returns once the run is published.
      await dp.barrier();
      const done: TrainResult = {
        output: o.output,
        best: result.info.best,
        history: result.info.history,
        stopped: result.stopped,
        steps: result.steps,
        checkpoint: result.stopped ? result.checkpoint : undefined,
      };
      this.lastResult = done;
      this.emit('done', { output: o.output, best: done.best, stopped: done.stopped });
      return done;
    } finally {
      lease.release();
    }
  }

  private async trainIn(
    dir: string,
    resume: boolean,
    base: Qwen3Folder,
    train: LabelledTexts,
    dev: LabelledTexts,
    data: { train: DataFingerprint; eval?: DataFingerprint },
    labelSet: LabelSet,
    text: TextSettings,
    dp: DataParallel
  ) {
    const o = this.options;
    // A data-parallel rank on CUDA takes its machine's GPU number LOCAL_RANK (as torchrun's workers do).
    const localRank = o.distributed?.localRank;
    const wanted =
      localRank !== undefined && (o.device === 'cuda' || (o.device === 'auto' && runtimeInfo().cudaAvailable));
    const { device, dtype } = resolveDeviceAndDtype({
      device: wanted ? (`cuda:${localRank}` as const) : o.device,
      dtype: o.dtype,
    });
    const encoder = new ExampleEncoder(base.tokenizer, {
      method: o.method,
      maxLength: o.maxLength,
      prompt: text.prompt,
      instruction: text.instruction,
      labelTokens: text.labelTokens,
      labelTokenCounts: text.labelTokenCounts,
      appendToken: defaultAppendToken(o.method),
    });
    const trainSplit: Split = {
      seqs: await encoder.encodeForTraining(train.texts, train.labels),
      labels: train.labels,
    };
    const devSplit: Split = { seqs: await encoder.encodeForPrediction(dev.texts), labels: dev.labels };

    const classifier = new (loadNative().Classifier)();
    try {
      if (o.method === 'embedding') {
        const model = await Qwen3Model.load(base.dir, { device, dtype });
        try {
          for (const split of [trainSplit, devSplit]) {
            const r = await cachedEmbeddings(model, split.seqs, {
              cacheDir: o.cacheDir,
              onProgress: (done, total) => this.emit('embedding', { done, total }),
              shard: dp.embeddingShard(),
            });
            split.features = r.features;
            const shared = r.source === 'computed' && dp.worldSize > 1;
            this.emit(
              'log',
              `embeddings for ${split.labels.length} posts: ${r.source}` +
                (shared ? ` (${r.embedded} of them by this process, the rest by the other ${dp.worldSize - 1})` : '')
            );
          }
        } finally {
          model.dispose();
        }
      }
      const init = await classifier.init(
        nativeClassifierSpec({
          method: o.method,
          base,
          device,
          dtype,
          numLabels: labelSet.length,
          head: o.head,
          lora: o.lora,
          labelTokens: text.labelTokens,
          labelTokenCounts: text.labelTokenCounts,
          training: { seed: o.seed, gradientCheckpointing: o.gradientCheckpointing, weightDecay: o.weightDecay },
        })
      );
      this.emit(
        'log',
        `${o.method} on ${base.spec} (${dtype}, ${device}): ${init.trainableParameters} trainable parameters`
      );
      const info = this.newRunInfo(base, dtype, train.texts.length, dev.texts.length, data, labelSet, text);
      this.emit('start', {
        dir,
        resume,
        method: o.method,
        startedAt: this.startedAt,
        trainableParameters: init.trainableParameters,
        baseParameters: await countParameters(base.files),
        trainExamples: train.texts.length,
        devExamples: dev.texts.length,
      });
      const loop = new TrainingLoop(o, classifier, dir, base, this.emit.bind(this), () => this.stopRequested, dp);
      return await loop.run(info, trainSplit, devSplit, resume);
    } finally {
      classifier.dispose();
    }
  }

  private newRunInfo(
    base: Qwen3Folder,
    dtype: string,
    trainCount: number,
    devCount: number,
    data: RunInfo['data'],
    labelSet: LabelSet,
    text: TextSettings
  ): RunInfo {
    const o = this.options;
    const now = new Date().toISOString();
    return {
      format: RUN_FORMAT,
      version: RUN_VERSION,
      method: o.method,
      baseModel: { spec: o.model, dir: base.dir, repoId: base.repoId, hiddenSize: base.config.hidden_size },
      labels: id2label(labelSet),
      maxLength: o.maxLength,
      prompt: o.method === 'lora' ? text.prompt : undefined,
      instruction: o.method === 'embedding' ? text.instruction : undefined,
      labelTokens: o.method === 'lora' ? text.labelTokens : undefined,
      labelTokenCounts: o.method === 'lora' ? text.labelTokenCounts : undefined,
      endToken: o.method === 'lora' ? DEFAULT_END_TOKEN : undefined,
      appendToken: defaultAppendToken(o.method),
      lora: usesLora(o.method) ? o.lora : undefined,
      head: o.method === 'embedding' ? o.head : undefined,
      dtype,
      hyperParameters: resumeFingerprint(o),
      history: [],
      trainExamples: trainCount,
      devExamples: devCount,
      data,
      createdAt: now,
      updatedAt: now,
      versions: { package: packageVersion(), libtorch: runtimeInfo().libtorchVersion },
    };
  }
}
