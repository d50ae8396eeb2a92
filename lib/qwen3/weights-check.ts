// config.json against the weights, from the safetensors headers alone, before the core allocates anything. Every
// count and shape the core builds a module from must match a tensor the files hold: `num_hidden_layers: 1e8` beside a
// 2-layer model made the core build layers until memory ran out (SIGSEGV under a memory cap). The core checks
// the same list again before it allocates (csrc/core/checkpoint_check.cpp); this one lists every problem at once and
// runs without the addon.
import type { NativeQwen3Config } from '../native';
import type { SafetensorsHeader } from './safetensors';

/** The weights disagree with config.json, or the files with each other. */
export class WeightsMismatchError extends Error {}

const FLOAT_DTYPES = ['F32', 'BF16', 'F16'];
/** Enough problems to see the pattern; a wrong num_attention_heads alone mismatches 2 tensors in every layer. */
const MOST_PROBLEMS = 12;

export interface WeightFile {
  file: string;
  header: SafetensorsHeader;
}

/** Layer indices held under `start` ("model.layers.") as a sorted list. */
function layerIndices(names: Iterable<string>, start: string): number[] {
  const seen = new Set<number>();
  for (const name of names) {
    if (!name.startsWith(start)) continue;
    const match = /^(\d+)\./.exec(name.slice(start.length));
    if (match) seen.add(Number(match[1]));
  }
  return [...seen].sort((a, b) => a - b);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Throws a WeightsMismatchError listing the problems: a tensor missing, of another shape or dtype than config.json
 * implies, a layer count other than num_hidden_layers, a tensor in two files, an index that puts a tensor in a shard
 * that does not hold it. Returns the key prefix ('model.' for Qwen3ForCausalLM, '' for Qwen3Model) and the vocabulary
 * size (rows of embed_tokens).
 */
export function checkWeightsAgainstConfig(
  weights: readonly WeightFile[],
  config: NativeQwen3Config,
  options: { configFile: string; vocabSize?: unknown; weightMap?: Record<string, string>; indexFile?: string }
): { prefix: string; vocabSize: number } {
  const problems: string[] = [];
  const where = new Map<string, WeightFile>();
  for (const w of weights) {
    for (const name of w.header.keys) {
      const other = where.get(name);
      if (other) problems.push(`tensor '${name}' is in both ${other.file} and ${w.file}`);
      else where.set(name, w);
    }
  }
  if (options.weightMap) {
    for (const [name, shard] of Object.entries(options.weightMap)) {
      const holder = weights.find((w) => w.file.endsWith(`/${shard}`) || w.file === shard);
      if (holder && !Object.hasOwn(holder.header.tensors, name)) {
        problems.push(`${options.indexFile} puts '${name}' in ${shard}, which does not hold it`);
      }
    }
  }
  const files = weights.map((w) => w.file).join(', ');
  const prefix = where.has('model.embed_tokens.weight') ? 'model.' : where.has('embed_tokens.weight') ? '' : undefined;
  if (prefix === undefined) {
    throw new WeightsMismatchError(
      `${files} hold neither 'model.embed_tokens.weight' (Qwen3ForCausalLM) nor 'embed_tokens.weight' (Qwen3Model): ` +
        'is this a Qwen3 checkpoint, with all of its shards?'
    );
  }
  const embed = where.get(`${prefix}embed_tokens.weight`)!.header.tensors[`${prefix}embed_tokens.weight`];
  const vocab = embed.shape.length === 2 && embed.shape[0] > 0 ? embed.shape[0] : NaN;
  const c = config;
  const hidden = `hidden_size (${c.hidden_size})`;
  const expect = (name: string, shape: number[], keys: string): void => {
    const holder = where.get(name);
    if (!holder) {
      problems.push(`tensor '${name}' is missing (config.json's ${keys} call for it)`);
      return;
    }
    const info = holder.header.tensors[name];
    if (info.shape.length !== shape.length || info.shape.some((n, i) => n !== shape[i])) {
      problems.push(
        `${holder.file}: '${name}' has shape ${shapeText(info.shape)} but config.json's ${keys} give ${shapeText(shape)}`
      );
    } else if (!FLOAT_DTYPES.includes(info.dtype)) {
      problems.push(`${holder.file}: '${name}' is stored as ${info.dtype}; expected F32, BF16 or F16`);
    }
  };
  expect(`${prefix}embed_tokens.weight`, [vocab, c.hidden_size], `vocab_size and ${hidden}`);
  if (typeof options.vocabSize === 'number' && options.vocabSize !== vocab) {
    problems.push(`config.json's vocab_size is ${options.vocabSize} but embed_tokens has ${vocab} rows`);
  }
  expect(`${prefix}norm.weight`, [c.hidden_size], hidden);
  // A Qwen3ForSequenceClassification of an untied model holds score.weight and no lm_head: it has no LM head to check.
  if (prefix === 'model.' && !c.tie_word_embeddings) {
    if (where.has('lm_head.weight')) expect('lm_head.weight', [vocab, c.hidden_size], hidden);
    else if (!where.has('score.weight'))
      problems.push("config.json says tie_word_embeddings false but no file holds 'lm_head.weight'");
  }
  const layers = layerIndices(where.keys(), `${prefix}layers.`);
  const contiguous = layers.every((n, i) => n === i);
  if (!contiguous) {
    problems.push(`the files hold layers ${layers.join(', ')}: some are missing (is a shard missing?)`);
  } else if (layers.length !== c.num_hidden_layers) {
    problems.push(
      `config.json's num_hidden_layers is ${c.num_hidden_layers} but the weights hold ${layers.length} layers`
    );
  } else {
    const hd = c.head_dim;
    const q = `num_attention_heads x head_dim (${c.num_attention_heads} x ${hd}) and ${hidden}`;
    const kv = `num_key_value_heads x head_dim (${c.num_key_value_heads} x ${hd}) and ${hidden}`;
    const mlp = `intermediate_size (${c.intermediate_size}) and ${hidden}`;
    for (let i = 0; i < layers.length && problems.length < MOST_PROBLEMS; i++) {
      const l = `${prefix}layers.${i}.`;
      expect(`${l}self_attn.q_proj.weight`, [c.num_attention_heads * hd, c.hidden_size], q);
      expect(`${l}self_attn.k_proj.weight`, [c.num_key_value_heads * hd, c.hidden_size], kv);
      expect(`${l}self_attn.v_proj.weight`, [c.num_key_value_heads * hd, c.hidden_size], kv);
      expect(`${l}self_attn.o_proj.weight`, [c.hidden_size, c.num_attention_heads * hd], q);
      expect(`${l}self_attn.q_norm.weight`, [hd], `head_dim (${hd})`);
      expect(`${l}self_attn.k_norm.weight`, [hd], `head_dim (${hd})`);
      expect(`${l}mlp.gate_proj.weight`, [c.intermediate_size, c.hidden_size], mlp);
      expect(`${l}mlp.up_proj.weight`, [c.intermediate_size, c.hidden_size], mlp);
      expect(`${l}mlp.down_proj.weight`, [c.hidden_size, c.intermediate_size], mlp);
      expect(`${l}input_layernorm.weight`, [c.hidden_size], hidden);
      expect(`${l}post_attention_layernorm.weight`, [c.hidden_size], hidden);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, MOST_PROBLEMS);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    throw new WeightsMismatchError(
      `${options.configFile} does not describe the weights in ${files}: ${shown.join('; ')}${more}. ` +
        'Use the config.json that came with these weights (or download the model again)'
    );
  }
  return { prefix, vocabSize: vocab };
}
