// Predictor: serves a trained run folder. One native call per predict(): the core runs the texts in forward passes by
// length (for lora, the label tokens' logits at the answer position; no sampling, no generation loop).
import * as fs from 'fs';
import * as path from 'path';
import { loadNative, type NativeClassifier, type RunStats } from '../native';
import { batchLimits } from '../qwen3/batching';
import { openQwen3Folder, type Qwen3Folder } from '../qwen3/folder';
import { resolveDeviceAndDtype } from '../qwen3/runtime';
import { DEFAULT_MODEL_SIZE, findPreset, MODEL_SIZES, type ModelSize } from '../qwen3/presets';
import { expectOneOf, expectString, invalidTypeError } from '../util/is';
import { checkOptions } from '../util/schema-errors';
import { resolveBaseModel } from '../classifier/base-model';
import { nativeClassifierSpec } from '../classifier/native-spec';
import { ExampleEncoder } from '../classifier/encoding';
import { isDefaultLabels, labelsFromRecord } from '../classifier/labels';
import { familyFor, usesLora, weightsFileFor } from '../classifier/methods';
import { readRunInfo } from '../runs/folder';
import { type RunInfo } from '../runs/schema';
import { loraFromPeftConfig } from '../runs/peft';
import { findRunFor } from '../runs/lookup';
import { abortable, throwIfAborted, type AbortSignalLike } from '../util/abort';
import type { DisposableResource } from '../util/disposable';
import { PAD_TOKEN_ID } from '../qwen3/tokens';
import { attributionSpans } from './explain';
import {
  type AttributionSpan,
  EXPLAIN_DEFAULTS,
  ExplainOptionsSchema,
  type ExplainOptions,
  type Explanation,
  PredictCallOptionsSchema,
  PredictionJsonSchema,
  PredictorOptionsSchema,
  PredictStreamOptionsSchema,
  STREAM_DEFAULTS,
  type PredictCallOptions,
  type Prediction,
  type PredictionJson,
  type PredictorOptions,
  type PredictStreamOptions,
} from './schema';
import { batchedPredictions } from './stream';

export type { Explanation, ExplainOptions, Prediction, PredictorOptions, PredictCallOptions, PredictStreamOptions };

/** Forward passes per native call when a signal may abort a predict(): an abort waits for at most this many. */
const PASSES_PER_ABORTABLE_CALL = 4;
/**
 * Tokens per forward-and-backward pass of an explanation (the steps of a post run as copies of it): 512 tokens of
 * Qwen3-0.6B keep the activations backward needs to ~2 GB in float32 (28 layers x ~30k floats per token, 4 bytes).
 */
const EXPLAIN_TOKENS_PER_PASS = 512;

/**
 * A prediction as JSON (PredictionJsonSchema): what `predict --json` prints per prediction, `--out f.jsonl` writes and
 * `serve` answers, with the schema's keys in the schema's order; `labels` only for label sets other than the default
 * (whose output stays as it was).
 */
export function predictionJson(
  p: Prediction & { id?: string | number; labels?: readonly string[]; tokens?: AttributionSpan[] }
): PredictionJson {
  const source: Record<string, unknown> = {
    ...p,
    labels: p.labels && !isDefaultLabels(p.labels) ? [...p.labels] : undefined,
  };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(PredictionJsonSchema.properties)) if (source[key] !== undefined) out[key] = source[key];
  return out as PredictionJson;
}

/** Refuses token ids the run names (lora's label and end tokens, full's appended token) outside the vocabulary. */
function checkTokenIds(info: RunInfo, runDir: string, base: Qwen3Folder): void {
  const vocab = base.hf.vocab_size;
  if (typeof vocab !== 'number' || !(vocab > 0)) return;
  const ids = [...(info.labelTokens ?? []), info.endToken, info.appendToken].filter(
    (id): id is number => id !== undefined
  );
  const outside = ids.filter((id) => !Number.isSafeInteger(id) || id < 0 || id >= vocab);
  if (outside.length) {
    throw new Error(
      `${runDir}: token ids ${outside.join(', ')} (the run's label/end tokens, run.json's labelTokens) are outside ` +
        `the base model's vocabulary (${vocab} tokens, ${base.dir}): the run was made for another model. Pass its base ` +
        'model with --model / { model }, or train the run again'
    );
  }
}

