"""Gradient goldens for LoRA / full fine-tuning of tiny-tied-f32, with torch float64 autograd.

    /usr/bin/python3 scripts/reference/make_grad_fixtures.py [--out test/fixtures/grad] [--check]

torch (Debian's python3-torch 1.13) is used only as an autodiff engine: the Qwen3 forward below is written from
scratch as tensor functions (no nn.Module, no transformers), with the PEFT LoRA path unmerged,
x W^T + scale * (x A^T) B^T. Every sequence is run on its own, unpadded, positions 0..T-1.

Cases (base weights of tiny-tied-f32 loaded from its safetensors; shared seeded inputs):
  lora-head  trainable: LoRA A/B on q_proj,k_proj,v_proj,o_proj (r=4, alpha=8, scale 2) + score [2, hidden].
             loss = mean over the B=4 sequences of CE(score @ h_last, label), h_last = final-norm hidden state
             of the sequence's last token.
  lora       trainable: the same LoRA A/B (same values); no score. Sequence s (length L) = prompt + [label
             token], label token 7 (label 0) / 11 (label 1). loss = mean over the 2B answer tokens of
             full-vocabulary CE: logits[L-2] -> s[L-1] (the label token) and logits[L-1] -> END_TOKEN 5.
             lm_head is tied (embed_tokens.weight, frozen).
  full       trainable: every base weight + score (same score as lora-head); loss as lora-head.

Checks run every time: the torch forward equals the numpy float64 reference (qwen3_ref + peft_ref merge), the
torch loss equals a numpy loss, and central finite differences of the NUMPY loss (independent code) agree with
the torch gradients on random coordinates (FD_PER_TENSOR in every gradient tensor) of every case; a few torch-only
central differences too.
"""
import json
import os
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402
import make_peft_fixtures as MP  # noqa: E402
import peft_ref  # noqa: E402
import qwen3_ref  # noqa: E402
import safetensors_np  # noqa: E402

import torch  # noqa: E402

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

REPO = make_fixtures.REPO
BASE = "tiny-tied-f32"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
R_LORA, ALPHA = 4, 8
LABELS = [0, 1, 1, 0]
LENGTHS = [3, 12, 7, 5]
LABEL_TOKENS = [7, 11]
END_TOKEN = 5
FD_PER_TENSOR = 2  # finite-difference coordinates per gradient tensor
FD_EPS = 1e-5


