// What a Trainer can be told, declared once (util/schema): the types, the checks, the defaults that are the same for
// every method (per-method ones: classifier/methods.ts METHOD_DEFAULTS) and the CLI help's words all come from here.
import { DEFAULT_MODEL_SIZE, MODEL_SIZES } from '../qwen3/presets';
import { DeviceSchema, DTypeSchema } from '../qwen3/schema';
import { LORA_TARGETS, LoraSettingsSchema } from '../runs/schema';
import { METHODS } from '../classifier/methods';
import {
  NonEmptyString,
  NonNegativeInt,
  OneOf,
  PositiveInt,
  Signal,
  Type,
  WithDefault,
  defaultsOf,
  type Static,
} from '../util/schema';
import { SCHEDULERS } from './schedule';
import type { TrainData } from './data';

/** LoRA settings of a run; every key optional (defaults: the run format's, runs/schema.ts). */
export const LoraOptionsSchema = Type.Partial(
  Type.Object({
    ...LoraSettingsSchema.properties,
    targetModules: WithDefault(
      Type.Array(OneOf(LORA_TARGETS), {
        minItems: 1,
        expected: 'a non-empty list of module names',
        description: LoraSettingsSchema.properties.targetModules.description,
      }),
      ['q_proj', 'k_proj', 'v_proj', 'o_proj']
    ),
  }),
  { additionalProperties: false }
);
export type LoraOptions = Static<typeof LoraOptionsSchema>;

/** Where one process stands in a data-parallel run: the names and meaning of torchrun's environment variables. */
export const DistributedOptionsSchema = Type.Object(
  {
    rank: NonNegativeInt({ description: 'RANK: 0..worldSize-1 over every machine' }),
    worldSize: PositiveInt({ description: 'WORLD_SIZE: processes over every machine' }),
    localRank: Type.Optional(
      NonNegativeInt({ description: 'LOCAL_RANK: index on this machine (picks cuda:LOCAL_RANK)' })
    ),
    localWorldSize: Type.Optional(
      PositiveInt({
        description: 'LOCAL_WORLD_SIZE: processes on this machine (each gets cores / LOCAL_WORLD_SIZE threads)',
      })
    ),
    masterAddr: Type.Optional(
      WithDefault(
        NonEmptyString({ description: 'address of node 0, which hosts the rendezvous (MASTER_ADDR)' }),
        '127.0.0.1'
      )
    ),
    masterPort: Type.Optional(
      WithDefault(
        Type.Integer({ minimum: 1, maximum: 65535, description: 'rendezvous port on node 0 (MASTER_PORT)' }),
        29500
      )
    ),
    storeFile: Type.Optional(
      WithDefault(
        Type.String({
          description:
            'a run on one machine: the rendezvous is this file (in a folder only this user can read) instead of the ' +
            "TCP store at masterAddr:masterPort, so no port is opened (QWEN3_NATIVE_RENDEZVOUS_FILE; '': the TCP store)",
        }),
        ''
      )
    ),
    rendezvousToken: Type.Optional(
      WithDefault(
        Type.String({
          description:
            "a secret every machine of the run shares: rank 0's rendezvous store refuses a rank that does not present " +
            "it (QWEN3_NATIVE_RENDEZVOUS_TOKEN; '': the store admits anyone who reaches the port)",
        }),
        ''
      )
    ),
    // The longest stretch one rank works alone must fit: rank 0 writing a checkpoint while the others wait in the next
    // collective (an 8B full checkpoint is ~100 GB with the optimizer moments), so torch.distributed's 30 min. A rank
    // that dies closes its sockets and fails the others at once; one that is stopped, frozen or cut off is caught by
    // livenessMs; only a rank alive but stuck waits this long.
    timeoutMs: Type.Optional(
      WithDefault(
        PositiveInt({
          description: 'rendezvous and each collective: a rank alive but stuck fails the others after this long',
        }),
        1_800_000
      )
    ),
    // Each rank shows signs of life in the store every livenessMs / 10 (csrc/core/liveness.h): 30 s tells a stopped
    // rank from a busy one (a 0.6B training step on 2 cores is ~16 s, and the heartbeat runs beside it) and keeps a
    // lost rank's cost under a minute.
    livenessMs: Type.Optional(
      WithDefault(
        Type.Integer({
          minimum: 1000,
          description: 'a rank with no sign of life this long (stopped, frozen, or cut off) fails the others',
        }),
        30_000
      )
    ),
  },
  { additionalProperties: false }
);
export type DistributedOptions = Static<typeof DistributedOptionsSchema>;
export const DISTRIBUTED_DEFAULTS = defaultsOf(DistributedOptionsSchema.properties);

const HEADS = ['linear', 'mlp'] as const;
const BEST_METRICS = ['accuracy', 'macroF1'] as const;