/** A label given by id or by name, as its id; unknown ones are refused, listing the run's labels. */
export function labelIndex(label: number | string, labels: readonly string[]): number {
  const index = typeof label === 'number' ? label : labels.indexOf(label);
  if (index >= 0 && index < labels.length) return index;
  throw new RangeError(
    `Expected label to be one of the run's labels, ${labels.map((l, i) => `${i} (${l})`).join(', ')}, but received ` +
      JSON.stringify(label)
  );
}

export class Predictor implements DisposableResource {
  readonly options: PredictorOptions;
  private loading?: Promise<void>;
  private classifier?: NativeClassifier;
  private encoder?: ExampleEncoder;
  private runInfo?: RunInfo;
  private labelSet?: string[];
  private runDir?: string;
  private disposed = false;

  constructor(spec: ModelSize | PredictorOptions) {
    let options: PredictorOptions;
    if (typeof spec === 'string') {
      expectOneOf(spec, 'size', MODEL_SIZES);
      options = { modelSize: spec };
    } else {
      checkOptions(PredictorOptionsSchema, spec);
      options = { ...spec };
    }
    this.options = options;
  }

  /** run.json of the loaded run (after load()). */
  get info(): RunInfo | undefined {
    return this.runInfo;
  }

  /** The run's label set, label 0 first (after load()). */
  get labels(): readonly string[] | undefined {
    return this.labelSet;
  }

  get name(): string {
    return this.runDir ? path.basename(this.runDir) : '';
  }

  /** The run folder this predictor serves (resolved from checkpoint, or method + size under ./models). */
  runFolder(): string {
    const o = this.options;
    if (o.checkpoint) return path.resolve(o.checkpoint);
    const size = o.modelSize ?? DEFAULT_MODEL_SIZE;
    const { candidates, found } = findRunFor(o.modelsDir ?? path.resolve('models'), size, o.method);
    if (!found) {
      throw new Error(
        `no trained model for size ${size}${o.method ? ` and method ${o.method}` : ''}: looked for ${candidates.join(', ')}. ` +
          'Train one with `npx qwen3-native train`, or pass { checkpoint: <run folder> }.'
      );
    }
    return found;
  }

  /** Loads the run (done lazily by predict/encode). */
  async load(): Promise<void> {
    if (this.disposed) throw new Error('load: the predictor was disposed');
    this.loading ??= this.doLoad();
    return this.loading;
  }

  /** The base model: the run itself for `full`; else the recorded folder when it still exists, else resolved. */
  private async base(info: RunInfo, runDir: string): Promise<Qwen3Folder> {
    if (info.method === 'full') return openQwen3Folder(runDir);
    const spec = this.options.model ?? info.baseModel.spec;
    if (!spec)
      throw new Error(
        `${runDir} does not name its base model (adapter_config.json has no base_model_name_or_path): pass { model }`
      );
    if (!this.options.model && fs.existsSync(path.join(info.baseModel.dir, 'config.json'))) {
      return openQwen3Folder(info.baseModel.dir, info.baseModel.spec, info.baseModel.repoId);
    }
    // An adapter from the old LoRA script names its base as the folder it was read from (./models/qwen3-0.6b);
    // elsewhere that folder is missing, and the model it names is looked up as the old script did (Hub id, cache).
    const named =
      !this.options.model && !fs.existsSync(spec) ? findPreset(path.basename(spec), familyFor(info.method)) : undefined;
    return resolveBaseModel(named ? named.repoId : spec, info.method, {
      offline: this.options.offline,
      preferRepoId: this.options.model ? undefined : info.baseModel.repoId,
    });
  }