# ------------------------------------------------------------------------------------------ torch forward
def t_rms(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def t_rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def t_hidden(cfg, P, ids, lora, x=None):
    """Final-norm hidden states [T, hidden] of one unpadded sequence. P: HF name -> tensor; lora: module path ->
    (A, B, scale); x: the input embeddings [T, hidden] to start from (HF's inputs_embeds), else ids' rows."""
    eps = float(cfg["rms_norm_eps"])
    H, KV, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    T = len(ids)
    inv = 1.0 / (float(cfg["rope_theta"]) ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    emb = torch.cat((ang, ang), dim=-1)
    dt = P["model.embed_tokens.weight"].dtype  # float64 for the goldens; float32 only for the tolerance info
    cos, sin = emb.cos()[:, None, :].to(dt), emb.sin()[:, None, :].to(dt)
    kv_of = torch.tensor([h // (H // KV) for h in range(H)])
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)

    def lin(x, mod):
        y = x @ P[mod + ".weight"].t()
        if mod in lora:
            A, B, s = lora[mod]
            y = y + s * ((x @ A.t()) @ B.t())
        return y

    if x is None:
        x = P["model.embed_tokens.weight"][torch.tensor(ids)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = t_rms(x, P[p + "input_layernorm.weight"], eps)
        q = t_rms(lin(h, p + "self_attn.q_proj").view(T, H, d), P[p + "self_attn.q_norm.weight"], eps)
        k = t_rms(lin(h, p + "self_attn.k_proj").view(T, KV, d), P[p + "self_attn.k_norm.weight"], eps)
        v = lin(h, p + "self_attn.v_proj").view(T, KV, d)
        q = q * cos + t_rotate_half(q) * sin
        k = k * cos + t_rotate_half(k) * sin
        k, v = k[:, kv_of], v[:, kv_of]
        s = torch.einsum("thd,shd->hts", q, k) * d ** -0.5
        s = s.masked_fill(causal[None], float("-inf"))
        a = torch.einsum("hts,shd->thd", torch.softmax(s, dim=-1), v).reshape(T, H * d)
        x = x + lin(a, p + "self_attn.o_proj")
        h = t_rms(x, P[p + "post_attention_layernorm.weight"], eps)
        g = lin(h, p + "mlp.gate_proj")
        x = x + lin(torch.nn.functional.silu(g) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    return t_rms(x, P["model.norm.weight"], eps)


def t_lm_head(cfg, P):
    if "lm_head.weight" in P and not cfg.get("tie_word_embeddings", False):
        return P["lm_head.weight"]
    return P["model.embed_tokens.weight"]


def t_seqcls_loss(cfg, P, lora, score, seqs, labels):
    logits = torch.stack([score @ t_hidden(cfg, P, s, lora)[-1] for s in seqs])
    return torch.nn.functional.cross_entropy(logits, torch.tensor(labels), reduction="mean")


def t_answer_loss(cfg, P, lora, seqs):
    rows, targets = [], []
    for s in seqs:
        lg = t_hidden(cfg, P, s, lora)[-2:] @ t_lm_head(cfg, P).t()  # positions L-2, L-1
        rows.append(lg)
        targets += [s[-1], END_TOKEN]
    return torch.nn.functional.cross_entropy(torch.cat(rows), torch.tensor(targets), reduction="mean")


# ------------------------------------------------------------------------------------------ numpy losses
def np_seqcls_loss(cfg, W, score, seqs, labels):
    return float(np.mean([peft_ref.cross_entropy(peft_ref.seq_cls_logits(cfg, W, score, s), y)
                          for s, y in zip(seqs, labels)]))


def np_answer_loss(cfg, W, seqs):
    tot = []
    for s in seqs:
        lg = qwen3_ref.logits(cfg, W, s)
        tot += [peft_ref.cross_entropy(lg[-2], s[-1]), peft_ref.cross_entropy(lg[-1], END_TOKEN)]
    return float(np.mean(tot))


# ------------------------------------------------------------------------------------------ inputs
def inputs():
    """Deterministic shared inputs: LoRA tensors (PEFT keys, float32), score (float32), sequences."""
    cfg, _ = qwen3_ref.load(os.path.join(MP.MODELS_DIR, BASE))
    rng = np.random.default_rng(zlib.crc32(b"grad-fixtures"))
    lora = MP.init_lora(rng, cfg, TARGETS, R_LORA)
    score = MP.init_score(rng, cfg)
    seqs = [[int(t) for t in rng.integers(12, cfg["vocab_size"], size=n)] for n in LENGTHS]
    answer_seqs = [s[:-1] + [LABEL_TOKENS[y]] for s, y in zip(seqs, LABELS)]
    return lora, score, seqs, answer_seqs


def fmt_list(a):
    return "[" + ",".join(make_fixtures.fmt(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)) + "]"


def write_json(path, head, loss, grads):
    lines = ["{"]
    for k, v in head:
        lines.append(f"  {json.dumps(k)}: {v},")
    lines.append(f'  "loss": {float(f"{loss:.10g}")!r},')
    lines.append('  "grads": {')
    items = [f'    {json.dumps(k)}: {{"shape": {json.dumps(list(g.shape))}, "values": {fmt_list(g)}}}'
             for k, g in grads]
    lines.append(",\n".join(items))
    lines.append("  }")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)
    with open(path, "w") as f:
        f.write(text)


def make(out_root, report):
    cfg, W = qwen3_ref.load(os.path.join(MP.MODELS_DIR, BASE))
    lora_f32, score_f32, seqs, answer_seqs = inputs()
    os.makedirs(out_root, exist_ok=True)
    cfg_head = MP.adapter_config(BASE, "SEQ_CLS", TARGETS, R_LORA, ALPHA, False)
    cfg_causal = MP.adapter_config(BASE, "CAUSAL_LM", TARGETS, R_LORA, ALPHA, False)
    MP.write_adapter(os.path.join(out_root, "lora-head"), cfg_head, {**lora_f32, peft_ref.SCORE_KEY: score_f32})
    MP.write_adapter(os.path.join(out_root, "lora"), cfg_causal, lora_f32)
    fdir = os.path.join(out_root, "full")
    if os.path.isdir(fdir):
        import shutil
        shutil.rmtree(fdir)
    os.makedirs(fdir)
    safetensors_np.write_safetensors(os.path.join(fdir, "score.safetensors"), {"score.weight": (score_f32, "F32")},
                                     {"format": "pt"})

    # read the inputs back (what a consumer sees)
    _, loras, extra = peft_ref.load_adapter(os.path.join(out_root, "lora-head"))
    _, loras2, _ = peft_ref.load_adapter(os.path.join(out_root, "lora"))
    assert all(np.array_equal(loras[m]["A"], loras2[m]["A"]) and np.array_equal(loras[m]["B"], loras2[m]["B"])
               for m in loras)
    score = extra["score.weight"]
    score_full = safetensors_np.read_safetensors(os.path.join(fdir, "score.safetensors"))[0]["score.weight"]
    assert np.array_equal(score_full.astype(np.float64), score)

    common = [("base", json.dumps(BASE))]
    tail = [("labels", json.dumps(LABELS)), ("label_tokens", json.dumps(LABEL_TOKENS)),
            ("end_token", json.dumps(END_TOKEN))]
    rng = np.random.default_rng(zlib.crc32(b"grad-fd"))
    for case in ("lora-head", "lora", "full"):
        P = {k: torch.tensor(v, requires_grad=(case == "full")) for k, v in W.items()}
        lora_t = {}
        params = []  # (json key, tensor) in output order
        if case != "full":
            for m, l in loras.items():
                A = torch.tensor(l["A"], requires_grad=True)
                B = torch.tensor(l["B"], requires_grad=True)
                lora_t[m] = (A, B, l["scale"])
                params += [(peft_ref.PREFIX + m + ".lora_A.weight", A), (peft_ref.PREFIX + m + ".lora_B.weight", B)]
        else:
            # state-dict order of the checkpoint (embed, layers, norm)
            order = [n for n, _ in make_fixtures.init_weights(
                next(m for m in make_fixtures.MODELS if m["name"] == BASE))]
            params += [(n, P[n]) for n in order]
        score_t = torch.tensor(score, requires_grad=True)
        if case != "lora":
            params.append((peft_ref.SCORE_KEY if case != "full" else "score.weight", score_t))
        case_seqs = answer_seqs if case == "lora" else seqs

        def t_loss():
            if case == "lora":
                return t_answer_loss(cfg, P, lora_t, case_seqs)
            return t_seqcls_loss(cfg, P, lora_t, score_t, case_seqs, LABELS)

        loss = t_loss()
        grads = torch.autograd.grad(loss, [t for _, t in params])
        grads = [(k, g.detach().numpy().copy()) for (k, _), g in zip(params, grads)]

        # ---- numpy loss at given parameter values (independent forward)
        def np_loss(over=None):
            """over: (json key, index, delta) perturbation of one coordinate."""
            Wn = dict(W)
            ln = {m: dict(l) for m, l in loras.items()} if case != "full" else {}
            sc = score
            if over is not None:
                key, idx, dv = over
                if key in ("score.weight", peft_ref.SCORE_KEY):
                    sc = score.copy()
                    sc[idx] += dv
                elif case == "full":
                    Wn[key] = W[key].copy()
                    Wn[key][idx] += dv
                else:
                    mod, ab = key[len(peft_ref.PREFIX):].rsplit(".lora_", 1)
                    ab = ab[0]
                    ln[mod][ab] = ln[mod][ab].copy()
                    ln[mod][ab][idx] += dv
            Wm = peft_ref.merge(Wn, ln)
            if case == "lora":
                return np_answer_loss(cfg, Wm, case_seqs)
            return np_seqcls_loss(cfg, Wm, sc, case_seqs, LABELS)

        # forward checks: loss, and final hidden states torch vs numpy
        nl = np_loss()
        Wm = peft_ref.merge(W, loras if case != "full" else {})
        hd = 0.0
        with torch.no_grad():
            for s in case_seqs:
                hd = max(hd, float(np.abs(t_hidden(cfg, P, s, lora_t).numpy() - qwen3_ref.hidden_states(cfg, Wm, s))
                                   .max()))
        report.append((f"{case}: torch forward == numpy reference (max |hidden diff| {hd:.1e}, "
                       f"|loss diff| {abs(nl - float(loss)):.1e})", hd < 1e-12 and abs(nl - float(loss)) < 1e-12))

        # finite differences of the numpy loss on random coordinates
        gmap = dict(grads)
        keys = [k for k, _ in grads]
        errs, worst = [], None
        points = []
        for key in keys:  # FD_PER_TENSOR coordinates in every gradient tensor
            g = gmap[key]
            for _ in range(FD_PER_TENSOR):
                if key.endswith("embed_tokens.weight"):  # rows of tokens that occur (others are exactly zero)
                    used = sorted({t for s in case_seqs for t in s})
                    points.append((key, (int(rng.choice(used)), int(rng.integers(g.shape[1])))))
                else:
                    points.append((key, tuple(int(rng.integers(n)) for n in g.shape)))
        for key, idx in points:
            g = gmap[key]
            fd = (np_loss((key, idx, FD_EPS)) - np_loss((key, idx, -FD_EPS))) / (2 * FD_EPS)
            an = float(g[idx])
            rel = abs(fd - an) / max(abs(fd), abs(an), 1e-8)
            errs.append(rel)
            if worst is None or rel > worst[0]:
                worst = (rel, key, idx, an, fd)
        report.append((f"{case}: central FD (numpy loss, eps {FD_EPS:g}) vs torch grads on {len(points)} coords "
                       f"({FD_PER_TENSOR} in each of {len(keys)} tensors): max rel err {max(errs):.2e} (worst {worst[1]}{list(worst[2])}: torch {worst[3]:.6e}, "
                       f"fd {worst[4]:.6e})", max(errs) < 1e-6))
        if case == "full":
            used = sorted({t for s in case_seqs for t in s})
            ge = gmap["model.embed_tokens.weight"]
            zero = np.delete(ge, used, axis=0)
            report.append((f"full: embed_tokens grad is zero outside the {len(used)} rows of used tokens",
                           bool(np.all(zero == 0)) and bool(np.all(np.abs(ge[used]).sum(1) > 0))))
        # torch-only FD on a few coordinates as well (autograd vs its own forward)
        terr = 0.0
        with torch.no_grad():
            for key in (keys[0], keys[-1]):
                t = dict(params)[key]
                idx = tuple(int(rng.integers(n)) for n in t.shape)
                old = float(t[idx])
                t[idx] = old + FD_EPS
                lp = float(t_loss())
                t[idx] = old - FD_EPS
                lm = float(t_loss())
                t[idx] = old
                fd = (lp - lm) / (2 * FD_EPS)
                terr = max(terr, abs(fd - float(gmap[key][idx])) / max(abs(fd), 1e-8))
        report.append((f"{case}: central FD (torch loss) vs autograd: max rel err {terr:.2e}", terr < 1e-6))

        # information for test tolerances: the same computation with float32 parameters and activations
        P32 = {k: v.detach().float().requires_grad_(v.requires_grad) for k, v in P.items()}
        lora32 = {m: (A.detach().float().requires_grad_(), B.detach().float().requires_grad_(), s_)
                  for m, (A, B, s_) in lora_t.items()}
        score32 = score_t.detach().float().requires_grad_()
        if case == "lora":
            loss32 = t_answer_loss(cfg, P32, lora32, case_seqs)
        else:
            loss32 = t_seqcls_loss(cfg, P32, lora32, score32, case_seqs, LABELS)
        p32 = []
        for k, _ in params:
            if k in ("score.weight", peft_ref.SCORE_KEY):
                p32.append(score32)
            elif case == "full":
                p32.append(P32[k])
            else:
                mod, ab = k[len(peft_ref.PREFIX):].rsplit(".lora_", 1)
                p32.append(lora32[mod][0 if ab[0] == "A" else 1])
        g32 = torch.autograd.grad(loss32, p32)
        e_abs = max(float(np.abs(a.double().numpy() - g).max()) for a, (_, g) in zip(g32, grads))
        e_rel = max(float(np.abs(a.double().numpy() - g).max() / np.abs(g).max()) for a, (_, g) in zip(g32, grads))
        report.append((f"{case}: info: float32 compute: |loss err| {abs(float(loss32) - float(loss)):.1e}, max |grad err| "
                       f"{e_abs:.1e}, max over tensors of (max |grad err| / max |grad|) {e_rel:.1e}", True))

        head = common + [("case", json.dumps(case)),
                         ("sequences", "[" + ", ".join(json.dumps(s) for s in case_seqs) + "]")] + tail
        if case != "full":
            head.append(("lora", json.dumps({"r": R_LORA, "lora_alpha": ALPHA, "scale": ALPHA / R_LORA,
                                             "target_modules": TARGETS})))
        write_json(os.path.join(out_root, case + ".json"), head, float(loss), grads)
        gn = float(np.sqrt(sum(float((g ** 2).sum()) for _, g in grads)))
        report.append((f"{case}: loss {float(loss):.6f}, {len(grads)} grad tensors, "
                       f"{sum(g.size for _, g in grads)} values, global grad norm {gn:.4g}", True))


def main():
    MP.fixture_main(make, os.path.join(REPO, "test", "fixtures", "grad"))


if __name__ == "__main__":
    main()
