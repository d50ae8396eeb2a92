"""Goldens for lora's label words of several tokens (numpy float64 only).

    /usr/bin/python3 scripts/reference/make_label_fixtures.py [--out test/fixtures/label-words] [--check]

For each base of make_peft_fixtures.BASES, with its committed CAUSAL_LM adapter (../peft/<base>-causal, merged into
the float64 base weights by peft_ref) and the adapter golden's sequences (make_peft_fixtures.sequences):
  label_words   token ids of each label word, label 0 first: a one-token word, a two-token word, a three-token word
                sharing its first token with the two-token one, and a one-token word that is that shared first
                token (the case of 消极,中性,积极 where 中性 is 2 tokens, and of words sharing their first token)
  label_scores  [sequence][label]: the sum of the label word's token log-probabilities, each token given the
                sequence and the word's tokens before it: one full forward of sequence + word per (sequence, label),
                log-softmax over the whole vocabulary at each answer position (independent of the native code's
                batched continuation over kept keys and values)
  label_probs   softmax over labels of label_scores (what predict returns)
  prompted_sequences, prompted_label_scores: the same after a shared prompt of 10 tokens (PROMPT)
  train_labels, end_token, train_sequences (sequence + the gold label's word), answer_ce (per sequence: the
                cross-entropy of each word token, then of end_token after the word), train_loss: the mean of every
                answer_ce (the lora training loss: the mean over the batch's answer tokens)

Deterministic; `--check` regenerates into a temporary directory, self-checks and compares byte-for-byte with --out.
"""
import argparse
import filecmp
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402
import make_peft_fixtures as MP  # noqa: E402
import peft_ref  # noqa: E402
import qwen3_ref  # noqa: E402

LABEL_WORDS = [[7], [9, 4], [9, 13, 6], [9]]
TRAIN_LABELS = [2, 1, 0, 3, 1]
END_TOKEN = 5
# A prompt every sequence starts with (as lora's instruction): long enough (>= 8 tokens) for the native prompt cache
# to run it once and share its keys and values.
PROMPT = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
FILES = [f"{b}.json" for b in MP.BASES]


def log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def word_score(cfg, W, seq, word):
    """sum_t log p(word[t] | seq, word[:t]) from one forward of seq + word."""
    lp = log_softmax(qwen3_ref.logits(cfg, W, list(seq) + list(word)))
    n = len(seq)
    return float(sum(lp[n - 1 + t, tok] for t, tok in enumerate(word)))


def answer_ce(cfg, W, seq, word):
    """Cross-entropies of the answer tokens of seq + word: each word token, then END_TOKEN after the word."""
    full = list(seq) + list(word)
    lg = qwen3_ref.logits(cfg, W, full)
    n = len(seq)
    targets = list(word) + [END_TOKEN]
    return [peft_ref.cross_entropy(lg[n - 1 + t], tok) for t, tok in enumerate(targets)]


def softmax(v):
    e = np.exp(np.asarray(v) - np.max(v))
    return e / e.sum()


def rows(a):
    return "[" + ", ".join("[" + ", ".join(make_fixtures.fmt(x) for x in r) + "]" for r in a) + "]"


def make(out):
    os.makedirs(out, exist_ok=True)
    fails = []
    for base in MP.BASES:
        cfg, W, _, _ = peft_ref.load_merged(os.path.join(MP.MODELS_DIR, base),
                                            os.path.join(MP.REPO, "test", "fixtures", "peft", f"{base}-causal"))
        seqs = MP.sequences(base, cfg["vocab_size"])
        scores = [[word_score(cfg, W, s, w) for w in LABEL_WORDS] for s in seqs]
        prompted = [PROMPT + list(s) for s in seqs]
        prompted_scores = [[word_score(cfg, W, s, w) for w in LABEL_WORDS] for s in prompted]
        probs = [softmax(r) for r in scores]
        # Self-check: a one-token word scores the log-softmax of the last-token logits.
        for s, r in zip(seqs, scores):
            lp = log_softmax(peft_ref.causal_last_token_logits(cfg, W, s))
            if abs(lp[LABEL_WORDS[0][0]] - r[0]) > 1e-12 or abs(lp[LABEL_WORDS[3][0]] - r[3]) > 1e-12:
                fails.append(f"{base}: one-token word score != last-token log-softmax")
        train = [list(s) + LABEL_WORDS[y] for s, y in zip(seqs, TRAIN_LABELS)]
        ces = [answer_ce(cfg, W, s, LABEL_WORDS[y]) for s, y in zip(seqs, TRAIN_LABELS)]
        loss = float(np.mean([c for r in ces for c in r]))
        fields = [
            ("base", json.dumps(base)),
            ("adapter", json.dumps(f"peft/{base}-causal")),
            ("sequences", json.dumps(seqs)),
            ("label_words", json.dumps(LABEL_WORDS)),
            ("label_scores", rows(scores)),
            ("label_probs", rows(probs)),
            ("prompted_sequences", json.dumps(prompted)),
            ("prompted_label_scores", rows(prompted_scores)),
            ("train_labels", json.dumps(TRAIN_LABELS)),
            ("end_token", json.dumps(END_TOKEN)),
            ("train_sequences", json.dumps(train)),
            ("answer_ce", rows(ces)),
            ("train_loss", make_fixtures.fmt(loss)),
        ]
        MP.write_golden(os.path.join(out, f"{base}.json"), fields)
        spread = max(float(np.max(p) - np.min(p)) for p in probs)
        print(f"{base:24s} label words {LABEL_WORDS}: max spread of label probs {spread:.3f}, train loss {loss:.6f}")
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(MP.REPO, "test", "fixtures", "label-words"))
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir, self-check, and compare byte-for-byte with --out")
    a = ap.parse_args()
    if a.check:
        with tempfile.TemporaryDirectory() as td:
            fails = make(td)
            same = all(os.path.exists(os.path.join(a.out, f)) and
                       filecmp.cmp(os.path.join(td, f), os.path.join(a.out, f), shallow=False) for f in FILES)
            print(("ok    " if same else "FAIL  ") + f"{a.out} equals a fresh regeneration ({len(FILES)} files)")
            if not same:
                fails.append("regeneration differs")
    else:
        fails = make(a.out)
    print(f"\n{len(fails)} failure(s)" + ("" if not fails else ": " + "; ".join(fails)))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