  private async doLoad(): Promise<void> {
    const runDir = this.runFolder();
    const info = readRunInfo(runDir);
    const labels = labelsFromRecord(info.labels, path.join(runDir, 'run.json'));
    const base = await this.base(info, runDir);
    checkTokenIds(info, runDir, base);
    const { device, dtype } = resolveDeviceAndDtype({ device: this.options.device, dtype: this.options.dtype });
    this.encoder = new ExampleEncoder(base.tokenizer, {
      method: info.method,
      maxLength: info.maxLength,
      prompt: info.prompt,
      instruction: info.instruction,
      labelTokens: info.labelTokens,
      labelTokenCounts: info.labelTokenCounts,
      appendToken: info.appendToken,
    });
    // One native object for every method: for embedding, the classifier loads the Qwen3-Embedding base itself.
    const classifier = new (loadNative().Classifier)();
    try {
      const lora = usesLora(info.method) ? loraFromPeftConfig(path.join(runDir, 'adapter_config.json')) : undefined;
      await classifier.init(
        nativeClassifierSpec({
          method: info.method,
          base,
          device,
          dtype,
          numLabels: labels.length,
          head: info.head ?? 'linear',
          lora,
          labelTokens: info.labelTokens,
          labelTokenCounts: info.labelTokenCounts,
          endToken: info.endToken,
        })
      );
      const weights = path.join(runDir, weightsFileFor(info.method));
      await classifier.loadWeights(weights);
    } catch (e) {
      classifier.dispose();
      throw new Error(`could not load the trained model in ${runDir}: ${(e as Error).message}`);
    }
    this.classifier = classifier;
    this.runInfo = info;
    this.labelSet = labels;
    this.runDir = runDir;
  }

  /** The exact token ids the model reads for `text`. */
  async encode(text: string): Promise<number[]> {
    if (this.disposed) throw new Error('encode: the predictor was disposed');
    expectString(text, 'text');
    await this.load();
    return Array.from((await this.encoder!.encodeForPrediction([text])).ids);
  }

