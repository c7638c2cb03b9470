"""A bigger default model on a remote GPU machine with tight limits: about 15 minutes of GPU time,
≤ 10 minutes a command, ≤ 64 MiB of inputs copied there, results ≤ 64 MiB in files ≤ 16 MiB.

  # here (CPU): the corpus's train split, compressed, plus the tokenizer -> a folder to carry
  python -m training.gpu pack --corpus training/data/corpus-v2/train.jsonl \
      --tokenizer model/tokenizer.json --out training/data/gpu-carry --max-mb 380
  # there (GPU; its python3 has torch and transformers): repo-level packing on every core,
  # then bf16 training of BIG_PRESET (~28M parameters) until the time budget, weights in bf16 shards
  python3 -m training.gpu train --carry training/data/gpu-carry --out $OUT/run --minutes 8
  # here again: the weights come back under the run's files folder; export as usual
  python -m training.export --checkpoint RUN/hf --tokenizer model/tokenizer.json --out model ...

`--tiny` runs the same path on a CPU in a minute (a few MB, the fixture shape): the test of this recipe.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

CARRY_LIMIT_BYTES = 60 * 2**20  # at most 64 MiB of inputs are copied to the GPU machine
RESULT_SHARD = "15MB"  # results come back in files of 16 MiB at most
BIG_PRESET = {  # ~28M parameters: bf16 weights ~56 MB, inside the 64 MiB of results that come back
    "num_hidden_layers": 8, "hidden_size": 512, "num_attention_heads": 8, "num_key_value_heads": 1,
    "intermediate_size": 1536, "max_position_embeddings": 1024,
}
TINY_PRESET = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 1,
               "intermediate_size": 176, "max_position_embeddings": 256}


def pack(corpus: Path, tokenizer: Path, out: Path, max_mb: float) -> dict:
    """Whole packages of the train split, xz-compressed, until `max_mb` of text (and the carry limit)."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tokenizer, out / "tokenizer.json")
    target = out / "corpus.jsonl.xz"
    written = 0
    with lzma.open(target, "wt", encoding="utf-8", preset=6) as sink, corpus.open(encoding="utf-8") as lines:
        for line in lines:
            if written >= max_mb * 1e6:
                break
            sink.write(line)
            written += len(line.encode("utf-8"))
    size = target.stat().st_size
    if size > CARRY_LIMIT_BYTES:
        raise SystemExit(f"{target} is {size / 2**20:.1f} MiB, over the carry limit: lower --max-mb")
    meta = {"text_mb": round(written / 1e6, 1), "compressed_mib": round(size / 2**20, 1)}
    (out / "carry.json").write_text(json.dumps(meta))
    print(f"packed {meta['text_mb']} MB of code into {target} ({meta['compressed_mib']} MiB)", flush=True)
    return meta


def _pack_shard(job: tuple[str, str, str, int, int, int, int]) -> int:
    from tokenizers import Tokenizer

    from training.data import pack_packages, package_groups
    from training.fim import DEFAULT_FIM_TOKENS

    corpus, tokenizer_path, out_dir, shard, shards, seq_len, seed = job
    groups = package_groups(Path(corpus), seed, None)[shard::shards]
    ids, flags = pack_packages(groups, Tokenizer.from_file(tokenizer_path), (seed, shard), seq_len, 1600, 0.6, DEFAULT_FIM_TOKENS)
    np.save(Path(out_dir) / f"ids_{shard:05d}.npy", ids)
    np.save(Path(out_dir) / f"flags_{shard:05d}.npy", flags)
    return int(ids.shape[0])


def tokenize_on_all_cores(corpus: Path, tokenizer: Path, out: Path, seq_len: int, seed: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    shards = max(1, min(32, os.cpu_count() or 1))
    jobs = [(str(corpus), str(tokenizer), str(out), shard, shards, seq_len, seed) for shard in range(shards)]
    with ProcessPoolExecutor(shards) as pool:
        return sum(pool.map(_pack_shard, jobs))


def train_carried(carry: Path, out: Path, minutes: float, tiny: bool) -> Path:
    from training.train import parse_args, train

    started = time.time()
    work = out / "data"
    corpus = work / "corpus.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    with lzma.open(carry / "corpus.jsonl.xz", "rt", encoding="utf-8") as source, corpus.open("w", encoding="utf-8") as sink:
        shutil.copyfileobj(source, sink)
    seq_len = TINY_PRESET["max_position_embeddings"] if tiny else 1024
    rows = tokenize_on_all_cores(corpus, carry / "tokenizer.json", work / "train", seq_len, seed=0)
    print(f"packed {rows} rows of {seq_len} tokens in {time.time() - started:.0f}s", flush=True)
    preset = TINY_PRESET if tiny else BIG_PRESET
    left = max(0.5, minutes - (time.time() - started) / 60)
    tokens = 2e5 if tiny else 3e9  # the schedule's length; --max-minutes ends it
    args = parse_args([
        "--run-dir", str(out / "run"), "--train-data", str(work / "train"), "--tokenizer", str(carry / "tokenizer.json"),
        "--preset", "5m", "--model-overrides", json.dumps(preset), "--noise", "msn", "--span-length", "5",
        "--batch-size", "4" if tiny else "64", "--lr", "3e-3" if tiny else "1e-3", "--warmup-steps", "10" if tiny else "200",
        "--max-tokens", str(tokens), "--max-minutes", str(left), "--max-steps", "20" if tiny else "1000000000",
        "--checkpoint-minutes", "3", "--log-every", "10", "--threads", "1" if tiny else "8",
        "--precision", "fp32" if tiny else "auto", "--seed", "0", "--resume",
    ])
    train(args)
    weights = out / "weights"
    shutil.rmtree(weights, ignore_errors=True)
    from transformers import AutoModelForCausalLM
    import torch

    model = AutoModelForCausalLM.from_pretrained(out / "run" / "hf", dtype=torch.float32)
    model.to(torch.bfloat16).save_pretrained(weights, max_shard_size=RESULT_SHARD)
    for name in ("training.json", "tokenizer.json"):
        shutil.copyfile(out / "run" / "hf" / name, weights / name)
    shutil.copyfile(out / "run" / "log.jsonl", weights / "log.jsonl")
    shutil.rmtree(work)  # only the weights and the log come back
    (out / "run" / "checkpoint.pt").unlink(missing_ok=True)
    print(f"wrote {weights} in {time.time() - started:.0f}s", flush=True)
    return weights


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pack")
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--tokenizer", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--max-mb", type=float, default=380)
    t = commands.add_parser("train")
    t.add_argument("--carry", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--minutes", type=float, default=8.0)
    t.add_argument("--tiny", action="store_true", help="the same path on a CPU, in a minute (the recipe's test)")
    args = parser.parse_args(argv)
    if args.command == "pack":
        pack(args.corpus, args.tokenizer, args.out, args.max_mb)
    else:
        train_carried(args.carry, args.out, args.minutes, args.tiny)


if __name__ == "__main__":
    main()
