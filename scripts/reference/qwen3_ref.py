"""Float64 numpy reference forward of Qwen3, written from Hugging Face's modeling_qwen3.py.

Independent of libtorch on purpose: numpy only. Everything is computed in float64; bf16/f16/f32 checkpoint
weights are upcast exactly.

  embed -> for each layer:
             h = input_layernorm(x)
             q,k,v = h @ Wq.T, h @ Wk.T, h @ Wv.T           (no bias; weights are [out, in])
             q,k   = q_norm / k_norm over head_dim (one [head_dim] weight shared by all heads), BEFORE RoPE
             q,k   = RoPE half-split: x*cos + rotate_half(x)*sin, rotate_half(x) = cat(-x2, x1)
             attention per query head h with kv head h // (n_heads / n_kv_heads), scale head_dim**-0.5, causal
             x += o_proj(attn)
             x += down(silu(gate(post_attention_layernorm(x))) * up(...))
        -> final norm -> lm_head (lm_head.weight if present and not tied, else embed_tokens.weight)

Weights may use the Qwen3ForCausalLM naming (`model.layers.N...`, `lm_head.weight`) or the Qwen3Model naming
used by Qwen3-Embedding checkpoints (`layers.N...`, no lm_head); `load` normalises both to the `model.` form.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

_TOP = ("embed_tokens.", "layers.", "norm.")


def normalize_keys(weights):
    """Map Qwen3Model keys (no `model.` prefix) to Qwen3ForCausalLM keys; leave others alone."""
    out = {}
    for k, v in weights.items():
        nk = "model." + k if k.startswith(_TOP) else k
        if nk in out:
            raise ValueError(f"duplicate weight after key normalisation: {nk}")
        out[nk] = v
    return out


def load(model_dir):
    """Return (config dict, weights dict name -> float64 array, keys in `model.`-prefixed form)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    tensors, _ = safetensors_np.read_checkpoint(model_dir)
    W = {k: np.asarray(v, dtype=np.float64) for k, v in normalize_keys(tensors).items()}
    return cfg, W


def _w(W, key):
    if "model." + key in W:
        return W["model." + key]
    return W[key]


def _head_dim(cfg):
    hd = cfg.get("head_dim")
    return int(hd) if hd is not None else cfg["hidden_size"] // cfg["num_attention_heads"]


def rms_norm(x, weight, eps):
    """HF Qwen3RMSNorm: x * 1/sqrt(mean(x^2, -1) + eps) * weight (here all in float64)."""
    x = np.asarray(x, dtype=np.float64)
    var = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(var + eps) * weight


