// What a Predictor can be told and what it answers, declared once (util/schema): the option checks, the Prediction
// type, and the JSON a prediction is printed, written and served as (serve's response schema is this one).
import { MODEL_SIZES } from '../qwen3/presets';
import { DeviceSchema, DTypeSchema } from '../qwen3/schema';
import { METHODS } from '../classifier/methods';
import { defaultsOf, NonEmptyString, OneOf, PositiveInt, Signal, Type, WithDefault, type Static } from '../util/schema';

export const PredictorOptionsSchema = Type.Object(
  {
    method: Type.Optional(OneOf(METHODS, { description: 'with modelSize: find ./models/qwen3_<method>_<size>' })),
    checkpoint: Type.Optional(
      NonEmptyString({ description: 'a run folder written by the Trainer / `qwen3-native train`' })
    ),
    model: Type.Optional(
      NonEmptyString({ description: "base model override (folder, repo id or 'tiny'); default: the one in run.json" })
    ),
    modelSize: Type.Optional(
      OneOf(MODEL_SIZES, { description: 'size preset used to find ./models/qwen3_<method>_<size> without checkpoint' })
    ),
    device: Type.Optional(DeviceSchema),
    dtype: Type.Optional(DTypeSchema),
    batchSize: Type.Optional(
      PositiveInt({
        description: 'most texts per forward pass (default 32); a predict() of any size is one native call',
      })
    ),
    offline: Type.Optional(Type.Boolean({ description: 'never download (also env HF_HUB_OFFLINE=1)' })),
    modelsDir: Type.Optional(NonEmptyString({ description: 'folder holding run folders (default ./models)' })),
  },
  { additionalProperties: false }
);
export type PredictorOptions = Static<typeof PredictorOptionsSchema>;

const prediction = {
  text: Type.String(),
  label: Type.Integer({ minimum: 0, description: 'the label id (default set: 1 positive, 0 negative)' }),
  sentiment: Type.String({ description: "the label's name (default set: 正面 or 负面)" }),
  confidence: Type.Number({ description: "the predicted label's probability" }),
  probabilities: Type.Array(Type.Number(), {
    minItems: 2,
    description: 'one per label, label 0 first (default set: [P(负面), P(正面)])',
  }),
  model: Type.String({ description: "the run that answered (its folder's name)" }),
};

/** One prediction, as Predictor.predict returns it. */
export const PredictionSchema = Type.Object(prediction, { additionalProperties: false });
export type Prediction = Static<typeof PredictionSchema>;

/** A span of the post and its attribution. */
export const AttributionSpanSchema = Type.Object(
  {
    text: Type.String({ description: 'the characters covered (whole characters: tokens that split one are merged)' }),
    start: Type.Integer({ minimum: 0, description: "where they start in the post's text (UTF-16 index, as slice)" }),
    end: Type.Integer({ minimum: 0, description: 'where they end (exclusive)' }),
    score: Type.Number({
      description:
        "the span's share of log p(label | post) - log p(label | baseline post of pad tokens): > 0 moved the " +
        'model towards the label, < 0 away from it',
    }),
  },
  { additionalProperties: false }
);
export type AttributionSpan = Static<typeof AttributionSpanSchema>;

/**
 * A prediction as JSON: what `predict --json` prints per prediction, `--out f.jsonl` writes and `serve` answers, with
 * the keys in this order.
 */
export const PredictionJsonSchema = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.String(), Type.Number()], { description: "--file's id column" })),
    ...prediction,
    labels: Type.Optional(
      Type.Array(Type.String(), {
        description: "the run's label set, label 0 first: only for sets other than the default 负面, 正面",
      })
    ),
    tokens: Type.Optional(
      Type.Array(AttributionSpanSchema, {
        description: "with --explain: the post's spans and how much each moved the model towards the label given",
      })
    ),
  },
  { additionalProperties: false }
);
export type PredictionJson = Static<typeof PredictionJsonSchema>;

