// The shapes of a run folder's JSON files, each declared once: run.json (RunInfo), test_results.json (TestResults),
// a checkpoint's trainer_state.json (TrainerState) and PEFT's adapter_config.json (AdapterConfig). The types come from these
// declarations, and the readers (folder.ts, peft.ts) check every file against them (util/schema).
import type { Metrics } from '../classifier/metrics';
import { ID2LABEL, METHODS } from '../classifier/methods';
import { NonNegativeInt, OneOf, PositiveInt, Type, WithDefault, type Static, type TSchema } from '../util/schema';

export const RUN_FORMAT = 'qwen3-native-run';
export const RUN_VERSION = 1;

/** The modules LoRA can adapt: Qwen3's attention and MLP projections. */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

/** A run's LoRA settings; the defaults are the Trainer's (its `lora` option is this shape, every key optional). */
export const LoraSettingsSchema = Type.Object({
  r: WithDefault(PositiveInt({ description: 'LoRA rank' }), 8),
  alpha: WithDefault(
    Type.Number({ exclusiveMinimum: 0, description: 'LoRA alpha; scale = alpha / r (alpha / sqrt(r) with rslora)' }),
    16
  ),
  dropout: WithDefault(
    Type.Number({ minimum: 0, maximum: 0.99, description: "dropout on the LoRA path's input" }),
    0.05
  ),
  rslora: WithDefault(Type.Boolean({ description: 'rank-stabilised scale alpha / sqrt(r)' }), false),
  targetModules: WithDefault(
    Type.Array(Type.String(), { minItems: 1, description: `modules to adapt (of ${LORA_TARGETS.join(', ')})` }),
    ['q_proj', 'k_proj', 'v_proj', 'o_proj']
  ),
});
export type LoraSettings = Static<typeof LoraSettingsSchema>;

/** What a run was trained on, enough to tell other data from the same: --resume refuses other data by name. */
export const DataFingerprintSchema = Type.Object({
  name: Type.String({ description: 'the file as given, or a description of in-memory data' }),
  count: NonNegativeInt(),
  sha256: Type.String({ description: "sha256 over every example's text and label" }),
});
export type DataFingerprint = Static<typeof DataFingerprintSchema>;

/** What training a run took, measured by train/history.ts and written to run.json when training ends. */
export const RunTotalsSchema = Type.Object({
  trainSeconds: Type.Number({
    description: 'from train() to the end: data loading, tokenizing and (embedding) computing vectors included',
  }),
  steps: NonNegativeInt(),
  examplesSeen: NonNegativeInt(),
  tokensSeen: NonNegativeInt(),
  trainableParameters: NonNegativeInt(),
  totalParameters: NonNegativeInt({
    description: 'every parameter the trained classifier computes with: base model + adapters/head',
  }),
  peakRssBytes: NonNegativeInt({ description: "the process's peak resident memory at the end of training (VmHWM)" }),
  peakGpuBytes: Type.Union([NonNegativeInt(), Type.Null()], {
    description: "CUDA's peak allocated memory, null without CUDA",
  }),
});
export type RunTotals = Static<typeof RunTotalsSchema>;

/** Metrics as computeMetrics returns them (classifier/metrics.ts declares their shape). */
const MetricsSchema = Type.Unsafe<Metrics>(Type.Object({ accuracy: Type.Number(), macroF1: Type.Number() }));

