"""Write PEFT LoRA adapters for the tiny fixture models plus float64 goldens (numpy only).

    /usr/bin/python3 scripts/reference/make_peft_fixtures.py [--out test/fixtures/peft] [--check]

For each base in BASES two adapters, in PEFT's save_pretrained layout (adapter_config.json +
adapter_model.safetensors, F32, `__metadata__ {"format": "pt"}`):
  <base>-causal   CAUSAL_LM, q_proj,k_proj,v_proj,o_proj, r=4, alpha=8 (scale 2)
  <base>-seqcls   SEQ_CLS, q_proj,v_proj,gate_proj,up_proj,down_proj, r=2, alpha=4, use_rslora (scale 4/sqrt(2)),
                  plus base_model.model.score.weight [2, hidden]
  <base>-seqcls3  SEQ_CLS with num_labels 3: q_proj,v_proj, r=2, alpha=4 (scale 2), score.weight [3, hidden]
A is PEFT's default init (Kaiming-uniform a=sqrt(5): U(-1/sqrt(in), 1/sqrt(in))); B is N(0, 0.1^2) instead of
PEFT's zeros so the adapter visibly changes the outputs. Goldens <adapter>.json are computed by peft_ref.py from
the tensors read back from the written files.

Deterministic (one seeded numpy Generator per adapter / per base for the sequences). `--check` regenerates into a
temporary directory, runs the self-checks and compares the result byte-for-byte with --out.
"""
import argparse
import filecmp
import json
import os
import shutil
import sys
import tempfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402
import peft_ref  # noqa: E402
import qwen3_ref  # noqa: E402
import safetensors_np  # noqa: E402

REPO = make_fixtures.REPO
MODELS_DIR = os.path.join(REPO, "test", "fixtures", "models")
BASES = ["tiny-tied-f32", "tiny-untied-bf16-gqa3"]
SEQ_LENGTHS = [1, 3, 6, 10, 15]

ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")

KINDS = {
    "causal": dict(task_type="CAUSAL_LM", targets=["q_proj", "k_proj", "v_proj", "o_proj"], r=4, alpha=8,
                   rslora=False, score=False),
    "seqcls": dict(task_type="SEQ_CLS", targets=["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"], r=2,
                   alpha=4, rslora=True, score=True),
    # A three-way head (num_labels 3, e.g. 消极/中性/积极): score.weight [3, hidden].
    "seqcls3": dict(task_type="SEQ_CLS", targets=["q_proj", "v_proj"], r=2, alpha=4, rslora=False, score=True,
                    num_labels=3),
}


def adapter_config(base_name, task_type, targets, r, alpha, rslora):
    """adapter_config.json as PEFT (0.1x) writes it for a plain LoRA (json indent 2, sorted keys)."""
    return {
        "alpha_pattern": {},
        "base_model_name_or_path": base_name,
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": alpha,
        "lora_dropout": 0.0,
        "modules_to_save": ["classifier", "score"] if task_type == "SEQ_CLS" else None,
        "peft_type": "LORA",
        "r": r,
        "rank_pattern": {},
        "revision": None,
        "target_modules": list(targets),
        "task_type": task_type,
        "use_dora": False,
        "use_rslora": rslora,
    }


def module_path(layer, target):
    return f"model.layers.{layer}.{'self_attn' if target in ATTN else 'mlp'}.{target}"


def target_shape(cfg, target):
    """[out, in] of a Qwen3 linear."""
    hs, inter = cfg["hidden_size"], cfg["intermediate_size"]
    hd = qwen3_ref._head_dim(cfg)
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    return {"q_proj": (q, hs), "k_proj": (kv, hs), "v_proj": (kv, hs), "o_proj": (hs, q),
            "gate_proj": (inter, hs), "up_proj": (inter, hs), "down_proj": (hs, inter)}[target]


