"""Write tiny random Qwen3 checkpoints in the real Hugging Face layout plus float64 golden outputs.

    /usr/bin/python3 scripts/reference/make_fixtures.py [--out test/fixtures]

Deterministic: every model has its own seeded numpy Generator; running twice gives byte-identical files.
Goldens are computed by qwen3_ref.py (float64, numpy only) from the weights READ BACK from the written files, so
bf16/f16 models are golden for the rounded weights actually stored.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qwen3_ref  # noqa: E402
import safetensors_np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))

# name, seed, dims, storage dtype, layout; shards: 0 = one model.safetensors, else max bytes per shard
MODELS = [
    # (a) tied, GQA ratio 1, f32, theta 1e6
    dict(name="tiny-tied-f32", seed=1, vocab=256, hidden=32, inter=64, layers=2, heads=4, kv=4, head_dim=8,
         theta=1000000.0, tied=True, dtype="F32", shards=0, embedding=False),
    # (b) untied, GQA 3, head_dim 16 != 48/6 = 8, bf16, theta 1e4
    dict(name="tiny-untied-bf16-gqa3", seed=2, vocab=384, hidden=48, inter=96, layers=3, heads=6, kv=2,
         head_dim=16, theta=10000.0, tied=False, dtype="BF16", shards=0, embedding=False),
    # (c) 2 shards (max 300000 bytes each: shard 1 = embed, layer 0, layer 1's q_proj, so layer 1 spans both
    #     shards), untied (lm_head in the last shard), GQA 2, f32
    dict(name="tiny-sharded-f32-gqa2", seed=3, vocab=512, hidden=64, inter=128, layers=2, heads=4, kv=2,
         head_dim=16, theta=1000000.0, tied=False, dtype="F32", shards=300000, embedding=False),
    # (d) Qwen3Model layout (Qwen3-Embedding): no `model.` prefix, no lm_head, head_dim 16 != 32/4
    dict(name="tiny-embedding-f32", seed=4, vocab=256, hidden=32, inter=64, layers=2, heads=4, kv=2,
         head_dim=16, theta=1000000.0, tied=True, dtype="F32", shards=0, embedding=True),
    # (e) f16, GQA 4 (one kv head), head_dim 8 < 48/4 = 12, theta 1e4
    dict(name="tiny-f16-gqa4", seed=5, vocab=320, hidden=48, inter=96, layers=2, heads=4, kv=1, head_dim=8,
         theta=10000.0, tied=True, dtype="F16", shards=0, embedding=False),
]

TORCH_DTYPE = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}
SEQ_LENGTHS = [1, 2, 5, 9, 14, 20]


def config_for(m):
    return {
        "architectures": ["Qwen3Model" if m["embedding"] else "Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "head_dim": m["head_dim"],
        "hidden_act": "silu",
        "hidden_size": m["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": m["inter"],
        "max_position_embeddings": 1024,
        "max_window_layers": m["layers"],
        "model_type": "qwen3",
        "num_attention_heads": m["heads"],
        "num_hidden_layers": m["layers"],
        "num_key_value_heads": m["kv"],
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": m["theta"],
        "sliding_window": None,
        "tie_word_embeddings": m["tied"],
        "torch_dtype": TORCH_DTYPE[m["dtype"]],
        "transformers_version": "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": m["vocab"],
    }


def init_weights(m):
    """State-dict order (as HF's named_parameters) list of (name, float32 array)."""
    rng = np.random.default_rng(m["seed"])
    H, I, hd = m["hidden"], m["inter"], m["head_dim"]
    nH, nKV = m["heads"], m["kv"]

    def lin(out_f, in_f):
        return rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)

    def norm(n):
        return 1.0 + 0.1 * rng.standard_normal(n)

    pre = "" if m["embedding"] else "model."
    # Logits are h . row with |h| ~ sqrt(H): a tied head uses embedding rows of std 2/sqrt(H), an untied
    # lm_head N(0, 4/H), so last-token logits have std ~2 and max |logit| below ~10.
    emb_std = 2.0 / np.sqrt(H) if m["tied"] else 1.0
    sd = [(pre + "embed_tokens.weight", emb_std * rng.standard_normal((m["vocab"], H)))]
    for i in range(m["layers"]):
        p = f"{pre}layers.{i}."
        sd += [
            (p + "self_attn.q_proj.weight", lin(nH * hd, H)),
            (p + "self_attn.k_proj.weight", lin(nKV * hd, H)),
            (p + "self_attn.v_proj.weight", lin(nKV * hd, H)),
            (p + "self_attn.o_proj.weight", lin(H, nH * hd)),
            (p + "self_attn.q_norm.weight", norm(hd)),
            (p + "self_attn.k_norm.weight", norm(hd)),
            (p + "mlp.gate_proj.weight", lin(I, H)),
            (p + "mlp.up_proj.weight", lin(I, H)),
            (p + "mlp.down_proj.weight", lin(H, I)),
            (p + "input_layernorm.weight", norm(H)),
            (p + "post_attention_layernorm.weight", norm(H)),
        ]
    sd.append((pre + "norm.weight", norm(H)))
    if not m["tied"] and not m["embedding"]:
        sd.append(("lm_head.weight", 2.0 * lin(m["vocab"], H)))
    return [(n, a.astype(np.float32)) for n, a in sd]