/** run.json. Files written before a field existed read as its default. */
export const RunInfoSchema = Type.Object({
  format: Type.Literal(RUN_FORMAT),
  version: NonNegativeInt(),
  method: OneOf(METHODS),
  baseModel: Type.Object(
    {
      spec: Type.String(),
      dir: Type.String(),
      repoId: Type.Optional(Type.String()),
      hiddenSize: NonNegativeInt(),
      vocabSize: Type.Optional(PositiveInt()),
    },
    { description: "what the user asked for (folder, repo id, 'tiny') and where it was found" }
  ),
  labels: WithDefault(Type.Record(Type.String(), Type.String(), { description: 'label id -> name' }), ID2LABEL),
  maxLength: PositiveInt(),
  prompt: Type.Optional(Type.String()),
  instruction: Type.Optional(Type.String()),
  labelTokens: Type.Optional(
    Type.Array(NonNegativeInt(), {
      description: "lora: each label's answer word as tokens, the words concatenated (encoding.ts LabelAnswers)",
    })
  ),
  labelTokenCounts: Type.Optional(
    Type.Array(PositiveInt(), {
      description: 'lora: tokens per label word, written only when some word is not one token',
    })
  ),
  endToken: Type.Optional(NonNegativeInt()),
  appendToken: Type.Optional(NonNegativeInt({ description: 'token appended to every post before pooling (full)' })),
  lora: Type.Optional(LoraSettingsSchema),
  head: Type.Optional(OneOf(['linear', 'mlp'] as const)),
  dtype: Type.String(),
  hyperParameters: WithDefault(Type.Record(Type.String(), Type.Unknown()), {}),
  best: Type.Optional(
    Type.Object({
      epoch: NonNegativeInt(),
      step: NonNegativeInt(),
      metric: Type.String(),
      value: Type.Number(),
      metrics: MetricsSchema,
    })
  ),
  history: WithDefault(
    Type.Array(
      Type.Object({
        epoch: NonNegativeInt(),
        step: NonNegativeInt(),
        trainLoss: Type.Number(),
        metrics: Type.Optional(MetricsSchema),
      })
    ),
    []
  ),
  trainExamples: NonNegativeInt(),
  devExamples: NonNegativeInt(),
  data: Type.Optional(
    Type.Object(
      { train: DataFingerprintSchema, eval: Type.Optional(DataFingerprintSchema) },
      { description: 'the training (and given dev) data' }
    )
  ),
  stopped: Type.Optional(Type.Boolean()),
  totals: Type.Optional(RunTotalsSchema),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  versions: Type.Object({ package: Type.String(), libtorch: Type.String() }),
});
export type RunInfo = Static<typeof RunInfoSchema>;

/** The run folder's file holding the test-set result of its published weights (HF Trainer's name for it). */
export const TEST_RESULTS_FILE = 'test_results.json';
/** The run folder's model card: what the Hugging Face Hub shows for an uploaded folder (runs/model-card.ts). */
export const MODEL_CARD_FILE = 'README.md';

/** test_results.json: the run's published weights measured on a labelled test set (`train --test`). */
export const TestResultsSchema = Type.Object({
  data: DataFingerprintSchema,
  metrics: MetricsSchema,
  evaluatedAt: Type.String(),
});
export type TestResults = Static<typeof TestResultsSchema>;

/** A checkpoint's trainer_state.json: where training stands, and the run.json it will publish. */
export const TrainerStateSchema = Type.Object({
  fingerprint: Type.Record(Type.String(), Type.Unknown(), {
    description: 'the settings a resumed run must share (train/options.ts resumeFingerprint)',
  }),
  epoch: NonNegativeInt(),
  batchInEpoch: NonNegativeInt({ description: 'micro-batches of `epoch` already consumed' }),
  globalStep: NonNegativeInt(),
  evalsWithoutImprovement: NonNegativeInt(),
  info: RunInfoSchema,
});
export type TrainerState = Static<typeof TrainerStateSchema>;

/** A field PEFT may write as null as well as leave out. */
function Nullable<T extends TSchema>(schema: T) {
  return Type.Optional(Type.Union([schema, Type.Null()]));
}

/**
 * PEFT's adapter_config.json: the fields this package writes (peft.ts) and reads back; PeftModel.save_pretrained
 * writes more, which are left alone.
 */
export const AdapterConfigSchema = Type.Object({
  peft_type: Nullable(Type.String()),
  r: PositiveInt(),
  lora_alpha: Type.Number(),
  lora_dropout: Nullable(Type.Number()),
  use_rslora: Nullable(Type.Boolean()),
  use_dora: Nullable(Type.Boolean()),
  fan_in_fan_out: Nullable(Type.Boolean()),
  bias: Nullable(Type.String()),
  task_type: Nullable(Type.String()),
  base_model_name_or_path: Nullable(Type.String()),
  target_modules: Nullable(Type.Union([Type.String(), Type.Array(Type.Unknown())])),
  modules_to_save: Nullable(Type.Array(Type.String())),
  rank_pattern: Nullable(Type.Record(Type.String(), Type.Unknown())),
  alpha_pattern: Nullable(Type.Record(Type.String(), Type.Unknown())),
  auto_mapping: Type.Optional(Type.Unknown()),
  inference_mode: Nullable(Type.Boolean()),
  init_lora_weights: Type.Optional(Type.Unknown({ description: 'true, or an initialisation name ("gaussian")' })),
  layers_pattern: Type.Optional(Type.Unknown()),
  layers_to_transform: Type.Optional(Type.Unknown()),
  revision: Nullable(Type.String()),
});
export type AdapterConfig = Static<typeof AdapterConfigSchema>;