  /**
   * Classifies one text, or many in one native call. With `{ signal }`, an abort rejects the call at once with the
   * signal's reason; the texts go to the core in calls of a few forward passes, and none starts after the abort.
   */
  predict(text: string, options?: PredictCallOptions): Promise<Prediction>;
  predict(texts: string[], options?: PredictCallOptions): Promise<Prediction[]>;
  predict(input: string | string[], options?: PredictCallOptions): Promise<Prediction | Prediction[]>;
  async predict(input: string | string[], options: PredictCallOptions = {}): Promise<Prediction | Prediction[]> {
    if (this.disposed) throw new Error('predict: the predictor was disposed');
    const single = typeof input === 'string';
    const texts = single ? [input] : input;
    if (!Array.isArray(texts)) throw invalidTypeError('a string or an array of strings', 'texts', input);
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw invalidTypeError('a string', `texts[${i}]`, t);
    });
    checkOptions(PredictCallOptionsSchema, options);
    const { signal } = options;
    throwIfAborted(signal);
    await abortable(this.load(), signal);
    if (this.disposed || !this.classifier) throw new Error('predict: the predictor was disposed');
    const probs = await abortable(this.probabilities(texts, signal), signal);
    const name = this.name;
    const labels = this.labelSet!;
    const n = labels.length;
    const rows = texts.map((_, i) => Array.from(probs.subarray(i * n, (i + 1) * n)));
    const bad = rows.filter((p) => !p.every(Number.isFinite));
    if (bad.length) {
      throw new Error(
        `${this.runDir}: the model gives non-finite probabilities (NaN or infinity) for ${bad.length} of ${texts.length} ` +
          'text(s): its weights hold NaN or infinite values (e.g. saved by a training run that diverged). Train it again ' +
          '(with a lower --learning-rate), or use another run'
      );
    }
    const out = texts.map((text, i): Prediction => {
      const p = rows[i];
      // argmax, ties to the lower id (as the binary p[1] > p[0] always did)
      const label = p.reduce((best, v, c) => (v > p[best] ? c : best), 0);
      return { text, label, sentiment: labels[label], confidence: p[label], probabilities: p, model: name };
    });
    return single ? out[0] : out;
  }

  /**
   * Which parts of `text` moved the model towards a label (the predicted one, or `label`): integrated gradients of
   * the label's log-probability over the post's token embeddings, from a baseline of pad tokens (the prompt, if any,
   * kept), in `steps` points (default 32), merged into spans of whole characters whose scores sum to about
   * log p(label | text) - log p(label | baseline). The weights stay as they are.
   */
  async explain(text: string, options: ExplainOptions = {}): Promise<Explanation> {
    if (this.disposed) throw new Error('explain: the predictor was disposed');
    expectString(text, 'text');
    checkOptions(ExplainOptionsSchema, options);
    const { signal } = options;
    const steps = options.steps ?? EXPLAIN_DEFAULTS.steps;
    const prediction = await this.predict(text, { signal });
    const labels = this.labelSet!;
    const label = options.label === undefined ? prediction.label : labelIndex(options.label, labels);
    const input = await abortable(this.encoder!.encodeForExplanation(text), signal);
    throwIfAborted(signal);
    if (this.disposed || !this.classifier) throw new Error('explain: the predictor was disposed');
    const tokens =
      input.to > input.from
        ? attributionSpans(
            input,
            (
              await abortable(
                this.classifier.explain(input.ids, {
                  from: input.from,
                  to: input.to,
                  label,
                  steps,
                  baselineToken: PAD_TOKEN_ID,
                  maxTokensPerPass: EXPLAIN_TOKENS_PER_PASS,
                }),
                signal
              )
            ).scores
          )
        : [];
    return {
      text,
      label,
      sentiment: labels[label],
      probability: prediction.probabilities[label],
      predicted: label === prediction.label,
      steps,
      tokens,
      model: this.name,
    };
  }

  /**
   * Predictions of a stream of texts (an async iterable such as a readline interface, or any iterable), in its
   * order, each yielded as soon as its batch is done: texts are read as they arrive and batched into predict()
   * calls, a batch closed at `flushTexts` texts or `flushMs` after its first text arrived. Breaking out of the loop
   * stops the reading (the source's return() is called) and starts no further batch.
   */
  predictStream(texts: AsyncIterable<string> | Iterable<string>, options: PredictStreamOptions = {}) {
    if (this.disposed) throw new Error('predictStream: the predictor was disposed');
    checkOptions(PredictStreamOptionsSchema, options);
    const settings = { ...STREAM_DEFAULTS, ...options };
    return batchedPredictions(texts, (batch, signal) => this.predict(batch, { signal }), settings);
  }

  /** [texts * labels] probabilities in input order, from one native call however many texts there are (the core
   * cuts them into forward passes of at most `batchSize` texts and 4,096 padded tokens); with a signal, from calls of
   * a few passes each, none started once it aborted. */
  private async probabilities(texts: string[], signal?: AbortSignalLike): Promise<Float32Array> {
    if (texts.length === 0) return new Float32Array(0);
    const limits = batchLimits(this.options.batchSize);
    const slice = signal ? PASSES_PER_ABORTABLE_CALL * limits.maxBatchSize : texts.length;
    const parts: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += slice) {
      throwIfAborted(signal);
      const s = await this.encoder!.encodeForPrediction(texts.slice(i, i + slice));
      throwIfAborted(signal);
      parts.push(await this.classifier!.predict(s.ids, s.lengths, true, limits));
    }
    if (parts.length === 1) return parts[0];
    const out = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
    parts.reduce((offset, p) => (out.set(p, offset), offset + p.length), 0);
    return out;
  }

  /**
   * Work done so far: tokens run through the model, and tokens of the prompt (the part every input starts with)
   * reused from the first batch instead of run again for each text.
   */
  stats(): RunStats {
    if (this.disposed) throw new Error('stats: the predictor was disposed');
    return this.classifier?.stats() ?? { tokensRun: 0, tokensReused: 0 };
  }

  /** Frees native memory (idempotent). */
  dispose(): void {
    this.disposed = true;
    this.classifier?.dispose();
    this.classifier = undefined;
  }

  /** dispose(), for `using predictor = new Predictor(...)`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** dispose(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}