def sequences(m):
    rng = np.random.default_rng(1000 + m["seed"])
    V = m["vocab"]
    seqs = [[int(t) for t in rng.integers(0, V, size=n)] for n in SEQ_LENGTHS]
    # cover the id range edges and a repeated token
    seqs[2] = [0, V - 1, 7, V - 1, 0]
    seqs[3] = [int(rng.integers(0, V))] * 3 + seqs[3][3:]
    return seqs


def fmt(x):
    v = float(f"{float(x):.7g}")
    if not np.isfinite(v):
        raise ValueError("non-finite golden value")
    return repr(0.0 if v == 0 else v)


def rows_json(rows, conv):
    return "[\n" + ",\n".join("    [" + ",".join(conv(v) for v in r) + "]" for r in rows) + "\n  ]"


def write_model(m, out_root):
    d = os.path.join(out_root, "models", m["name"])
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(json.dumps(config_for(m), indent=2, sort_keys=True) + "\n")
    sd = init_weights(m)
    meta = {"format": "pt"}
    if not m["shards"]:
        safetensors_np.write_safetensors(os.path.join(d, "model.safetensors"),
                                         {n: (a, m["dtype"]) for n, a in sd}, meta)
    else:
        wm = safetensors_np.write_sharded(d, sd, m["dtype"], m["shards"], meta)
        assert len(set(wm.values())) == 2, "fixture (c) must have exactly 2 shards"
    return d


def write_goldens(m, model_dir, out_root):
    cfg, W = qwen3_ref.load(model_dir)  # read back: goldens reflect the stored (rounded) weights
    seqs = sequences(m)
    logits, hidden, emb = [], [], []
    for s in seqs:
        h = qwen3_ref.last_token_hidden(cfg, W, s)
        hidden.append(h)
        logits.append(qwen3_ref.lm_head_weight(cfg, W) @ h)
        emb.append(h / np.linalg.norm(h))
    gdir = os.path.join(out_root, "goldens")
    os.makedirs(gdir, exist_ok=True)
    text = (
        "{\n"
        f'  "model": {json.dumps(m["name"])},\n'
        f'  "sequences": {rows_json(seqs, str)},\n'
        f'  "last_token_logits": {rows_json(logits, fmt)},\n'
        f'  "last_token_hidden": {rows_json(hidden, fmt)},\n'
        f'  "embedding": {rows_json(emb, fmt)}\n'
        "}\n"
    )
    json.loads(text)  # sanity
    with open(os.path.join(gdir, m["name"] + ".json"), "w") as f:
        f.write(text)
    mx = max(float(np.abs(lg).max()) for lg in logits)
    sd = max(float(np.std(lg)) for lg in logits)
    return mx, sd


def dir_size(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test", "fixtures"))
    a = ap.parse_args()
    for m in MODELS:
        d = write_model(m, a.out)
        mx, sd = write_goldens(m, d, a.out)
        print(f"{m['name']:24s} {m['dtype']:4s} vocab={m['vocab']} hidden={m['hidden']} layers={m['layers']} "
              f"heads={m['heads']}/{m['kv']} head_dim={m['head_dim']} tied={m['tied']} "
              f"size={dir_size(d)}B  max|logit|={mx:.3f} max std(logits)={sd:.3f}")
    print(f"total fixture size: {dir_size(a.out)} bytes")


if __name__ == "__main__":
    main()
