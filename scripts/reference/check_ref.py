"""Self-checks for the float64 Qwen3 reference and the golden fixtures.

    /usr/bin/python3 scripts/reference/check_ref.py [--fixtures test/fixtures] [--no-determinism]

Checks (numpy, independent code paths where possible):
  * safetensors round trip for every dtype, header layout, bf16 round-to-nearest-even on edge cases
  * RMSNorm and RoPE unit checks (hand values, complex-pair rotation, norm preservation, relativity)
  * GQA: the reference's h // group mapping equals HF's repeat_kv (explicitly repeated kv heads)
  * prefix invariance: hidden at position t == last hidden of the sequence cut to t+1 tokens
  * an independent token-by-token KV-cache decoder (einsum) reproduces the reference logits
  * a left-padded batch (key-padding mask), with positions 0..T-1 or from the mask's cumsum, gives the same
    last-token hidden as the unpadded sequence
  * the goldens in test/fixtures/goldens match a fresh recomputation from the stored checkpoints
  * the fixtures' index.json / configs / tensor shapes are consistent
  * how far common implementation bugs move the outputs (so the goldens can catch them), and the error of a
    float32 evaluation of the same math (guidance for test tolerances)
  * optional: if `import torch` works, a torch float64 re-implementation in HF's style (modules, repeat_kv,
    rotate_half, position_ids) and torch's bf16 rounding are compared too
  * determinism: make_fixtures.py run twice into temp dirs gives byte-identical files
"""
import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402
import qwen3_ref as R  # noqa: E402
import safetensors_np as S  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILS.append(what)


def maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


# ------------------------------------------------------------------------------------------------ safetensors
def check_safetensors():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "t.safetensors")
        t = {
            "a64": (rng.standard_normal((3, 5)), "F64"),
            "b32": (rng.standard_normal((7,)).astype(np.float32), "F32"),
            "c16": (rng.standard_normal((2, 3)).astype(np.float16), "F16"),
            "dbf": (rng.standard_normal((4, 3)).astype(np.float32), "BF16"),
            "e64": (np.arange(-3, 6, dtype=np.int64).reshape(3, 3), "I64"),
            "scalar": (np.array(2.5, dtype=np.float32), "F32"),
            "empty": (np.zeros((0, 4), dtype=np.float32), "F32"),
        }
        S.write_safetensors(p, t, {"format": "pt"})
        back, meta, dts = S.read_safetensors(p)
        check(meta == {"format": "pt"}, "safetensors: __metadata__ round trip")
        ok = all(dts[k] == t[k][1] for k in t)
        for k, (arr, dt) in t.items():
            exp = S.round_to_bf16(arr) if dt == "BF16" else arr
            ok &= back[k].shape == np.shape(arr) and np.array_equal(back[k], exp)
        check(ok, "safetensors: F64/F32/F16/BF16/I64 (+scalar, empty) round trip, exact")
        raw = open(p, "rb").read()
        n = int.from_bytes(raw[:8], "little")
        hdr = json.loads(raw[8:8 + n])
        check(n % 8 == 0 and list(hdr)[0] == "__metadata__", "safetensors: header padded to 8, metadata first")
        offs = sorted(tuple(v["data_offsets"]) for k, v in hdr.items() if k != "__metadata__")
        contiguous = offs[0][0] == 0 and all(a[1] == b[0] for a, b in zip(offs, offs[1:]))
        check(contiguous and offs[-1][1] == len(raw) - 8 - n, "safetensors: data offsets contiguous, cover the file")
        aligned = all(v["data_offsets"][0] % S._NP[v["dtype"]].itemsize == 0
                      for k, v in hdr.items() if k != "__metadata__")
        check(aligned, "safetensors: every tensor aligned to its element size")

    # bf16 round-to-nearest-even on hand-made bit patterns
    def f(bits):
        return np.array([bits], dtype=np.uint32).view(np.float32)

    cases = [
        (0x3F800000, 0x3F80),  # 1.0 exact
        (0x3F808000, 0x3F80),  # halfway, even stays
        (0x3F818000, 0x3F82),  # halfway, odd rounds up to even
        (0x3F808001, 0x3F81),  # above halfway
        (0x3F807FFF, 0x3F80),  # below halfway
        (0x7F7FFFFF, 0x7F80),  # max float rounds to inf
        (0xFF800000, 0xFF80),  # -inf
        (0x80000000, 0x8000),  # -0
        (0x00000001, 0x0000),  # tiny denormal rounds to 0
    ]
    got = [int(S.f32_to_bf16_bits(f(b))[0]) for b, _ in cases]
    check(got == [e for _, e in cases], f"bf16 RNE edge cases {[hex(g) for g in got]}")
    nan = S.f32_to_bf16_bits(np.array([np.nan, -np.nan], dtype=np.float32))
    check(bool(np.all(np.isnan(S.bf16_bits_to_f32(nan)))), "bf16: NaN stays NaN")
    x = rng.standard_normal(100000).astype(np.float32) * 10
    r = S.round_to_bf16(x)
    rel = np.abs(r - x) / np.abs(x)
    check(float(rel.max()) <= 2.0 ** -8, f"bf16: relative rounding error <= 2^-8 (max {rel.max():.3g})")


