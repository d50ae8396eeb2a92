// What `qwen3-native compare` can be told, declared once (util/schema): the checks, the defaults and the help's words.
import { METHODS, type Method } from '../classifier/methods';
import { MODEL_SIZES } from '../qwen3/presets';
import { DeviceSchema, DTypeSchema } from '../qwen3/schema';
import { NonEmptyString, NonNegativeInt, OneOf, PositiveInt, Type, WithDefault, defaultsOf } from '../util/schema';
import type { Static } from '../util/schema';

const compare = {
  test: NonEmptyString({ description: 'labelled test file every method is measured on' }),
  train: NonEmptyString({
    description:
      'training data every method trains on (same dev split and seed for all); absent: compare existing runs',
  }),
  methods: WithDefault(
    Type.Array(OneOf(METHODS), { description: 'methods to train and compare' }),
    // the write-up's question: every method, cheapest first
    ['embedding', 'lora', 'lora-head', 'full'] as Method[]
  ),
  modelSize: OneOf(MODEL_SIZES, { description: 'Qwen/Qwen3-<size> (Qwen/Qwen3-Embedding-<size> for embedding)' }),
  model: NonEmptyString({
    description:
      "a base for every method: 'tiny' (tiny-embedding for embedding), a repo id of a known size, or a folder",
  }),
  checkpoints: Type.Array(Type.String(), { description: 'compare these existing run folders instead of training' }),
  out: WithDefault(
    NonEmptyString({
      description: 'report folder: report.md, report.json, report.html (and, when training, runs/<method>)',
    }),
    'compare-report'
  ),
  seed: NonNegativeInt({ description: 'one seed for every method (split, data order, initialisation)' }),
  epochs: PositiveInt({ description: "passes over the data for every method, instead of each method's own" }),
  maxSamples: PositiveInt({ description: 'train on at most n examples (stratified, seeded)' }),
  /**
   * Posts timed one at a time for the latency percentiles. 50 gives a p95 from the 3rd-slowest call; the bundled
   * test file has 60 posts, so every one of a larger file's first 50 is timed once.
   */
  latencyPosts: WithDefault(PositiveInt({ description: 'posts timed one at a time for the latency percentiles' }), 50),
  /**
   * Throughput: the test file is predicted again until this much time has passed (at least once), so a 60-post file
   * that a tiny model predicts in 30 ms is timed over many passes instead of one timer tick.
   */
  throughputSeconds: WithDefault(
    PositiveInt({ description: 'the test file is predicted again until this many seconds have passed' }),
    2
  ),
  /**
   * The dev posts each run got most confidently wrong (its split made again from run.json; else the test file's),
   * explained (Predictor.explain, 32 steps each): 5 shows a pattern at the cost of 5 x 32 forward-and-backward passes
   * per run.
   */
  wrongPosts: WithDefault(
    NonNegativeInt({ description: 'dev posts shown per run that it got most confidently wrong, explained; 0: none' }),
    5
  ),
  device: DeviceSchema,
  dtype: DTypeSchema,
  offline: Type.Boolean({ description: 'never download (also env HF_HUB_OFFLINE=1)' }),
};

export const CompareOptionsSchema = Type.Partial(Type.Object(compare), { additionalProperties: false });
/** `test` is required: resolveCompareOptions says so with the other rules that tie options together (the CLI then
 * names its flag), so the schema leaves it optional. */
export type CompareOptions = Omit<Static<typeof CompareOptionsSchema>, 'test'> & { test: string };

/** The properties of CompareOptionsSchema (the CLI's help reads their descriptions). */
export const COMPARE_OPTIONS = compare;
export const COMPARE_DEFAULTS = defaultsOf(compare);
