// The options a Qwen3 model takes, each declared once (util/schema): where it runs (device, dtype: shared by every
// command and class that loads a model) and how Qwen3Model runs a batch (forward, embed).
import type { Device, DType } from '../native';
import { NonEmptyString, OneOf, PositiveInt, Type, type Static } from '../util/schema';

export type DeviceOption = 'auto' | Device;
export type DTypeOption = 'auto' | DType;

/** The device options as help texts and messages list them (cuda:N is any GPU number). */
export const DEVICE_OPTIONS: readonly string[] = ['auto', 'cpu', 'cuda', 'cuda:N'];
/** How weights and activations are stored: 'auto' is bf16 on CUDA and on CPUs with native bf16, else float32. */
export const DTYPE_OPTIONS: readonly DTypeOption[] = ['auto', 'float32', 'bfloat16', 'float16'];

// cuda:N with N written as libtorch reads it (decimal, no sign, no leading zeros), at most 3 digits.
const DEVICE_PATTERN = '^(auto|cpu|cuda|cuda:(0|[1-9][0-9]{0,2}))$';
const DEVICE_REGEX = new RegExp(DEVICE_PATTERN);

/** A device option as written ('auto', 'cpu', 'cuda', 'cuda:N'), or undefined for anything else. */
export function parseDevice(value: unknown): DeviceOption | undefined {
  return typeof value === 'string' && DEVICE_REGEX.test(value) ? (value as DeviceOption) : undefined;
}

export const DeviceSchema = Type.Unsafe<DeviceOption>(
  Type.String({
    pattern: DEVICE_PATTERN,
    expected: `one of ${DEVICE_OPTIONS.join(', ')}`,
    description:
      "where models run: 'auto' is CUDA when libtorch sees a GPU, else the CPU; 'cuda' the first GPU, 'cuda:N' GPU N",
  })
);

export const DTypeSchema = OneOf(DTYPE_OPTIONS, {
  description:
    "how weights and activations are stored: 'auto' is bf16 on CUDA and on CPUs with native bf16, else float32",
});

/** Where a model runs (Qwen3Model.load; every command's --device and --dtype). */
export const LoadOptionsSchema = Type.Object(
  { device: Type.Optional(DeviceSchema), dtype: Type.Optional(DTypeSchema) },
  { additionalProperties: false }
);
export type LoadOptions = Static<typeof LoadOptionsSchema>;

const forward = {
  padding: Type.Optional(
    OneOf(['left', 'right'] as const, {
      description: "how the batch is padded inside the core; results do not depend on it (default 'left')",
    })
  ),
  batchSize: Type.Optional(
    PositiveInt({ description: 'most sequences per forward pass (default 32); a call of any size is one native call' })
  ),
};

export const ForwardOptionsSchema = Type.Object(forward, { additionalProperties: false });
export type ForwardOptions = Static<typeof ForwardOptionsSchema>;

export const EmbedOptionsSchema = Type.Object(
  {
    ...forward,
    normalize: Type.Optional(Type.Boolean({ description: 'L2-normalise (default true, as Qwen3-Embedding)' })),
    instruction: Type.Optional(
      NonEmptyString({
        description: 'Qwen3-Embedding query instruction: text becomes `Instruct: {instruction}\\nQuery:{text}`',
      })
    ),
  },
  { additionalProperties: false }
);
export type EmbedOptions = Static<typeof EmbedOptionsSchema>;

/** model.safetensors.index.json, HF's list of a sharded model's weight files. */
export const ShardIndexSchema = Type.Object({
  weight_map: Type.Record(Type.String(), Type.String(), { description: 'tensor name -> the shard file holding it' }),
});
