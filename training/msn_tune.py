"""`npm run model -- msn-tune BASE --repo DIR [--tokens N]`: MSN fine-tuning of an existing checkpoint on your code.

The paper's recipe (training/noise.py): in every sample ONE span of --span-length tokens (5) inside its target
part is replaced by tokens drawn from earlier in the same sample, the labels stay clean, so the model learns
to predict the right next token after wrong guesses, which is what Jacobi and tree drafts feed it.
The samples are the files of DIR as the default model is trained on its corpus (training/repo_samples.py):
windows of each file after context chunks of DIR's other files, in the repo-level layout when the base
model's tokenizer has repo tokens (Qwen2.5-Coder, StarCoder2), as file-level FIM samples (training/fim.py)
otherwise (DeepSeek-Coder), a few seeded draws until --tokens is covered.

BASE: a repository id, a local Hugging Face folder or a preset name, resolved as `add` does (download,
refusals). Training is training/train.py (--init BASE --noise msn; a GPU with bf16 when there is one) in
MODELS_DIR/.msn-tune/NAME: Ctrl+C checkpoints it and the same command resumes it. Before it starts, one
measured step gives the time it will take. Then it is exported, checked and installed as MODELS_DIR/NAME
like `add` (models.install), and the run folder is deleted (--keep-run keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from training.models import (
    PRESETS,
    Refusal,
    Source,
    check_disk,
    check_name,
    hub_cache,
    install,
    model_name,
    models_home,
    report_installed,
    resolve,
    safetensors_bytes,
    user_path,
)

CODE_SUFFIXES = frozenset(
    ".ts .tsx .js .jsx .mjs .cjs .py .rs .go .java .kt .c .h .cc .cpp .hpp .cs .rb .php .swift .scala .lua .sh "
    ".sql .html .css .scss .vue .svelte .md .json .yaml .yml .toml".split())
SKIPPED_DIRS = frozenset("node_modules .git dist out build target .venv venv __pycache__ .tox .mypy_cache".split())
MAX_FILE_BYTES = 256 * 1024  # the editor's default corpus.maxFileSizeKB
MAX_DRAWS = 8  # seeded sample draws at most (beyond that, epochs repeat them)
WINDOW_CHARS = 1600  # training/data.py CHUNK_CHARS
CONTEXT_CHARS = 2400  # training/data.py REPO_CONTEXT_CHARS
FIM_RATE = 0.6  # the default model's recipe (training/recipes/recipe.sh data)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="repository id, local Hugging Face folder or preset name of the model to fine-tune")
    parser.add_argument("--repo", required=True, help="folder of your code: its files become the training samples")
    parser.add_argument("--tokens", type=float, default=1e6, help="training tokens (default 1e6)")
    parser.add_argument("--holdout", default=None,
                        help="a subfolder of --repo kept out of training (to measure on code the model did not see)")
    parser.add_argument("--quantize", choices=("int8", "int4", "none"), default="int8")
    parser.add_argument("--revision", default=None)
    parser.add_argument("--name", default=None, help="default: the base's name + -msn-REPO + the quantization")
    parser.add_argument("--out", default=None, help="models folder (default: $MSN_COMPLETE_MODELS or the user's cache)")
    parser.add_argument("--max-positions", type=int, default=None)
    parser.add_argument("--seq-len", type=int, default=1024, help="tokens per training row")
    parser.add_argument("--batch-size", type=int, default=4, help="rows per step")
    parser.add_argument("--lr", type=float, default=2e-5, help="peak learning rate (fine-tuning: small)")
    parser.add_argument("--span-length", type=int, default=5, help="MSN noise span (the paper's 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-run", action="store_true", help="keep the training run folder after the export")
    parser.add_argument("--set", action="store_true", help="write msnComplete.modelPath into VS Code's user settings")


# ---------------------------------------------------------------- the user's code as samples

def read_repo(root: Path, holdout: Path | None = None) -> list:
    """The code files under `root` as SourceFile(path relative to root, text): known code suffixes, UTF-8,
    no NUL bytes, at most MAX_FILE_BYTES, outside dependency/build folders and `holdout`."""
    from training.repo_samples import SourceFile

    files = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        here = Path(directory)
        if holdout is not None and (here == holdout or holdout in here.parents):
            subdirs[:] = []
            continue
        for name in sorted(names):
            path = here / name
            if path.suffix.lower() not in CODE_SUFFIXES or name.endswith(".min.js") or name in ("package-lock.json", "yarn.lock"):
                continue
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\0" in data:
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if text.strip():
                files.append(SourceFile(path.relative_to(root).as_posix(), text))
    return files


def pack_repo(files: list, repo_name: str, tokenizer, tokenizer_json: dict, seq_len: int, tokens: float, seed: int):
    """(ids [rows, seq_len], flags, layout): seeded draws of samples of `files`, packed like training/data.py."""
    from training.data import RowPacker
    from training.fim import SpecialIds, chunk_text, make_sample
    from training.prompt_formats import detect_family, has_tokens
    from training.repo_samples import RepoIds, package_samples

    family = detect_family(tokenizer_json)
    repo_level = family.repo_name is not None and has_tokens(tokenizer_json, (family.repo_name, family.file_sep))

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False).ids if text else []

    packer = RowPacker(seq_len)
    for draw in range(MAX_DRAWS):
        rng = np.random.default_rng([seed, draw])
        if repo_level:
            special = RepoIds.from_tokenizer(tokenizer, [*family.fim_tokens, family.repo_name, family.file_sep])
            samples = package_samples(repo_name, files, encode, special, rng, WINDOW_CHARS, CONTEXT_CHARS, FIM_RATE)
        else:
            special = SpecialIds.from_tokenizer(tokenizer, family.fim_tokens)
            samples = [make_sample(chunk, encode, special, rng, FIM_RATE) for file in files
                       for chunk in chunk_text(file.text, WINDOW_CHARS)]
        for index in rng.permutation(len(samples)):
            packer.add(samples[index])
        if len(packer.rows_ids) * seq_len >= tokens:
            break
    ids, flags = packer.arrays(tokenizer.get_vocab_size())
    return ids, flags, "repo" if repo_level else "file"


def write_rows(data_dir: Path, ids: np.ndarray, flags: np.ndarray, meta: dict) -> None:
    """The shard training/train.py reads (training/data.py PackedRows), written whole or not at all."""
    partial = data_dir.with_name(data_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    np.save(partial / "ids_00000.npy", ids)
    np.save(partial / "flags_00000.npy", flags)
    (partial / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(data_dir, ignore_errors=True)
    os.replace(partial, data_dir)


# ---------------------------------------------------------------- time estimate

def measure_tokens_per_second(folder: Path, ids: np.ndarray, flags: np.ndarray, batch_size: int, span_length: int,
                              threads: int) -> tuple[float, str]:
    """Training tokens per second of one real step (forward + backward on a batch of the rows, after a
    warm-up step), on the device training will use."""
    import torch

    from training.noise import collate
    from training.code_model import load_causal_lm

    torch.set_num_threads(threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_causal_lm(folder).to(device).train()
    rows = min(batch_size, len(ids))
    batch = collate(ids[:rows], flags[:rows], "msn", span_length, np.random.default_rng(0))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        with autocast:
            loss = model(input_ids=batch["input_ids"].to(device), labels=batch["labels"].to(device)).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    del model
    # An optimizer step adds about a third to forward + backward for AdamW.
    return rows * ids.shape[1] / (timings[-1] * 1.33), ("GPU, bf16" if device.type == "cuda" else f"CPU ({threads} thread{'s' if threads > 1 else ''})")


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# ---------------------------------------------------------------- the command

def msn_tune(args: argparse.Namespace, progress=print) -> Path:
    from tokenizers import Tokenizer

    base = PRESETS[args.base].repo if args.base in PRESETS else args.base
    repo_dir = user_path(args.repo)
    if not repo_dir.is_dir():
        raise Refusal(f"--repo {args.repo} is not a folder")
    holdout = (repo_dir / args.holdout).resolve() if args.holdout else None
    if holdout is not None and not holdout.is_dir():
        raise Refusal(f"--holdout {args.holdout} is not a folder inside {repo_dir}")
    models_dir = user_path(args.out) if args.out else models_home()
    repo_label = check_name(repo_dir.name) if repo_dir.name else "repo"
    name = check_name(args.name or model_name(f"{base.rstrip('/').split('/')[-1]}-msn-{repo_label}", args.quantize))
    if (models_dir / name).exists():
        raise Refusal(f"{models_dir / name} exists already: remove it (npm run model -- remove {name}) or pass --name")

    files = read_repo(repo_dir, holdout)
    if not files:
        raise Refusal(f"{repo_dir} has no code files to train on")
    source, download_bytes = resolve(base, args.revision, progress)
    if download_bytes:
        from huggingface_hub import snapshot_download

        from training.models import SMALL_PATTERNS, WEIGHT_PATTERNS, fetch

        check_disk([(hub_cache(), download_bytes)])
        progress(f"downloading {download_bytes / 1e9:.2f} GB of {source.repo} (resumable)")
        fetch(snapshot_download, source.repo, source.commit, SMALL_PATTERNS + WEIGHT_PATTERNS)
    work = models_dir / ".msn-tune" / name
    weight_bytes = safetensors_bytes(source.folder)
    # checkpoint.pt (float32 weights + AdamW's two moments) and hf/ beside it, before the export's own needs.
    check_disk([(work, 0 if (work / "run" / "checkpoint.pt").exists() else int(weight_bytes / 2 * 4 * 4.2))])

    tokenizer_path = source.folder / "tokenizer.json"
    tokenizer_json = json.loads(tokenizer_path.read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    data_dir = work / "data"
    if (data_dir / "meta.json").is_file():
        progress(f"reusing the samples in {data_dir} (delete {work} to start over)")
        meta = json.loads((data_dir / "meta.json").read_text())
        ids = np.load(data_dir / "ids_00000.npy")
        flags = np.load(data_dir / "flags_00000.npy")
    else:
        ids, flags, layout = pack_repo(files, repo_label, tokenizer, tokenizer_json, args.seq_len, args.tokens, args.seed)
        meta = {"repo": str(repo_dir), "files": len(files), "holdout": str(holdout) if holdout else None, "layout": layout,
                "rows": int(ids.shape[0]), "seq_len": args.seq_len, "seed": args.seed, "base": source.repo}
        write_rows(data_dir, ids, flags, meta)
    if ids.shape[0] < args.batch_size:
        raise Refusal(f"{repo_dir} holds too little code: {ids.shape[0]} rows of {args.seq_len} tokens, and a step needs "
                      f"{args.batch_size} (lower --batch-size or --seq-len)")
    progress(f"{len(files)} files of {repo_dir} -> {ids.shape[0]} rows of {ids.shape[1]} tokens ({meta['layout']}-level samples)")

    threads = args.threads or max(1, os.cpu_count() or 1)
    rate, where = measure_tokens_per_second(source.folder, ids, flags, args.batch_size, args.span_length, threads)
    progress(f"estimated training time: {duration(args.tokens / rate)} for {args.tokens:,.0f} tokens on this {where} "
             f"(one step measured at {rate:,.0f} tokens/s); Ctrl+C stops it with a checkpoint, the same command resumes")

    run_dir = work / "run"
    steps = max(1, int(args.tokens // (args.batch_size * ids.shape[1])))
    command = [
        sys.executable, "-m", "training.train", "--run-dir", str(run_dir), "--train-data", str(data_dir),
        "--tokenizer", str(tokenizer_path), "--init", str(source.folder), "--noise", "msn",
        "--span-length", str(args.span_length), "--max-tokens", str(args.tokens), "--batch-size", str(args.batch_size),
        "--lr", str(args.lr), "--warmup-steps", str(max(1, min(100, steps // 10))), "--threads", str(threads),
        "--seed", str(args.seed), "--log-every", str(max(1, steps // 20)), "--checkpoint-minutes", "10", "--resume",
    ]
    run_training(command)
    training = {"method": "msn", "msn_span_length": args.span_length, "base": source.repo, "repo": repo_label,
                "tokens": args.tokens, "lr": args.lr, "samples": meta["layout"]}
    progress_file = run_dir / "hf" / "training.json"
    if progress_file.is_file():
        record = json.loads(progress_file.read_text())
        training.update(tokens_seen=record.get("tokens_seen"), step=record.get("step"), train_loss=record.get("train_loss"))
    tuned = Source(run_dir / "hf", source.repo, source.revision, source.commit, source.license)
    folder = install(tuned, name, args.quantize, models_dir, args.max_positions, training=training, progress=progress)
    if not args.keep_run:
        shutil.rmtree(work, ignore_errors=True)
        if work.parent.is_dir() and not any(work.parent.iterdir()):
            work.parent.rmdir()
    report_installed(folder, args.set, progress)
    return folder


def run_training(command: list[str]) -> None:
    """training/train.py in a child process; Ctrl+C reaches it too (it checkpoints), and we wait for it."""
    repo_root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen(command, cwd=repo_root)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        child.wait()
        raise Refusal("interrupted: training saved a checkpoint; run the same command again to resume it") from None
    if code != 0:
        raise Refusal(f"training stopped with exit status {code} (its output is above)")