/** The second argument of Predictor.predict. */
export const PredictCallOptionsSchema = Type.Object(
  {
    signal: Type.Optional(Signal({ description: "aborts the call: it rejects with the signal's reason" })),
  },
  { additionalProperties: false }
);
export type PredictCallOptions = Static<typeof PredictCallOptionsSchema>;

/**
 * How predictStream, and `qwen3-native predict` reading a pipe, group the texts of a stream into Predictor.predict
 * calls: a batch goes to the model once it holds `flushTexts` texts, or `flushMs` after its first text arrived.
 */
const stream = {
  /**
   * 64: calls of 64 texts gave 3,300 texts/s against 2,000 for calls of 32 and 3,500 for 128 (serve's maxBatchSize,
   * measured the same way), so a fast pipe loses little to batching, and a batch of 0.6B is still well under a second.
   */
  flushTexts: WithDefault(
    PositiveInt({ description: 'texts of a stream per model call: a batch goes once this many have arrived' }),
    64
  ),
  /**
   * 100 ms: a person watching `tail -f posts | qwen3-native predict` does not notice it, and a pipe that writes faster
   * fills a batch of flushTexts before it passes. A wait over a minute is a mistake, not a batching policy.
   */
  flushMs: WithDefault(
    Type.Number({
      minimum: 0,
      maximum: 60_000,
      description: 'ms a text of a stream waits for more before its batch goes to the model; 0: no wait',
    }),
    100
  ),
};

export const PredictStreamOptionsSchema = Type.Object(
  {
    ...Type.Partial(Type.Object(stream)).properties,
    signal: Type.Optional(Signal({ description: "aborts the stream: it throws the signal's reason" })),
  },
  { additionalProperties: false }
);
export type PredictStreamOptions = Static<typeof PredictStreamOptionsSchema>;
/** The properties of the stream options (the CLI's help reads their descriptions). */
export const STREAM_OPTIONS = stream;
export const STREAM_DEFAULTS = defaultsOf(stream);

/**
 * The second argument of Predictor.explain (and `predict --explain`, `POST /v1/explain`). Integrated gradients cost
 * `steps` forward and backward passes of the post (run together, several per pass).
 */
const explain = {
  /**
   * 32: on the tiny test models the completeness error (scores against the change in log-probability) was
   * 2e-2 at 8 steps and 1e-4 to 3e-4 at 64, falling as 1/steps^2; 32 keeps it near 1e-3 of a log-probability.
   */
  steps: WithDefault(
    PositiveInt({ maximum: 1024, description: 'points on the path from the baseline to the post (more: closer sums)' }),
    32
  ),
};
/** The properties of the explain options (the CLI's help reads their descriptions). */
export const EXPLAIN_OPTIONS = explain;
export const EXPLAIN_DEFAULTS = defaultsOf(explain);

export const ExplainOptionsSchema = Type.Object(
  {
    label: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), NonEmptyString()], {
        description: 'the label explained, by id or name (default: the predicted one)',
      })
    ),
    ...Type.Partial(Type.Object(explain)).properties,
    signal: Type.Optional(Signal({ description: "aborts the call: it rejects with the signal's reason" })),
  },
  { additionalProperties: false }
);
export type ExplainOptions = Static<typeof ExplainOptionsSchema>;

/** Predictor.explain's answer, which `predict --explain --json` prints and `POST /v1/explain` answers. */
export const ExplanationSchema = Type.Object(
  {
    text: prediction.text,
    label: Type.Integer({ minimum: 0, description: 'the label explained' }),
    sentiment: Type.String({ description: "the label's name" }),
    probability: Type.Number({ description: "the label's probability for the post" }),
    predicted: Type.Boolean({ description: 'whether the label is the one predicted' }),
    steps: Type.Integer({ minimum: 1, description: 'integration steps used' }),
    tokens: Type.Array(AttributionSpanSchema, {
      description: "the post's spans in order (the part the model read, when a long post was cut)",
    }),
    model: prediction.model,
  },
  { additionalProperties: false }
);
export type Explanation = Static<typeof ExplanationSchema>;