def init_lora(rng, cfg, targets, r, b_std=0.1):
    """PEFT-key -> float32 array, layers in order, targets in the given order, A then B.
    A ~ U(-1/sqrt(in), 1/sqrt(in)) (= PEFT's kaiming_uniform_(a=sqrt(5))), B ~ N(0, b_std^2) (PEFT: zeros)."""
    out = {}
    for i in range(cfg["num_hidden_layers"]):
        for t in targets:
            n_out, n_in = target_shape(cfg, t)
            bound = 1.0 / np.sqrt(n_in)
            p = peft_ref.PREFIX + module_path(i, t)
            out[p + ".lora_A.weight"] = rng.uniform(-bound, bound, size=(r, n_in)).astype(np.float32)
            out[p + ".lora_B.weight"] = (b_std * rng.standard_normal((n_out, r))).astype(np.float32)
    return out


def init_score(rng, cfg, num_labels=2):
    """[num_labels, hidden] ~ N(0, 1/hidden): score logits of std ~1 on final-norm hidden states."""
    hs = cfg["hidden_size"]
    return (rng.standard_normal((num_labels, hs)) / np.sqrt(hs)).astype(np.float32)


def write_adapter(d, config, tensors):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    safetensors_np.write_safetensors(os.path.join(d, "adapter_model.safetensors"),
                                     {k: (v, "F32") for k, v in tensors.items()}, {"format": "pt"})


def seed_of(name):
    return zlib.crc32(name.encode("utf-8"))


def sequences(base, vocab):
    rng = np.random.default_rng(seed_of("peft-seqs/" + base))
    seqs = [[int(t) for t in rng.integers(0, vocab, size=n)] for n in SEQ_LENGTHS]
    seqs[2] = [0, vocab - 1] + seqs[2][2:]  # id range edges
    return seqs


def write_golden(path, fields):
    """fields: list of (key, json text); written in this order."""
    text = "{\n" + ",\n".join(f"  {json.dumps(k)}: {v}" for k, v in fields) + "\n}\n"
    json.loads(text)
    with open(path, "w") as f:
        f.write(text)


def make(out_root):
    results = []
    for base in BASES:
        model_dir = os.path.join(MODELS_DIR, base)
        cfg, W = qwen3_ref.load(model_dir)
        seqs = sequences(base, cfg["vocab_size"])
        for kind, k in KINDS.items():
            name = f"{base}-{kind}"
            rng = np.random.default_rng(seed_of("peft/" + name))
            tensors = init_lora(rng, cfg, k["targets"], k["r"])
            if k["score"]:
                tensors[peft_ref.SCORE_KEY] = init_score(rng, cfg, k.get("num_labels", 2))
            d = os.path.join(out_root, name)
            write_adapter(d, adapter_config(base, k["task_type"], k["targets"], k["r"], k["alpha"], k["rslora"]),
                          tensors)
            # goldens from what was written
            acfg, loras, extra = peft_ref.load_adapter(d)
            Wm = peft_ref.merge(W, loras)
            hidden = [qwen3_ref.last_token_hidden(cfg, Wm, s) for s in seqs]
            head = qwen3_ref.lm_head_weight(cfg, Wm)
            logits = [head @ h for h in hidden]
            base_logits = [qwen3_ref.last_token_logits(cfg, W, s) for s in seqs]
            fmt, rows = make_fixtures.fmt, make_fixtures.rows_json
            fields = [("base", json.dumps(base)), ("adapter", json.dumps(name)),
                      ("task_type", json.dumps(k["task_type"])), ("scale", fmt(next(iter(loras.values()))["scale"])),
                      ("sequences", rows(seqs, str)), ("last_token_logits", rows(logits, fmt)),
                      ("last_token_hidden", rows(hidden, fmt))]
            if k["score"]:
                cls = [extra["score.weight"] @ h for h in hidden]
                base_cls = [extra["score.weight"] @ qwen3_ref.last_token_hidden(cfg, W, s) for s in seqs]
                fields.append(("seq_cls_logits", rows(cls, fmt)))
                fields.append(("base_seq_cls_logits", rows(base_cls, fmt)))
            fields.append(("base_last_token_logits", rows(base_logits, fmt)))
            write_golden(os.path.join(out_root, name + ".json"), fields)
            dl = max(float(np.abs(a - b).max()) for a, b in zip(logits, base_logits))
            results.append((name, dl, len(loras)))
    return results


