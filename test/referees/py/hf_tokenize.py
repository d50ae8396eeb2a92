"""Token ids from transformers' AutoTokenizer over Qwen3's tokenizer files, as a transformers user gets them.

job: {"tokenizer_dir", "texts": [...]}    out: {"ids": [[id, ...], ...], "class": the tokenizer's class name}
"""
from transformers import AutoTokenizer

from referee import finish, start


def main():
    job, out = start()
    tok = AutoTokenizer.from_pretrained(job["tokenizer_dir"])
    ids = tok(job["texts"])["input_ids"]
    finish(out, {"ids": ids, "class": type(tok).__name__})


if __name__ == "__main__":
    main()
