"""Token-attribution goldens (integrated gradients) for every method, with torch float64 autograd.

    /usr/bin/python3 scripts/reference/make_ig_fixtures.py [--out test/fixtures/ig] [--check]

Integrated gradients as csrc/core/attribution.cpp states them: f is the label's log-probability (lora: of its word's
token after the sequence, over the full vocabulary; the heads: log-softmax of the head's logits), the baseline
replaces the embedding of every attributed token (positions FROM..end) with token BASELINE's, and the path integral
is the midpoint rule with STEPS points:
    score_t = sum_h (x - b)[t, h] * mean_s df/de[t, h] at e = b + (s + 1/2) / STEPS * (x - b).

Cases, on the inputs of make_grad_fixtures.py (the same tiny-tied-f32 adapters and score, read back from
test/fixtures/grad/):
  lora-head  LoRA + score at the last token        lora   LoRA, the label's token after the sequence (7 / 11)
  full       the base weights + score              embedding  tiny-embedding-f32's unit last-token vector through a
             linear head (classifier.weight/bias, seeded here, written to <out>/embedding/classifier.safetensors)
Each case attributes sequences 1 and 2 of the grad inputs, for label 1 and label 0.

Checks run every time: the forward from embeddings equals the numpy float64 reference's from ids; at 4 x STEPS the
completeness error |sum scores - (f(x) - f(b))| falls by more than 8x (the midpoint rule's 1/S^2); the gradient at
the input equals central finite differences of f on random coordinates.
"""
import json
import os
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402
import make_grad_fixtures as G  # noqa: E402
import make_peft_fixtures as MP  # noqa: E402
import peft_ref  # noqa: E402
import qwen3_ref  # noqa: E402
import safetensors_np  # noqa: E402

import torch  # noqa: E402

STEPS = 8
FROM = 2  # tokens before this are a prompt: kept in the baseline, not attributed
BASELINE = 0
CASES = [(1, 1), (2, 0)]  # (grad input sequence, label)
EMBEDDING_BASE = "tiny-embedding-f32"


def ig(f, x, b, steps):
    """Scores [T] (zero before FROM), f(x), f(b) for f: [T, hidden] -> scalar."""
    total = torch.zeros_like(x)
    for s in range(steps):
        e = (b + (s + 0.5) / steps * (x - b)).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(e), [e])
        total += g
    scores = ((x - b) * total / steps).sum(-1)
    with torch.no_grad():
        return scores.detach(), float(f(x)), float(f(b))