def self_check(out_root):
    """Independent-ish checks of the written adapters and goldens. Returns a list of failure strings."""
    fails = []

    def check(cond, what):
        print(("ok    " if cond else "FAIL  ") + what)
        if not cond:
            fails.append(what)

    for base in BASES:
        cfg, W = qwen3_ref.load(os.path.join(MODELS_DIR, base))
        for kind, k in KINDS.items():
            name = f"{base}-{kind}"
            d = os.path.join(out_root, name)
            acfg, loras, extra = peft_ref.load_adapter(d)
            g = json.load(open(os.path.join(out_root, name + ".json")))
            hdr, meta, _ = safetensors_np.read_header(os.path.join(d, "adapter_model.safetensors"))
            want_keys = {peft_ref.PREFIX + module_path(i, t) + f".lora_{ab}.weight"
                         for i in range(cfg["num_hidden_layers"]) for t in k["targets"] for ab in "AB"}
            if k["score"]:
                want_keys.add(peft_ref.SCORE_KEY)
            check(set(hdr) == want_keys and meta == {"format": "pt"}
                  and all(v["dtype"] == "F32" for v in hdr.values()), f"{name}: PEFT keys, F32, metadata")
            scale = k["alpha"] / (np.sqrt(k["r"]) if k["rslora"] else k["r"])
            check(all(abs(l["scale"] - scale) < 1e-15 and l["r"] == k["r"] for l in loras.values())
                  and abs(g["scale"] - scale) < 1e-6 * scale, f"{name}: scale {scale:.6g}")
            check(all(np.abs(l["B"]).min() > 0 for l in loras.values()), f"{name}: B non-zero")
            # unmerged LoRA path (x W^T + s (x A^T) B^T), by monkeypatching the linear weights with a callable
            err = 0.0
            for s, lg in zip(g["sequences"], g["last_token_logits"]):
                lu = unmerged_last_logits(cfg, W, loras, s)
                err = max(err, float(np.max(np.abs(lu - np.array(lg)) / np.maximum(np.abs(lu), 1e-3))))
            check(err < 1e-6, f"{name}: unmerged LoRA forward == golden (merged) [rel {err:.1e}]")
            if k["score"]:
                err = 0.0
                for s, c in zip(g["sequences"], g["seq_cls_logits"]):
                    got = extra["score.weight"] @ unmerged_last_hidden(cfg, W, loras, s)
                    err = max(err, float(np.max(np.abs(got - np.array(c)))))
                check(err < 1e-6, f"{name}: seq-cls logits == unmerged score(h_last) [abs {err:.1e}]")
            dl = max(float(np.abs(np.array(a) - np.array(b)).max())
                     for a, b in zip(g["last_token_logits"], g["base_last_token_logits"]))
            check(dl > 0.3, f"{name}: adapter moves last-token logits visibly (max |diff| {dl:.3g})")
            ref = json.load(open(os.path.join(REPO, "test", "fixtures", "goldens", base + ".json")))
            b0 = qwen3_ref.last_token_logits(cfg, W, ref["sequences"][0])
            check(np.max(np.abs(b0 - np.array(ref["last_token_logits"][0]))) < 1e-5,
                  f"{name}: base model agrees with goldens/{base}.json")
    return fails