const trainer = {
  method: OneOf(METHODS, { description: 'the training method' }),
  modelSize: WithDefault(
    OneOf(MODEL_SIZES, {
      description: `${MODEL_SIZES.join(' | ')} (picks Qwen/Qwen3-<size> or Qwen/Qwen3-Embedding-<size>)`,
    }),
    DEFAULT_MODEL_SIZE
  ),
  model: NonEmptyString({
    description: "base model: a folder, a Hugging Face repo id, a name under ./models, or 'tiny' / 'tiny-embedding'",
  }),
  output: NonEmptyString({ description: 'run folder (default ./models/qwen3_<method>_<size>)' }),
  epochs: PositiveInt({ description: 'passes over the training data' }),
  batchSize: PositiveInt({ description: 'examples per micro-batch' }),
  gradientAccumulation: WithDefault(PositiveInt({ description: 'micro-batches per optimizer step' }), 1),
  learningRate: Type.Number({ exclusiveMinimum: 0, description: 'peak learning rate (AdamW, warmup then decay)' }),
  weightDecay: WithDefault(
    Type.Number({ minimum: 0, maximum: 1, description: "AdamW's decoupled weight decay" }),
    0.01
  ),
  warmupRatio: WithDefault(
    Type.Number({ minimum: 0, maximum: 1, description: 'fraction of optimizer steps spent warming up' }),
    0.1
  ),
  scheduler: WithDefault(OneOf(SCHEDULERS, { description: 'learning-rate decay after the warmup' }), 'cosine'),
  maxGradNorm: WithDefault(Type.Number({ minimum: 0, description: 'global gradient-norm clip (0 turns it off)' }), 1),
  lora: WithDefault(LoraOptionsSchema, defaultsOf(LoraOptionsSchema.properties)),
  head: WithDefault(OneOf(HEADS, { description: "embedding method's head ('mlp' is the old script's)" }), 'mlp'),
  instruction: Type.String({
    description: "embedding method: the Qwen3-Embedding instruction ('' for none; default: one for the label set)",
  }),
  prompt: NonEmptyString({
    pattern: '\\{text\\}',
    expected: 'a prompt containing {text}',
    description: 'lora method: the prompt, with {text} where the post goes and optionally {labels} (the label words)',
  }),
  labels: Type.Array(Type.String(), {
    description: 'the label set, label 0 first (default: from the data; the binary 负面/正面 set for 0/1 labels)',
  }),
  // The longest weibo2018 post is about 250 tokens.
  maxLength: WithDefault(PositiveInt({ description: 'most tokens per post' }), 256),
  devFraction: WithDefault(
    Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      description: 'dev split taken from the training data when no evalData is given',
    }),
    0.1
  ),
  evalSteps: PositiveInt({ description: 'evaluate every n optimizer steps (default: at the end of each epoch)' }),
  saveSteps: PositiveInt({
    description: 'also save a checkpoint every n optimizer steps (default: at each evaluation)',
  }),
  saveTotalLimit: WithDefault(
    PositiveInt({ description: 'checkpoints kept: checkpoint/ plus older checkpoint-<step>/ folders' }),
    1
  ),
  keepCheckpoint: Type.Boolean({
    description: "keep checkpoint/ once the run finishes (default: yes, except `full`: 3x the model's size)",
  }),
  earlyStoppingPatience: WithDefault(
    NonNegativeInt({ description: 'stop after this many evaluations without improvement (0: never)' }),
    0
  ),
  bestMetric: WithDefault(
    OneOf(BEST_METRICS, { description: 'which dev metric chooses the best checkpoint' }),
    'accuracy'
  ),
  maxSamples: PositiveInt({ description: 'use at most n training examples (stratified, seeded)' }),
  seed: WithDefault(NonNegativeInt({ description: 'random seed' }), 42),
  device: WithDefault(DeviceSchema, 'auto'),
  dtype: DTypeSchema,
  gradientCheckpointing: WithDefault(
    Type.Boolean({ description: 'recompute layer activations in backward (less memory for 4B/8B)' }),
    false
  ),
  resume: WithDefault(
    Type.Boolean({
      description: 'continue from output/checkpoint with optimizer, scheduler, data order and RNG state',
    }),
    false
  ),
  offline: Type.Boolean({ description: 'never download (also env HF_HUB_OFFLINE=1)' }),
  cacheDir: NonEmptyString({
    description: 'where embedding-method vectors are cached (default ~/.cache/qwen3-native/embeddings)',
  }),
  distributed: Type.Union([DistributedOptionsSchema, Type.Literal(false)], {
    description:
      "data-parallel training: this process's rank, the world size and the rendezvous (default: torchrun's RANK, " +
      'WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT when WORLD_SIZE is set; false: one process whatever the env)',
  }),
};

/** The Trainer's options: `method` is required, everything else has a default. */
export const TrainerOptionsSchema = Type.Object(
  { ...Type.Partial(Type.Object(trainer)).properties, method: trainer.method },
  { additionalProperties: false }
);
export type TrainerOptions = Static<typeof TrainerOptionsSchema>;

/** The properties of TrainerOptionsSchema: each option's checks, description and default (the CLI's help reads them). */
export const TRAINER_OPTIONS = trainer;
/** Every default that is the same for all methods (per-method ones: METHOD_DEFAULTS). */
export const TRAINER_DEFAULTS = defaultsOf(trainer);

/** The second argument of Trainer.train. */
export const TrainCallOptionsSchema = Type.Object(
  {
    evalData: Type.Optional(
      Type.Unsafe<TrainData>(
        Type.Unknown({ description: 'the dev data (a file or arrays); default: a split of the training data' })
      )
    ),
    signal: Type.Optional(
      Signal({
        description: 'stops the run after the current step, as stop() does: a checkpoint is saved for resume',
      })
    ),
  },
  { additionalProperties: false }
);
export type TrainCallOptions = Static<typeof TrainCallOptionsSchema>;
