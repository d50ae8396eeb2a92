"""Random-weight Qwen3 checkpoint in the Hugging Face layout, with torch's RNG (fast enough for 0.6B: ~600M values).

Same key names, config.json and weight scales as lib/qwen3/tiny.ts (createTinyQwen3), so the files look like a real
download: `model.` prefix and Qwen3ForCausalLM for kind 'causal', bare keys and Qwen3Model for kind 'embedding'.

  python3 bench/gen_weights.py --dir D --kind causal --dtype bfloat16 --seed 0 --config '{"hidden_size": 1024, ...}'
"""
import argparse
import json
import math
import os
import shutil

import torch

from bench_util import log, write_safetensors_stream

ENDOFTEXT_ID, IM_END_ID = 151643, 151645


def default_config(kind, dtype):
    emb = kind == "embedding"
    return {
        "architectures": ["Qwen3Model" if emb else "Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0,
        "bos_token_id": ENDOFTEXT_ID,
        "eos_token_id": ENDOFTEXT_ID if emb else IM_END_ID,
        "head_dim": 16,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 128,
        "max_position_embeddings": 40960,
        "max_window_layers": 2,
        "model_type": "qwen3",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "rope_scaling": None,
        "rope_theta": 1000000,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": dtype,
        "transformers_version": "4.51.3" if emb else "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 151669 if emb else 151936,
    }


def weight_specs(c):
    """(name without `model.`, shape, init) in lib/qwen3/tiny.ts order."""
    h, inter, hd = c["hidden_size"], c["intermediate_size"], c["head_dim"]
    qw, kvw = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    specs = [("embed_tokens.weight", [c["vocab_size"], h], "embedding")]
    for i in range(c["num_hidden_layers"]):
        at = f"layers.{i}."
        specs += [
            (at + "input_layernorm.weight", [h], "norm"),
            (at + "self_attn.q_proj.weight", [qw, h], "linear"),
            (at + "self_attn.k_proj.weight", [kvw, h], "linear"),
            (at + "self_attn.v_proj.weight", [kvw, h], "linear"),
            (at + "self_attn.q_norm.weight", [hd], "norm"),
            (at + "self_attn.k_norm.weight", [hd], "norm"),
            (at + "self_attn.o_proj.weight", [h, qw], "residual-out"),
            (at + "post_attention_layernorm.weight", [h], "norm"),
            (at + "mlp.gate_proj.weight", [inter, h], "linear"),
            (at + "mlp.up_proj.weight", [inter, h], "linear"),
            (at + "mlp.down_proj.weight", [h, inter], "residual-out"),
        ]
    specs.append(("norm.weight", [h], "norm"))
    return specs


def producer(shape, init, c, gen):
    """Unit-order activations at every stage (see lib/qwen3/tiny.ts initialWeight)."""
    def make():
        t = torch.empty(shape, dtype=torch.float32)
        if init == "norm":
            return t.normal_(1.0, 0.1, generator=gen)
        if init == "embedding":
            return t.normal_(0.0, 1 / math.sqrt(c["hidden_size"]), generator=gen)
        if init == "linear":
            return t.normal_(0.0, 1 / math.sqrt(shape[1]), generator=gen)
        return t.normal_(0.0, 1 / math.sqrt(shape[1] * 2 * c["num_hidden_layers"]), generator=gen)
    return make


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--kind", choices=["causal", "embedding"], default="causal")
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="bfloat16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", default="{}")
    ap.add_argument("--tokenizer-dir", required=True)
    a = ap.parse_args()
    c = default_config(a.kind, a.dtype)
    c.update(json.loads(a.config))
    c["max_window_layers"] = c["num_hidden_layers"]
    os.makedirs(a.dir, exist_ok=True)
    gen = torch.Generator().manual_seed(a.seed)
    prefix = "model." if a.kind == "causal" else ""
    st = {"float32": "F32", "bfloat16": "BF16"}[a.dtype]
    items = [(prefix + n, s, st, producer(s, init, c, gen)) for n, s, init in weight_specs(c)]
    if a.kind == "causal" and not c["tie_word_embeddings"]:
        s = [c["vocab_size"], c["hidden_size"]]
        items.append(("lm_head.weight", s, st, producer(s, "embedding", c, gen)))
    # HF keeps header entries sorted; the order of data does not matter to readers.
    items.sort(key=lambda it: it[0])
    params = sum(math.prod(s) for _, s, _, _ in items)
    log(f"writing {params / 1e6:.1f}M {a.dtype} parameters to {a.dir}")
    write_safetensors_stream(os.path.join(a.dir, "model.safetensors"), items, {"format": "pt"})
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        f.write(json.dumps(dict(sorted(c.items())), indent=2) + "\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(a.tokenizer_dir, name), os.path.join(a.dir, name))


if __name__ == "__main__":
    main()
