// What model resolution (resolveModel) can be told, declared once (util/schema): the type, the checks and the words.
import { MODEL_FAMILIES } from '../qwen3/presets';
import { Callback, NonEmptyString, NonNegativeInt, OneOf, PositiveInt, Type, type Static } from '../util/schema';
import type { ResolveProgress } from './api';

export const ResolveOptionsSchema = Type.Object(
  {
    offline: Type.Optional(
      Type.Boolean({ description: 'never touch the network (default: env HF_HUB_OFFLINE is 1/true/yes/on)' })
    ),
    cacheDir: Type.Optional(
      NonEmptyString({
        description:
          'the Hugging Face hub cache (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)',
      })
    ),
    modelsDir: Type.Optional(NonEmptyString({ description: 'folder of plain model folders (default: ./models)' })),
    endpoint: Type.Optional(
      NonEmptyString({ description: 'the Hub or a mirror (default: HF_ENDPOINT, else https://huggingface.co)' })
    ),
    token: Type.Optional(
      NonEmptyString({
        description:
          'access token for gated or private repos (default: HF_TOKEN, else the token file hf auth login wrote)',
      })
    ),
    onProgress: Type.Optional(Callback<(progress: ResolveProgress) => void>({ description: 'download progress' })),
    kind: Type.Optional(
      OneOf(MODEL_FAMILIES, {
        description: "which family a bare size ('0.6B') or 'tiny' means (default 'causal')",
      })
    ),
    timeoutMs: Type.Optional(
      PositiveInt({ description: 'idle socket timeout in ms (default: HF_HUB_DOWNLOAD_TIMEOUT seconds, else 30 s)' })
    ),
    retries: Type.Optional(
      NonNegativeInt({
        description:
          'retries of a stalled or dropped transfer (default 5; a retry that makes progress resets the count)',
      })
    ),
  },
  { additionalProperties: false }
);
export type ResolveOptions = Static<typeof ResolveOptionsSchema>;