# ----------------------------------------------------------------------------------------------- unit checks
def check_units():
    x = np.array([3.0, 4.0])
    check(maxdiff(R.rms_norm(x, np.ones(2), 0.0), x / np.sqrt(12.5)) < 1e-15, "RMSNorm: hand value [3,4]")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 8))
    w = rng.standard_normal(8)
    exp = np.empty_like(x)
    for i in range(5):
        for j in range(3):
            ms = sum(v * v for v in x[i, j]) / 8
            exp[i, j] = [x[i, j, k] / (ms + 1e-6) ** 0.5 * w[k] for k in range(8)]
    check(maxdiff(R.rms_norm(x, w, 1e-6), exp) < 1e-13, "RMSNorm: matches scalar loop over last axis")

    # RoPE: pos 1, head_dim 4, theta 1e4 -> inv_freq [1, 0.01]
    cos, sin = R.rope_cos_sin(np.array([1]), 4, 10000.0)
    check(maxdiff(cos[0], np.cos([1, 0.01, 1, 0.01])) < 1e-15 and maxdiff(sin[0], np.sin([1, 0.01, 1, 0.01])) < 1e-15,
          "RoPE: inv_freq = theta^(-2j/d), emb = cat(angles, angles)")
    # half-split rotation == rotating complex numbers (x[j] + i x[j+d/2]) by pos * inv_freq[j]
    d, T = 16, 11
    x = rng.standard_normal((T, 2, d))
    cos, sin = R.rope_cos_sin(np.arange(T), d, 1e6)
    got = R.apply_rope(x, cos, sin)
    inv = 1e6 ** (-np.arange(0, d, 2) / d)
    z = (x[..., : d // 2] + 1j * x[..., d // 2:]) * np.exp(1j * np.arange(T)[:, None, None] * inv[None, None, :])
    check(maxdiff(got, np.concatenate([z.real, z.imag], -1)) < 1e-13, "RoPE: half-split == complex pair rotation")
    check(maxdiff(np.linalg.norm(got, axis=-1), np.linalg.norm(x, axis=-1)) < 1e-12, "RoPE: preserves norms")
    q, k = rng.standard_normal(d), rng.standard_normal(d)

    def dot_at(m, n):
        c, s = R.rope_cos_sin(np.array([m, n]), d, 1e4)
        qq = R.apply_rope(q[None, None], c[:1], s[:1])[0, 0]
        kk = R.apply_rope(k[None, None], c[1:], s[1:])[0, 0]
        return qq @ kk

    check(abs(dot_at(3, 1) - dot_at(10, 8)) < 1e-12 and abs(dot_at(3, 1) - dot_at(2, 1)) > 1e-6,
          "RoPE: q.k depends only on the position difference")
    check(maxdiff(R.rotate_half(np.array([1.0, 2, 3, 4])), [-3, -4, 1, 2]) == 0, "rotate_half: cat(-x2, x1)")
    check(abs(R.silu(np.array([1.0]))[0] - 1 / (1 + np.exp(-1))) < 1e-15, "silu(1)")


# --------------------------------------------------------------------------------- independent computations
def attention_repeat_kv(q, k, v):
    """HF style: repeat_kv (kv head j serves query heads j*n_rep .. j*n_rep+n_rep-1), einsum, causal."""
    T, H, d = q.shape
    n_rep = H // k.shape[1]
    k = np.repeat(k, n_rep, axis=1)  # [T, H, d], same order as torch expand + reshape
    v = np.repeat(v, n_rep, axis=1)
    s = np.einsum("thd,shd->hts", q, k) / np.sqrt(d)
    s = s + np.triu(np.full((T, T), -np.inf), 1)[None]
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("hts,shd->thd", p, v).reshape(T, H * d)


def kv_cache_logits(cfg, W, ids):
    """Token-by-token decoding with a KV cache, written separately from qwen3_ref's forward."""
    g = lambda k: W["model." + k]  # noqa: E731
    eps, th = cfg["rms_norm_eps"], cfg["rope_theta"]
    H, KV, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    L = cfg["num_hidden_layers"]
    inv = th ** (-np.arange(0, d, 2) / d)

    def norm(x, w):
        return w * x / np.sqrt(np.mean(x ** 2, -1, keepdims=True) + eps)

    def rope(x, pos):  # x [heads, d], via complex pairs
        z = (x[:, : d // 2] + 1j * x[:, d // 2:]) * np.exp(1j * pos * inv)
        return np.concatenate([z.real, z.imag], -1)

    cache = [([], []) for _ in range(L)]
    for pos, t in enumerate(ids):
        x = g("embed_tokens.weight")[t].copy()
        for i in range(L):
            p = f"layers.{i}."
            h = norm(x, g(p + "input_layernorm.weight"))
            q = rope(norm(np.einsum("oi,i->o", g(p + "self_attn.q_proj.weight"), h).reshape(H, d),
                          g(p + "self_attn.q_norm.weight")), pos)
            k = rope(norm(np.einsum("oi,i->o", g(p + "self_attn.k_proj.weight"), h).reshape(KV, d),
                          g(p + "self_attn.k_norm.weight")), pos)
            v = np.einsum("oi,i->o", g(p + "self_attn.v_proj.weight"), h).reshape(KV, d)
            cache[i][0].append(k)
            cache[i][1].append(v)
            K, V = np.stack(cache[i][0]), np.stack(cache[i][1])  # [S, KV, d]
            out = np.empty((H, d))
            for hh in range(H):
                j = hh * KV // H
                sc = K[:, j] @ q[hh] / np.sqrt(d)
                w = np.exp(sc - sc.max())
                out[hh] = (w / w.sum()) @ V[:, j]
            x = x + g(p + "self_attn.o_proj.weight") @ out.reshape(-1)
            h = norm(x, g(p + "post_attention_layernorm.weight"))
            a = g(p + "mlp.gate_proj.weight") @ h
            x = x + g(p + "mlp.down_proj.weight") @ (a / (1 + np.exp(-a)) * (g(p + "mlp.up_proj.weight") @ h))
    hN = norm(x, g("norm.weight"))
    head = W["lm_head.weight"] if ("lm_head.weight" in W and not cfg["tie_word_embeddings"]) \
        else g("embed_tokens.weight")
    return head @ hN, hN


def padded_batch_last_hidden(cfg, W, seqs, cumsum_positions):
    """Left-padded batch, key-padding + causal mask (finite min like HF), batched einsum forward."""
    B, T = len(seqs), max(len(s) for s in seqs)
    ids = np.zeros((B, T), dtype=np.int64)
    mask = np.zeros((B, T), dtype=bool)
    for b, s in enumerate(seqs):
        ids[b, T - len(s):] = s
        mask[b, T - len(s):] = True
    pos = np.maximum(np.cumsum(mask, 1) - 1, 0) if cumsum_positions else np.tile(np.arange(T), (B, 1))
    g = lambda k: W["model." + k]  # noqa: E731
    eps = cfg["rms_norm_eps"]
    H, KV, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    inv = cfg["rope_theta"] ** (-np.arange(0, d, 2) / d)
    ang = pos[..., None] * inv
    cos = np.cos(np.concatenate([ang, ang], -1))[:, :, None]
    sin = np.sin(np.concatenate([ang, ang], -1))[:, :, None]
    allowed = np.tril(np.ones((T, T), dtype=bool))[None] & mask[:, None, :]  # [B, Tq, Tk]
    bias = np.where(allowed, 0.0, np.finfo(np.float64).min)[:, None]  # [B, 1, Tq, Tk]

    def norm(x, w):
        return w * x / np.sqrt(np.mean(x ** 2, -1, keepdims=True) + eps)

    x = g("embed_tokens.weight")[ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"layers.{i}."
        h = norm(x, g(p + "input_layernorm.weight"))
        q = norm((h @ g(p + "self_attn.q_proj.weight").T).reshape(B, T, H, d), g(p + "self_attn.q_norm.weight"))
        k = norm((h @ g(p + "self_attn.k_proj.weight").T).reshape(B, T, KV, d), g(p + "self_attn.k_norm.weight"))
        v = (h @ g(p + "self_attn.v_proj.weight").T).reshape(B, T, KV, d)
        q = q * cos + R.rotate_half(q) * sin
        k = k * cos + R.rotate_half(k) * sin
        k = np.repeat(k, H // KV, axis=2)
        v = np.repeat(v, H // KV, axis=2)
        s = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(d) + bias
        pr = np.exp(s - s.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        a = np.einsum("bhqk,bkhd->bqhd", pr, v).reshape(B, T, H * d)
        x = x + a @ g(p + "self_attn.o_proj.weight").T
        h = norm(x, g(p + "post_attention_layernorm.weight"))
        gg = h @ g(p + "mlp.gate_proj.weight").T
        x = x + (gg / (1 + np.exp(-gg)) * (h @ g(p + "mlp.up_proj.weight").T)) @ g(p + "mlp.down_proj.weight").T
    return norm(x, g("norm.weight"))[:, -1]


# ------------------------------------------------------------------------------------------------- torch check
def torch_logits_fn():
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(f"skip  torch cross-check (import torch failed: {e})")
        return None, None
    torch.set_default_dtype(torch.float64)
    nn, F = torch.nn, torch.nn.functional

    class RMSNorm(nn.Module):
        def __init__(self, n, eps):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))
            self.eps = eps

        def forward(self, x):  # as HF: statistics in (at least) fp32, cast back, then times weight
            dt = x.dtype
            x = x.to(torch.promote_types(dt, torch.float32))
            var = x.pow(2).mean(-1, keepdim=True)
            return self.weight * (x * torch.rsqrt(var + self.eps)).to(dt)

    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def repeat_kv(x, n_rep):
        b, kv, t, d = x.shape
        return x[:, :, None].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)

    class Attn(nn.Module):
        def __init__(self, c):
            super().__init__()
            H, KV, d, hs = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["hidden_size"]
            self.H, self.KV, self.d = H, KV, d
            self.q_proj = nn.Linear(hs, H * d, bias=False)
            self.k_proj = nn.Linear(hs, KV * d, bias=False)
            self.v_proj = nn.Linear(hs, KV * d, bias=False)
            self.o_proj = nn.Linear(H * d, hs, bias=False)
            self.q_norm = RMSNorm(d, c["rms_norm_eps"])
            self.k_norm = RMSNorm(d, c["rms_norm_eps"])

        def forward(self, x, cos, sin):
            B, T, _ = x.shape
            q = self.q_norm(self.q_proj(x).view(B, T, -1, self.d)).transpose(1, 2)
            k = self.k_norm(self.k_proj(x).view(B, T, -1, self.d)).transpose(1, 2)
            v = self.v_proj(x).view(B, T, -1, self.d).transpose(1, 2)
            cos, sin = cos.unsqueeze(1).to(x.dtype), sin.unsqueeze(1).to(x.dtype)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k, v = repeat_kv(k, self.H // self.KV), repeat_kv(v, self.H // self.KV)
            w = torch.matmul(q, k.transpose(2, 3)) * self.d ** -0.5
            w = w + torch.full((T, T), torch.finfo(w.dtype).min).triu(1)
            w = F.softmax(w, dim=-1, dtype=torch.promote_types(w.dtype, torch.float32)).to(q.dtype)
            return self.o_proj(torch.matmul(w, v).transpose(1, 2).reshape(B, T, -1))

    class MLP(nn.Module):
        def __init__(self, c):
            super().__init__()
            hs, i = c["hidden_size"], c["intermediate_size"]
            self.gate_proj = nn.Linear(hs, i, bias=False)
            self.up_proj = nn.Linear(hs, i, bias=False)
            self.down_proj = nn.Linear(i, hs, bias=False)

        def forward(self, x):
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    class Layer(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.self_attn, self.mlp = Attn(c), MLP(c)
            self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
            self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

        def forward(self, x, cos, sin):
            x = x + self.self_attn(self.input_layernorm(x), cos, sin)
            return x + self.mlp(self.post_attention_layernorm(x))

    class Body(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
            self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
            self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
            d = c["head_dim"]
            self.inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).double() / d))

        def forward(self, ids):
            pos = torch.arange(ids.shape[1])[None].double()
            freqs = (self.inv_freq[None, :, None] @ pos[:, None, :]).transpose(1, 2)
            emb = torch.cat((freqs, freqs), dim=-1)
            cos, sin = emb.cos(), emb.sin()
            x = self.embed_tokens(ids)
            for layer in self.layers:
                x = layer(x, cos, sin)
            return self.norm(x)

    class CausalLM(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.model = Body(c)
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def run(cfg, W, ids, dtype=torch.float64):
        """float64 by default; dtype=torch.bfloat16 runs HF-style bf16 compute (norm/softmax stats in fp32)."""
        m = CausalLM(cfg)
        sd = {k: torch.from_numpy(v) for k, v in W.items()}
        if "lm_head.weight" not in sd or cfg["tie_word_embeddings"]:
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
        missing, unexpected = m.load_state_dict(sd, strict=False)
        assert not unexpected and all(k.endswith("inv_freq") for k in missing), (missing, unexpected)
        m.to(dtype)
        with torch.no_grad():
            h = m.model(torch.tensor([ids]))
            return m.lm_head(h)[0, -1].double().numpy(), h[0, -1].double().numpy()

    def bf16_bits(x):
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(torch.bfloat16)
        return t.view(torch.int16).numpy().view(np.uint16)

    return run, bf16_bits


# ---------------------------------------------------------------------------------------- bug discrimination
def buggy_last_logits(cfg, W, ids, bug):
    """Re-run the reference with one classic bug injected; returns last-token logits."""
    c, Wb = dict(cfg), dict(W)
    orig = (R.apply_rope, R.rms_norm, R.silu, R.attention)
    try:
        attn = R.attention
        if bug == "interleaved RoPE (GPT-J pairs)":
            def rope(x, cos, sin):
                d = x.shape[-1]
                c2, s2 = cos[:, None, : d // 2], sin[:, None, : d // 2]
                x1, x2 = x[..., 0::2], x[..., 1::2]
                out = np.empty_like(x)
                out[..., 0::2], out[..., 1::2] = x1 * c2 - x2 * s2, x2 * c2 + x1 * s2
                return out
            R.apply_rope = rope
        elif bug == "q/k norm after RoPE":
            def layer(cfg_, W_, i, x, cos, sin, attn_fn=None):
                eps = cfg_["rms_norm_eps"]
                H, KV, hd = cfg_["num_attention_heads"], cfg_["num_key_value_heads"], cfg_["head_dim"]
                p = f"model.layers.{i}."
                T = x.shape[0]
                h = R.rms_norm(x, W_[p + "input_layernorm.weight"], eps)
                q = R.apply_rope((h @ W_[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd), cos, sin)
                k = R.apply_rope((h @ W_[p + "self_attn.k_proj.weight"].T).reshape(T, KV, hd), cos, sin)
                v = (h @ W_[p + "self_attn.v_proj.weight"].T).reshape(T, KV, hd)
                q = R.rms_norm(q, W_[p + "self_attn.q_norm.weight"], eps)
                k = R.rms_norm(k, W_[p + "self_attn.k_norm.weight"], eps)
                x = x + R.attention(q, k, v) @ W_[p + "self_attn.o_proj.weight"].T
                h = R.rms_norm(x, W_[p + "post_attention_layernorm.weight"], eps)
                g = h @ W_[p + "mlp.gate_proj.weight"].T
                return x + (R.silu(g) * (h @ W_[p + "mlp.up_proj.weight"].T)) @ W_[p + "mlp.down_proj.weight"].T
            saved = R.decoder_layer
            R.decoder_layer = layer
            try:
                return R.lm_head_weight(c, Wb) @ R.hidden_states(c, Wb, ids)[-1]
            finally:
                R.decoder_layer = saved
        elif bug == "no q/k norm":
            for k in list(Wb):
                if k.endswith(("q_norm.weight", "k_norm.weight")):
                    Wb[k] = None
            base = orig[1]
            R.rms_norm = lambda x, w, eps: x if w is None else base(x, w, eps)
        elif bug == "GQA head h % kv (interleaved)":
            if cfg["num_key_value_heads"] in (1, cfg["num_attention_heads"]):
                return None  # same mapping either way

            def attn(q, k, v):
                return _gqa_mod(q, k, v, [h % k.shape[1] for h in range(q.shape[1])])
        elif bug == "rope_theta 1e4<->1e6":
            c["rope_theta"] = 10000.0 if cfg["rope_theta"] != 10000.0 else 1000000.0
        elif bug == "no causal mask":
            attn = lambda q, k, v: R.attention(q, k, v, causal=False)  # noqa: E731
        elif bug == "scale (hidden/heads)^-0.5":
            hs = cfg["hidden_size"] / cfg["num_attention_heads"]
            if hs == cfg["head_dim"]:
                return None  # same scale either way
            attn = lambda q, k, v: R.attention(q * np.sqrt(q.shape[-1] / hs), k, v)  # noqa: E731
        elif bug == "gelu instead of silu":
            R.silu = lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
        elif bug == "norm weight as (1 + w)":
            base = orig[1]
            R.rms_norm = lambda x, w, eps: base(x, 1.0 + w, eps)
        elif bug == "wrong lm_head (tied<->untied)":
            if "lm_head.weight" in W:
                c["tie_word_embeddings"] = not cfg["tie_word_embeddings"]
            else:
                return None
        elif bug == "eps 1e-5":
            c["rms_norm_eps"] = 1e-5
        return R.lm_head_weight(c, Wb) @ R.hidden_states(c, Wb, ids, attn_fn=attn)[-1]
    finally:
        R.apply_rope, R.rms_norm, R.silu, R.attention = orig


def _gqa_mod(q, k, v, perm):
    T, H, d = q.shape
    out = np.empty((T, H, d))
    mask = np.triu(np.ones((T, T), dtype=bool), 1)
    for h in range(H):
        s = np.where(mask, -np.inf, q[:, h] @ k[:, perm[h]].T / np.sqrt(d))
        p = np.exp(s - s.max(-1, keepdims=True))
        out[:, h] = (p / p.sum(-1, keepdims=True)) @ v[:, perm[h]]
    return out.reshape(T, H * d)


BUGS = ["interleaved RoPE (GPT-J pairs)", "q/k norm after RoPE", "no q/k norm", "GQA head h % kv (interleaved)",
        "rope_theta 1e4<->1e6", "no causal mask", "scale (hidden/heads)^-0.5", "gelu instead of silu",
        "norm weight as (1 + w)", "wrong lm_head (tied<->untied)", "eps 1e-5"]


def float32_last_logits(cfg, W, ids, return_hidden=False):
    """The same math with every weight and activation in float32 (what an fp32 backend would see)."""
    W32 = {k: v.astype(np.float32) for k, v in W.items()}
    saved = (R.rms_norm, R.rope_cos_sin)

    def rms32(x, w, eps):
        x = np.asarray(x, dtype=np.float32)
        return (x / np.sqrt(np.mean(x * x, -1, keepdims=True) + np.float32(eps))) * w

    def rope32(pos, d, th):
        inv = (1.0 / (np.float32(th) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))).astype(np.float32)
        a = np.asarray(pos, dtype=np.float32)[:, None] * inv[None]
        e = np.concatenate([a, a], -1)
        return np.cos(e).astype(np.float32), np.sin(e).astype(np.float32)

    def attn32(q, k, v):
        T, H, d = q.shape
        group = H // k.shape[1]
        out = np.empty((T, H, d), dtype=np.float32)
        m = np.triu(np.ones((T, T), dtype=bool), 1)
        for h in range(H):
            s = np.where(m, -np.inf, (q[:, h] @ k[:, h // group].T) * np.float32(d ** -0.5)).astype(np.float32)
            p = np.exp(s - s.max(-1, keepdims=True))
            out[:, h] = (p / p.sum(-1, keepdims=True)) @ v[:, h // group]
        return out.reshape(T, H * d)

    R.rms_norm, R.rope_cos_sin = rms32, rope32
    try:
        E = W32["model.embed_tokens.weight"]
        x = E[np.asarray(ids)]
        cos, sin = rope32(np.arange(len(ids)), cfg["head_dim"], cfg["rope_theta"])
        for i in range(cfg["num_hidden_layers"]):
            x = R.decoder_layer(cfg, W32, i, x, cos, sin, attn32).astype(np.float32)
        h = rms32(x, W32["model.norm.weight"], cfg["rms_norm_eps"])
        return (R.lm_head_weight(cfg, W32) @ h[-1], h[-1]) if return_hidden else R.lm_head_weight(cfg, W32) @ h[-1]
    finally:
        R.rms_norm, R.rope_cos_sin = saved


# ---------------------------------------------------------------------------------------------------- models
def check_models(fixtures):
    run_torch, torch_bf16 = torch_logits_fn()
    if torch_bf16 is not None:
        rng = np.random.default_rng(5)
        x = np.concatenate([rng.standard_normal(200000).astype(np.float32) * 100,
                            np.array([0x3F808000, 0x3F818000, 0x7F7FFFFF, 0x00000001, 0x80008000],
                                     dtype=np.uint32).view(np.float32)])
        check(np.array_equal(S.f32_to_bf16_bits(x), torch_bf16(x)), "bf16 rounding == torch .to(bfloat16)")
    report = []
    for m in make_fixtures.MODELS:
        name = m["name"]
        d = os.path.join(fixtures, "models", name)
        cfg, W = R.load(d)
        print(f"--- {name}")
        # layout / config consistency
        tensors, dtypes = S.read_checkpoint(d)
        keys = set(tensors)
        pre = "" if m["embedding"] else "model."
        check(all(k.startswith(pre) or k == "lm_head.weight" for k in keys)
              and (m["embedding"] == (not any(k.startswith("model.") for k in keys))),
              f"{name}: key prefix {'none (Qwen3Model)' if m['embedding'] else 'model.'}")
        check(("lm_head.weight" in keys) == (not m["tied"] and not m["embedding"]), f"{name}: lm_head presence")
        check(set(dtypes.values()) == {m["dtype"]}, f"{name}: all tensors stored as {m['dtype']}")
        hd, H, KV, hs = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
        check(W["model.layers.0.self_attn.q_proj.weight"].shape == (H * hd, hs)
              and W["model.layers.0.self_attn.k_proj.weight"].shape == (KV * hd, hs)
              and W["model.layers.0.self_attn.o_proj.weight"].shape == (hs, H * hd)
              and W["model.layers.0.self_attn.q_norm.weight"].shape == (hd,)
              and W["model.embed_tokens.weight"].shape == (cfg["vocab_size"], hs),
              f"{name}: shapes match config (head_dim {hd}, hidden/heads {hs / H:g})")
        idx = os.path.join(d, "model.safetensors.index.json")
        if os.path.exists(idx):
            j = json.load(open(idx))
            shard_keys = {}
            for sh in set(j["weight_map"].values()):
                hdr, _, _ = S.read_header(os.path.join(d, sh))
                shard_keys[sh] = set(hdr)
            exact = all(shard_keys[sh] == {k for k, v in j["weight_map"].items() if v == sh} for sh in shard_keys)
            total = sum(int(np.prod(v.shape)) * 4 for v in tensors.values())
            split = len({j["weight_map"][k] for k in j["weight_map"] if k.startswith("model.layers.1.")}) > 1
            check(exact and j["metadata"]["total_size"] == total and len(shard_keys) == 2 and split,
                  f"{name}: index.json weight_map exact, total_size {total}, layer 1 spans both shards")

        gold = json.load(open(os.path.join(fixtures, "goldens", name + ".json")))
        seqs = gold["sequences"]
        # goldens reproduce
        errs = []
        for s, lg, hh, em in zip(seqs, gold["last_token_logits"], gold["last_token_hidden"], gold["embedding"]):
            h = R.last_token_hidden(cfg, W, s)
            for got, exp in ((R.last_token_logits(cfg, W, s), lg), (h, hh), (R.last_token_embedding(cfg, W, s), em)):
                errs.append(float(np.max(np.abs(got - np.array(exp)) / np.maximum(np.abs(got), 1e-30))))
        check(max(errs) < 6e-7, f"{name}: goldens == recomputation (max rel {max(errs):.2g}, 7 sig. digits)")
        check(all(abs(np.linalg.norm(e) - 1) < 1e-6 for e in gold["embedding"]), f"{name}: embeddings unit norm")
        check(gold["model"] == name and len(seqs) >= 5 and all(1 <= len(s) <= 20 for s in seqs)
              and all(0 <= t < cfg["vocab_size"] for s in seqs for t in s)
              and all(len(v) == cfg["vocab_size"] for v in gold["last_token_logits"])
              and all(len(v) == hs for v in gold["last_token_hidden"] + gold["embedding"]),
              f"{name}: golden schema / lengths")

        longest = max(seqs, key=len)
        # GQA == explicit repeat_kv
        ref = R.hidden_states(cfg, W, longest)
        rep = R.hidden_states(cfg, W, longest, attn_fn=attention_repeat_kv)
        check(maxdiff(ref, rep) < 1e-12, f"{name}: GQA h//group == repeat_kv (ratio {H // KV}) "
                                         f"[{maxdiff(ref, rep):.1e}]")
        # prefix invariance
        pm = max(maxdiff(ref[t], R.hidden_states(cfg, W, longest[: t + 1])[-1]) for t in range(len(longest)))
        check(pm < 1e-12, f"{name}: prefix invariance over {len(longest)} positions [{pm:.1e}]")
        # independent KV-cache decoder
        kd = 0.0
        for s in seqs:
            lg, hN = kv_cache_logits(cfg, W, s)
            kd = max(kd, maxdiff(lg, R.last_token_logits(cfg, W, s)), maxdiff(hN, R.last_token_hidden(cfg, W, s)))
        check(kd < 1e-11, f"{name}: token-by-token KV-cache decoder == reference [{kd:.1e}]")
        # left padding, both position schemes
        want = np.stack([R.last_token_hidden(cfg, W, s) for s in seqs])
        p0 = maxdiff(padded_batch_last_hidden(cfg, W, seqs, False), want)
        p1 = maxdiff(padded_batch_last_hidden(cfg, W, seqs, True), want)
        check(p0 < 1e-11 and p1 < 1e-11,
              f"{name}: left-padded batch == unpadded (positions 0..T-1 {p0:.1e}, cumsum {p1:.1e})")
        if run_torch is not None:
            td = 0.0
            for s in seqs:
                lg, hN = run_torch(cfg, W, s)
                td = max(td, maxdiff(lg, R.last_token_logits(cfg, W, s)), maxdiff(hN, R.last_token_hidden(cfg, W, s)))
            check(td < 1e-11, f"{name}: torch float64 HF-style model == reference [{td:.1e}]")
        # float32 evaluation error, and how far classic bugs move the logits
        f32 = f32e = 0.0
        for s in seqs:
            lg32, h32 = float32_last_logits(cfg, W, s, return_hidden=True)
            f32 = max(f32, maxdiff(lg32, R.last_token_logits(cfg, W, s)))
            f32e = max(f32e, maxdiff(h32 / np.linalg.norm(h32), R.last_token_embedding(cfg, W, s)))
        bf = bfe = None
        if run_torch is not None:
            import torch
            bf = bfe = 0.0
            for s in seqs:
                lgb, hb = run_torch(cfg, W, s, dtype=torch.bfloat16)
                bf = max(bf, maxdiff(lgb, R.last_token_logits(cfg, W, s)))
                bfe = max(bfe, maxdiff(hb / np.linalg.norm(hb), R.last_token_embedding(cfg, W, s)))
        bugs = {}
        for b in BUGS:
            vals = []
            for s in seqs:
                if len(s) < 2 and b in ("no causal mask",):
                    continue
                out = buggy_last_logits(cfg, W, s, b)
                if out is None:
                    break
                vals.append(maxdiff(out, R.last_token_logits(cfg, W, s)))
            if vals:
                bugs[b] = max(vals)
        report.append((name, f32, bugs))
        print(f"info  {name}: max |error| float32 compute: logits {f32:.1e}, embedding {f32e:.1e}"
              + ("" if bf is None else f"; torch bf16 compute: logits {bf:.1e}, embedding {bfe:.1e}"))
        smallest = min(v for b, v in bugs.items() if b != "eps 1e-5")
        check(smallest > 0.05 and smallest > 1000 * f32,
              f"{name}: every injected bug (but eps) moves max|logit diff| >= {smallest:.3g} >> float32 error "
              f"{f32:.2g}; eps 1e-5 moves {bugs['eps 1e-5']:.2g}")
    print("\nmax |logit - golden| per injected bug (over all sequences), and float32 evaluation error:")
    for name, f32, bugs in report:
        print(f"  {name}: float32 {f32:.2e}; " + "; ".join(f"{b}: {v:.3g}" for b, v in bugs.items()))


def check_determinism():
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        for out in (a, b):
            subprocess.run([sys.executable, os.path.join(HERE, "make_fixtures.py"), "--out", out], check=True,
                           stdout=subprocess.DEVNULL)
        same = True
        files = []
        for root, _, fs in os.walk(a):
            for f in fs:
                rel = os.path.relpath(os.path.join(root, f), a)
                files.append(rel)
                same &= filecmp.cmp(os.path.join(a, rel), os.path.join(b, rel), shallow=False)
        check(same and len(files) > 0, f"determinism: two runs byte-identical ({len(files)} files)")
        fx = os.path.join(make_fixtures.REPO, "test", "fixtures")
        if os.path.isdir(os.path.join(fx, "models")):
            committed = all(os.path.exists(os.path.join(fx, r)) and
                            filecmp.cmp(os.path.join(a, r), os.path.join(fx, r), shallow=False) for r in files)
            check(committed, "determinism: test/fixtures equals a fresh regeneration")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.path.join(make_fixtures.REPO, "test", "fixtures"))
    ap.add_argument("--no-determinism", action="store_true")
    a = ap.parse_args()
    check_safetensors()
    check_units()
    check_models(a.fixtures)
    if not a.no_determinism:
        check_determinism()
    print(f"\n{len(FAILS)} failure(s)" + ("" if not FAILS else ": " + "; ".join(FAILS)))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