def unmerged_last_hidden(cfg, W, loras, ids):
    """Final-norm last hidden with LoRA applied on the activations (not folded), reimplementing the layer loop
    with peft_ref.lora_linear."""
    eps = float(cfg.get("rms_norm_eps", 1e-6))
    H, KV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], qwen3_ref._head_dim(cfg)
    x = W["model.embed_tokens.weight"][np.asarray(ids)]
    T = x.shape[0]
    cos, sin = qwen3_ref.rope_cos_sin(np.arange(T), hd, cfg["rope_theta"])

    def lin(h, mod):
        return peft_ref.lora_linear(h, W[mod + ".weight"], loras.get(mod))

    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = qwen3_ref.rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = qwen3_ref.rms_norm(lin(h, p + "self_attn.q_proj").reshape(T, H, hd), W[p + "self_attn.q_norm.weight"], eps)
        k = qwen3_ref.rms_norm(lin(h, p + "self_attn.k_proj").reshape(T, KV, hd), W[p + "self_attn.k_norm.weight"], eps)
        v = lin(h, p + "self_attn.v_proj").reshape(T, KV, hd)
        a = qwen3_ref.attention(qwen3_ref.apply_rope(q, cos, sin), qwen3_ref.apply_rope(k, cos, sin), v)
        x = x + lin(a, p + "self_attn.o_proj")
        h = qwen3_ref.rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        x = x + lin(qwen3_ref.silu(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    return qwen3_ref.rms_norm(x, W["model.norm.weight"], eps)[-1]


def unmerged_last_logits(cfg, W, loras, ids):
    return qwen3_ref.lm_head_weight(cfg, W) @ unmerged_last_hidden(cfg, W, loras, ids)


def tree_files(root):
    out = []
    for r, _, fs in os.walk(root):
        for f in fs:
            out.append(os.path.relpath(os.path.join(r, f), root))
    return sorted(out)


def fixture_main(make, default_out, files=None):
    """The command line of a golden maker: make(out, report) writes into --out (default_out); with --check it writes
    into a temporary folder instead, runs its checks, and compares `files` (default: all it wrote) byte for byte with
    --out. report: (message, ok) pairs, printed; exits 1 on any failure."""
    import argparse
    import filecmp
    import tempfile
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir, run the checks, compare byte-for-byte with --out")
    a = ap.parse_args()
    report = []
    if a.check:
        with tempfile.TemporaryDirectory() as td:
            make(td, report)
            names = files or tree_files(td)
            same = all(os.path.exists(os.path.join(a.out, f)) and
                       filecmp.cmp(os.path.join(td, f), os.path.join(a.out, f), shallow=False) for f in names)
            report.append((f"{a.out} equals a fresh regeneration ({', '.join(names) if files else f'{len(names)} files'})",
                           same))
    else:
        os.makedirs(a.out, exist_ok=True)
        make(a.out, report)
    fails = [m for m, ok in report if not ok]
    for m, ok in report:
        print(("ok    " if ok else "FAIL  ") + m)
    print(f"\n{len(fails)} failure(s)")
    sys.exit(1 if fails else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test", "fixtures", "peft"))
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir, self-check, and compare byte-for-byte with --out")
    a = ap.parse_args()
    if a.check:
        with tempfile.TemporaryDirectory() as td:
            make(td)
            fails = self_check(td)
            new = [f for f in tree_files(td)]
            same = all(os.path.exists(os.path.join(a.out, f)) and
                       filecmp.cmp(os.path.join(td, f), os.path.join(a.out, f), shallow=False) for f in new)
            print(("ok    " if same else "FAIL  ") + f"{a.out} equals a fresh regeneration ({len(new)} files)")
            if not same:
                fails.append("regeneration differs")
        print(f"\n{len(fails)} failure(s)")
        sys.exit(1 if fails else 0)
    os.makedirs(a.out, exist_ok=True)
    for name, dl, n in make(a.out):
        print(f"{name:32s} {n} LoRA modules, max |logit - base logit| = {dl:.3f}")
    fails = self_check(a.out)
    print(f"\n{len(fails)} failure(s)")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