def make(out_root, report):
    cfg, W = qwen3_ref.load(os.path.join(MP.MODELS_DIR, G.BASE))
    grad_dir = os.path.join(make_fixtures.REPO, "test", "fixtures", "grad")
    _, loras, extra = peft_ref.load_adapter(os.path.join(grad_dir, "lora-head"))
    score = torch.tensor(extra["score.weight"])
    _, _, seqs, _ = G.inputs()
    P = {k: torch.tensor(v) for k, v in W.items()}
    lora = {m: (torch.tensor(l["A"]), torch.tensor(l["B"]), l["scale"]) for m, l in loras.items()}

    ecfg, EW = qwen3_ref.load(os.path.join(MP.MODELS_DIR, EMBEDDING_BASE))
    EP = {k: torch.tensor(v) for k, v in EW.items()}
    rng = np.random.default_rng(zlib.crc32(b"ig-fixtures"))
    head_w = (rng.standard_normal((2, ecfg["hidden_size"])) * 0.5).astype(np.float32)
    head_b = (rng.standard_normal(2) * 0.1).astype(np.float32)
    edir = os.path.join(out_root, "embedding")
    os.makedirs(edir, exist_ok=True)
    safetensors_np.write_safetensors(os.path.join(edir, "classifier.safetensors"),
                                     {"classifier.0.weight": (head_w, "F32"), "classifier.0.bias": (head_b, "F32")},
                                     {"format": "pt"})
    hw, hb = torch.tensor(head_w, dtype=torch.float64), torch.tensor(head_b, dtype=torch.float64)

    def f_for(case, ids, label):
        """f(e) for input embeddings e [T', hidden] and the ids whose rows they are (T' = T, or T + 0 for lora)."""
        if case == "embedding":
            def f(e):
                h = G.t_hidden(ecfg, EP, ids, {}, x=e)[-1]
                return torch.log_softmax(hw @ (h / h.norm()) + hb, -1)[label]
            return f
        lr = lora if case != "full" else {}

        def f(e):
            h = G.t_hidden(cfg, P, ids, lr, x=e)[-1]
            if case == "lora":
                return torch.log_softmax(h @ G.t_lm_head(cfg, P).t(), -1)[G.LABEL_TOKENS[label]]
            return torch.log_softmax(score @ h, -1)[label]
        return f

    out = {"steps": STEPS, "from": FROM, "baseline_token": BASELINE, "label_tokens": G.LABEL_TOKENS,
           "end_token": G.END_TOKEN, "cases": {}}
    fd_rng = np.random.default_rng(zlib.crc32(b"ig-fd"))
    for case in ("lora-head", "lora", "full", "embedding"):
        rows = []
        emb = EP if case == "embedding" else P
        ccfg, cW = (ecfg, EW) if case == "embedding" else (cfg, peft_ref.merge(W, loras if case != "full" else {}))
        for si, label in CASES:
            ids = seqs[si]
            table = emb["model.embed_tokens.weight"]
            x = table[torch.tensor(ids)]
            b = x.clone()
            b[FROM:] = table[BASELINE]
            f = f_for(case, ids, label)
            with torch.no_grad():
                h_ref = qwen3_ref.hidden_states(ccfg, cW, ids)
                h_t = G.t_hidden(ccfg, emb, ids, lora if case in ("lora-head", "lora") else {}, x=x).numpy()
            report.append((f"{case} seq {si}: forward from embeddings equals the numpy reference from ids "
                           f"({np.abs(h_t - h_ref).max():.1e})", np.abs(h_t - h_ref).max() < 1e-10))
            scores, fx, fb = ig(f, x, b, STEPS)
            fine, _, _ = ig(f, x, b, 4 * STEPS)
            err, err4 = abs(float(scores.sum()) - (fx - fb)), abs(float(fine.sum()) - (fx - fb))
            report.append((f"{case} seq {si}: completeness error {err:.2e} at {STEPS} steps, {err4:.2e} at "
                           f"{4 * STEPS}", err4 < err / 8))
            e = x.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(f(e), [e])
            worst = 0.0
            for _ in range(4):
                t, h = int(fd_rng.integers(FROM, len(ids))), int(fd_rng.integers(0, x.shape[1]))
                ep, em = x.clone(), x.clone()
                ep[t, h] += 1e-6
                em[t, h] -= 1e-6
                with torch.no_grad():
                    fd = (float(f(ep)) - float(f(em))) / 2e-6
                worst = max(worst, abs(fd - float(g[t, h])))
            report.append((f"{case} seq {si}: input gradient equals finite differences ({worst:.1e})", worst < 1e-6))
            rows.append({"sequence": ids, "label": label, "target": float(f"{fx:.12g}"),
                         "baseline": float(f"{fb:.12g}"),
                         "scores": [float(f"{v:.10g}") for v in scores[FROM:].tolist()]})
        out["cases"][case] = rows
    text = json.dumps(out, ensure_ascii=False, indent=1) + "\n"
    with open(os.path.join(out_root, "ig.json"), "w") as fh:
        fh.write(text)


def main():
    torch.set_default_dtype(torch.float64)
    MP.fixture_main(make, os.path.join(make_fixtures.REPO, "test", "fixtures", "ig"))


if __name__ == "__main__":
    main()