def rope_cos_sin(positions, head_dim, theta):
    """cos, sin of shape [T, head_dim]: inv_freq = 1/theta^(arange(0,hd,2)/hd), emb = cat(angles, angles)."""
    inv_freq = 1.0 / (float(theta) ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    ang = np.asarray(positions, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([ang, ang], axis=-1)
    return np.cos(emb), np.sin(emb)


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def apply_rope(x, cos, sin):
    """x: [T, heads, head_dim]; cos/sin: [T, head_dim]."""
    return x * cos[:, None, :] + rotate_half(x) * sin[:, None, :]


def silu(x):
    return x / (1.0 + np.exp(-x))


def attention(q, k, v, causal=True):
    """q: [T, H, d], k/v: [T, KV, d] -> [T, H*d]. Query head h reads kv head h // (H // KV)."""
    T, H, d = q.shape
    KV = k.shape[1]
    if H % KV:
        raise ValueError(f"num_attention_heads {H} not a multiple of num_key_value_heads {KV}")
    group = H // KV
    scale = d ** -0.5
    out = np.empty((T, H, d), dtype=np.float64)
    mask = np.triu(np.ones((T, T), dtype=bool), k=1) if causal else np.zeros((T, T), dtype=bool)
    for h in range(H):
        kvh = h // group
        s = (q[:, h, :] @ k[:, kvh, :].T) * scale
        s = np.where(mask, -np.inf, s)
        s = s - s.max(axis=-1, keepdims=True)
        p = np.exp(s)
        p = p / p.sum(axis=-1, keepdims=True)
        out[:, h, :] = p @ v[:, kvh, :]
    return out.reshape(T, H * d)


def decoder_layer(cfg, W, i, x, cos, sin, attn_fn=attention):
    eps = float(cfg.get("rms_norm_eps", 1e-6))
    H, KV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], _head_dim(cfg)
    p = f"layers.{i}."
    T = x.shape[0]
    h = rms_norm(x, _w(W, p + "input_layernorm.weight"), eps)
    q = (h @ _w(W, p + "self_attn.q_proj.weight").T).reshape(T, H, hd)
    k = (h @ _w(W, p + "self_attn.k_proj.weight").T).reshape(T, KV, hd)
    v = (h @ _w(W, p + "self_attn.v_proj.weight").T).reshape(T, KV, hd)
    q = rms_norm(q, _w(W, p + "self_attn.q_norm.weight"), eps)
    k = rms_norm(k, _w(W, p + "self_attn.k_norm.weight"), eps)
    q = apply_rope(q, cos, sin)
    k = apply_rope(k, cos, sin)
    a = attn_fn(q, k, v)
    x = x + a @ _w(W, p + "self_attn.o_proj.weight").T
    h = rms_norm(x, _w(W, p + "post_attention_layernorm.weight"), eps)
    g = h @ _w(W, p + "mlp.gate_proj.weight").T
    u = h @ _w(W, p + "mlp.up_proj.weight").T
    x = x + (silu(g) * u) @ _w(W, p + "mlp.down_proj.weight").T
    return x


def hidden_states(cfg, W, ids, attn_fn=attention):
    """Final-norm hidden states [T, hidden] (float64) of ONE unpadded sequence, positions 0..T-1."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError("ids must be a non-empty 1-D sequence")
    E = _w(W, "embed_tokens.weight")
    if ids.min() < 0 or ids.max() >= E.shape[0]:
        raise ValueError(f"token id out of range [0, {E.shape[0]})")
    x = E[ids].astype(np.float64)
    cos, sin = rope_cos_sin(np.arange(ids.size), _head_dim(cfg), cfg.get("rope_theta", 10000.0))
    for i in range(cfg["num_hidden_layers"]):
        x = decoder_layer(cfg, W, i, x, cos, sin, attn_fn)
    return rms_norm(x, _w(W, "norm.weight"), float(cfg.get("rms_norm_eps", 1e-6)))


def lm_head_weight(cfg, W):
    if "lm_head.weight" in W and not cfg.get("tie_word_embeddings", False):
        return W["lm_head.weight"]
    return _w(W, "embed_tokens.weight")


def logits(cfg, W, ids):
    """[T, vocab] logits."""
    return hidden_states(cfg, W, ids) @ lm_head_weight(cfg, W).T


def last_token_hidden(cfg, W, ids):
    return hidden_states(cfg, W, ids)[-1]


def last_token_logits(cfg, W, ids):
    return lm_head_weight(cfg, W) @ last_token_hidden(cfg, W, ids)


def last_token_embedding(cfg, W, ids, normalize=True):
    """Qwen3-Embedding pooling: final-norm hidden of the last token, L2-normalised."""
    h = last_token_hidden(cfg, W, ids)
    return h / np.linalg.norm(h) if normalize else h


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="float64 Qwen3 reference: print last-token logits / embedding")
    ap.add_argument("model_dir")
    ap.add_argument("ids", nargs="+", type=int)
    a = ap.parse_args()
    c, w = load(a.model_dir)
    lg = last_token_logits(c, w, a.ids)
    print("argmax", int(np.argmax(lg)), "max|logit|", float(np.abs(lg).max()))
    print("embedding[:8]", last_token_embedding(c, w, a.ids)[:8])
