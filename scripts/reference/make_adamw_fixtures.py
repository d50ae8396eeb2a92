"""Golden for the optimizer of method `full`: three AdamW steps of every weight of tiny-tied-f32 + score, float64.

    /usr/bin/python3 scripts/reference/make_adamw_fixtures.py [--out test/fixtures/grad] [--check]

The addon trains the embedding table row-wise (csrc/core/adamw.h: a sparse gradient, only the rows a forward read are
updated each step, the weight decay of the rows never read applied lazily). It claims the result of DENSE AdamW, so
this golden is dense AdamW written from torch.optim.AdamW's documented algorithm in numpy, float64:
    p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
    p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
with global-norm clipping as torch.nn.utils.clip_grad_norm_ (g * max / (norm + 1e-6) when norm > max), and checked
against torch.optim.AdamW (float64) on the same gradients. Gradients come from make_grad_fixtures.py's float64
autograd forward (itself checked against the numpy reference and finite differences there).

Steps: batch [0, 1] (lr 2e-2), batch [2, 3] (lr 1e-2, clipped to half its gradient norm), batch [0, 1] (lr 5e-3),
so the golden has rows read in every step, rows read in step 1 only (updated from their moments while another batch
trains), and rows never read (weight decay only). eps is 1e-3, not 1e-8: with eps far below the smallest gradients,
AdamW's first step is lr * sign(g), and a float32 gradient within rounding of zero could flip a sign; 1e-3 keeps the
float32-vs-float64 comparison well-conditioned (the update formula is the same for every eps).

Output: <out>/full-adamw.json (the test feeds the same sequences to a `full` Classifier with score weights from
<out>/full/score.safetensors and compares the weights after the three steps).
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402
import make_grad_fixtures as G  # noqa: E402  (sets torch's default dtype to float64)
import make_peft_fixtures as MP  # noqa: E402
import qwen3_ref  # noqa: E402

import torch  # noqa: E402

ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-3, "weight_decay": 0.1}
STEPS = [([0, 1], 2e-2, None), ([2, 3], 1e-2, 0.5), ([0, 1], 5e-3, None)]  # (batch, lr, clip as a fraction of norm)
GOLDEN = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight",
          "model.norm.weight", "score.weight"]


def adamw_numpy(params, grads, state, t, lr):
    b1, b2, eps, wd = ADAM["beta1"], ADAM["beta2"], ADAM["eps"], ADAM["weight_decay"]
    out = {}
    for k, p in params.items():
        g = grads[k]
        m, v = state.get(k, (np.zeros_like(p), np.zeros_like(p)))
        p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        state[k] = (m, v)
        out[k] = p
    return out


def make(out_root, report):
    cfg, W = qwen3_ref.load(os.path.join(MP.MODELS_DIR, G.BASE))
    _, score, seqs, _ = G.inputs()
    order = [n for n, _ in make_fixtures.init_weights(next(m for m in make_fixtures.MODELS if m["name"] == G.BASE))]
    params = {n: np.array(W[n], dtype=np.float64) for n in order}
    params["score.weight"] = np.array(score, dtype=np.float64)
    state = {}
    # torch.optim.AdamW on the same gradients: an independent implementation of the same update
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    topt = torch.optim.AdamW(list(tparams.values()), lr=1.0, betas=(ADAM["beta1"], ADAM["beta2"]), eps=ADAM["eps"],
                             weight_decay=ADAM["weight_decay"])
    steps = []
    for t, (batch, lr, clip_fraction) in enumerate(STEPS, start=1):
        P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        bs = [seqs[i] for i in batch]
        ys = [G.LABELS[i] for i in batch]
        loss = G.t_seqcls_loss(cfg, P, {}, P["score.weight"], bs, ys)
        grads = dict(zip(P, (g.detach().numpy() for g in torch.autograd.grad(loss, list(P.values()),
                                                                               allow_unused=True))))
        grads = {k: (np.zeros_like(params[k]) if g is None else g) for k, g in grads.items()}
        norm = float(np.sqrt(sum(float((g ** 2).sum()) for g in grads.values())))
        max_norm = 0.0
        if clip_fraction is not None:
            max_norm = float(f"{norm * clip_fraction:.6g}")
            grads = {k: g * (max_norm / (norm + 1e-6)) for k, g in grads.items()}
        params = adamw_numpy(params, grads, state, t, lr)
        for k, p in tparams.items():
            p.grad = torch.tensor(grads[k])
        for group in topt.param_groups:
            group["lr"] = lr
        topt.step()
        steps.append({"batch": batch, "lr": lr, "max_grad_norm": max_norm, "loss": float(f"{float(loss):.10g}"),
                      "grad_norm": float(f"{norm:.10g}")})
    diff = max(float(np.abs(tparams[k].detach().numpy() - params[k]).max()) for k in params)
    report.append((f"full-adamw: numpy AdamW == torch.optim.AdamW after {len(STEPS)} steps (max |diff| {diff:.1e})",
                   diff < 1e-12))

    read = [sorted({tok for i in b for tok in seqs[i]}) for b, _, _ in STEPS]
    never = [r for r in range(cfg["vocab_size"]) if not any(r in x for x in read)]
    only_first = sorted(set(read[0]) - set(read[1]))
    e0, e1 = W["model.embed_tokens.weight"], params["model.embed_tokens.weight"]
    decay = np.prod([1 - lr * ADAM["weight_decay"] for _, lr, _ in STEPS])
    report.append((f"full-adamw: {len(never)} embedding rows never read end at exactly p * prod(1 - lr wd) "
                   f"({decay:.6f})", bool(np.allclose(e1[never], e0[never] * decay, rtol=0, atol=1e-15))))
    moved = float(np.abs(e1[only_first] - e0[only_first] * decay).min())
    report.append((f"full-adamw: the {len(only_first)} rows read in step 1 only moved beyond the decay (min |move| "
                   f"{moved:.1e})", moved > 1e-4))
    clipped = steps[1]["grad_norm"] > steps[1]["max_grad_norm"] > 0
    report.append((f"full-adamw: step 2 clipped ({steps[1]['grad_norm']:.4g} > {steps[1]['max_grad_norm']:.4g})",
                   clipped))

    head = [("base", json.dumps(G.BASE)), ("sequences", json.dumps(seqs)), ("labels", json.dumps(G.LABELS)),
            ("adam", json.dumps(ADAM)), ("steps", json.dumps(steps)),
            ("rows", json.dumps({"never_read": never, "read_in_step_1_only": only_first}))]
    lines = ["{"] + [f"  {json.dumps(k)}: {v}," for k, v in head] + ['  "weights": {']
    lines.append(",\n".join(f'    {json.dumps(k)}: {{"shape": {json.dumps(list(params[k].shape))}, '
                            f'"values": {G.fmt_list(params[k])}}}' for k in GOLDEN))
    lines += ["  }", "}"]
    text = "\n".join(lines) + "\n"
    json.loads(text)
    os.makedirs(out_root, exist_ok=True)
    with open(os.path.join(out_root, "full-adamw.json"), "w") as f:
        f.write(text)
    report.append((f"full-adamw: losses {[s['loss'] for s in steps]}", True))


def main():
    MP.fixture_main(make, os.path.join(G.REPO, "test", "fixtures", "grad"), ["full-adamw.json"])


if __name__ == "__main__":
    main()
