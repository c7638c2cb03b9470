"""The MSN effect: an MSN model vs a no-noise baseline on the same prompts.

  npm run ablation -- --quick     (= bash scripts/python.sh -m training.ablation --quick)
      Two tiny models trained from the SAME initialisation on the SAME rows in the same order
      (same seed), one with MSN noise and one without, for the same number of steps, then measured.
      Under 20 minutes on 2 shared CPU cores, everything included.
  python -m training.ablation     (full mode)
      The shipped model's two fine-tuning arms from the same pretrained checkpoint, on the same rows,
      steps and seed: MSN (training/runs/v5-msn, shipped) and no noise (training/runs/v5-none)
      — training/recipes/recipe.sh msn-code-v5 msn|none. --msn-run / --baseline-run name other runs.

Measured for each model, on held-out next-line FIM prompts (training/evaluate.py's cases):
  - mean accepted tokens per forward pass under greedy Jacobi (a chain of top-1 guesses) and under
    tree Jacobi (a fixed top-k candidate tree, no retrieval), with training/acceptance.py, which
    asserts that every decoding equals plain greedy; the implied speed-up over autoregressive
    decoding: per pass (GPU-like) and with this CPU's measured latency ratio for the pass size (training/acceptance.py);
  - validation loss (clean inputs) and next-line exact match (greedy, first generated line).
The last line printed is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from training.acceptance import Simulator, best_first_template, chain_template, measure
from training.data import PackedRows, read_records, tokenize_corpus
from training.train import parse_args as train_args
from training.train import train, validation_loss

QUICK_DIR = Path("training/runs/ablation-quick")
CORPUS_DIR = Path("training/data/corpus")
TINY_MODEL = {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 4, "num_key_value_heads": 4,
              "intermediate_size": 344}
SHIPPED_RUN = Path("training/runs/v5-msn")
SHIPPED_BASELINE = Path("training/runs/v5-none")
SHIPPED_VAL = Path("training/data/msn-code-v5/val")
SHIPPED_VAL_JSONL = Path("training/data/corpus-v2/val.jsonl")


def say(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data for the quick mode


def stdlib_records() -> list[dict]:
    """Fallback corpus when the project corpus is not built: this Python's standard library."""
    root = Path(sysconfig.get_paths()["stdlib"])
    records = []
    for path in sorted(root.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        records.append({"text": text, "path": path.name, "package": path.stem, "language": "python"})
    return records


def subset(records: list[dict], max_bytes: int, seed: int) -> list[dict]:
    """A seeded random subset of about `max_bytes` of text."""
    order = np.random.default_rng(seed).permutation(len(records))
    chosen, total = [], 0
    for index in order:
        if total >= max_bytes:
            break
        chosen.append(records[index])
        total += len(records[index]["text"])
    return chosen


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def prepare_quick_data(work: Path, args: argparse.Namespace) -> tuple[Path, Path, Path, Path]:
    """(tokenizer.json, train rows dir, val rows dir, val.jsonl) for the quick ablation, built once."""
    from training.tokenizer import train_tokenizer

    work.mkdir(parents=True, exist_ok=True)
    train_jsonl, val_jsonl = work / "train.jsonl", work / "val.jsonl"
    if not (train_jsonl.exists() and val_jsonl.exists()):
        if (CORPUS_DIR / "train.jsonl").exists() and (CORPUS_DIR / "val.jsonl").exists():
            train_records = list(read_records(CORPUS_DIR / "train.jsonl"))
            val_records = list(read_records(CORPUS_DIR / "val.jsonl"))
            source = str(CORPUS_DIR)
        else:
            records = stdlib_records()
            split = np.random.default_rng(1).permutation(len(records))
            val_records = [records[i] for i in split[:25]]
            train_records = [records[i] for i in split[25:]]
            source = "python stdlib"
        write_jsonl(train_jsonl, subset(train_records, int(args.train_mb * 1e6), args.seed))
        write_jsonl(val_jsonl, subset(val_records, int(args.val_mb * 1e6), args.seed))
        say(f"data: {source}, {train_jsonl.stat().st_size / 1e6:.1f} MB train, {val_jsonl.stat().st_size / 1e6:.1f} MB val")
    tokenizer_path = work / "tokenizer.json"
    if not tokenizer_path.exists():
        started = time.time()
        tokenizer = train_tokenizer((record["text"] for record in read_records(train_jsonl)), args.vocab)
        tokenizer.save(str(tokenizer_path))
        say(f"tokenizer: vocab {args.vocab} in {time.time() - started:.0f}s")
    for name, jsonl in (("train_rows", train_jsonl), ("val_rows", val_jsonl)):
        if not (work / name / "meta.json").exists() or not json.loads((work / name / "meta.json").read_text())["complete"]:
            meta = tokenize_corpus(jsonl, tokenizer_path, work / name, seed=args.seed, seq_len=args.seq_len,
                                   chunk_chars=args.chunk_chars, records_per_shard=100000)
            say(f"{name}: {meta['rows']} rows of {args.seq_len}")
    return tokenizer_path, work / "train_rows", work / "val_rows", val_jsonl


def train_quick_model(work: Path, noise: str, tokenizer: Path, train_rows: Path, args: argparse.Namespace,
                      max_steps: int | None) -> dict:
    """Train (or reuse) one tiny model; both models share seed, initialisation, rows and schedule."""
    run_dir = work / f"run-{noise}"
    done = run_dir / "done.json"
    if done.exists():
        return json.loads(done.read_text())
    options = [
        "--run-dir", str(run_dir), "--train-data", str(train_rows), "--tokenizer", str(tokenizer),
        "--preset", "fixture", "--model-overrides", json.dumps(TINY_MODEL), "--noise", noise,
        "--span-length", str(args.span_length), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
        "--warmup-steps", "30", "--max-tokens", str(args.tokens), "--checkpoint-minutes", "60", "--eval-every", "0",
        "--log-every", "25", "--threads", str(args.threads), "--seed", str(args.seed), "--precision", "fp32", "--resume",
    ]
    if max_steps is not None:
        options += ["--max-steps", str(max_steps)]
    else:
        options += ["--max-minutes", str(args.minutes)]
    started = time.time()
    say(f"training the {noise} model ...")
    progress = train(train_args(options))
    progress["seconds"] = time.time() - started
    done.write_text(json.dumps(progress))
    return progress


# ---------------------------------------------------------------- measurement


def fim_prompts(tokenizer, val_jsonl: Path, count: int, prefix_tokens: int, suffix_tokens: int, seed: int):
    """Next-line FIM cases of held-out files: (prompt ids, true line) pairs."""
    from training.evaluate import interleave_by_language, next_line_cases
    from training.fim import SpecialIds

    special = SpecialIds.from_tokenizer(tokenizer)
    cases = next_line_cases(interleave_by_language(read_records(val_jsonl), seed), count, seed=seed)
    prompts = []
    for case in cases:
        prefix = tokenizer.encode(case.prefix[-prefix_tokens * 8 :], add_special_tokens=False).ids[-prefix_tokens:]
        suffix = tokenizer.encode(case.suffix[: suffix_tokens * 8], add_special_tokens=False).ids[:suffix_tokens]
        prompts.append(([special.prefix, *prefix, special.suffix, *suffix, special.middle], case.target))
    return prompts, special.end_of_text


def exact_match(tokenizer, outputs: Sequence[list[int]], targets: Sequence[str], eos_id: int) -> float:
    """Share of cases whose first generated line equals the true line."""
    hits = 0
    for output, target in zip(outputs, targets):
        tokens = output[: output.index(eos_id)] if eos_id in output else output
        line = tokenizer.decode(tokens).split("\n", 1)[0].rstrip("\r")
        hits += line == target.rstrip("\r")
    return hits / max(1, len(targets))


def evaluate_model(hf_dir: Path, tokenizer, val_rows: PackedRows, prompts, eos_id: int, args: argparse.Namespace) -> dict:
    from training.code_model import CodeModel

    model = CodeModel.from_pretrained(hf_dir).eval()
    loss = validation_loss(model, val_rows, args.val_rows, 8, torch.device("cpu"), bf16=False)
    simulator = Simulator(model, eos_id=eos_id)
    templates = {
        "jacobi": chain_template(args.jacobi_depth),
        "tree": best_first_template(args.tree_nodes, ranks=args.tree_ranks, max_depth=args.jacobi_depth),
    }
    accept_prompts = [prompt for prompt, _ in prompts[: args.accept_prompts]]
    acceptance = measure(simulator, accept_prompts, args.new_tokens, templates, seed=args.seed)
    em_outputs = [simulator.greedy(prompt, args.line_tokens) for prompt, _ in prompts]
    return {
        "val_loss": loss,
        "strategies": acceptance["strategies"],
        "next_line_exact_match": exact_match(tokenizer, em_outputs, [target for _, target in prompts], eos_id),
    }


def summary(msn: dict, baseline: dict | None, extra: dict) -> dict:
    result = {
        "msn_mean_accepted": msn["strategies"]["jacobi"]["mean_accepted"],
        "baseline_mean_accepted": baseline["strategies"]["jacobi"]["mean_accepted"] if baseline else None,
        "msn_val_loss": msn["val_loss"],
        "baseline_val_loss": baseline["val_loss"] if baseline else None,
        "msn_tree_mean_accepted": msn["strategies"]["tree"]["mean_accepted"],
        "baseline_tree_mean_accepted": baseline["strategies"]["tree"]["mean_accepted"] if baseline else None,
        "msn_jacobi_cpu_speedup": msn["strategies"]["jacobi"]["cpu_speedup"],
        "baseline_jacobi_cpu_speedup": baseline["strategies"]["jacobi"]["cpu_speedup"] if baseline else None,
        "msn_tree_cpu_speedup": msn["strategies"]["tree"]["cpu_speedup"],
        "baseline_tree_cpu_speedup": baseline["strategies"]["tree"]["cpu_speedup"] if baseline else None,
        "msn_next_line_exact_match": msn["next_line_exact_match"],
        "baseline_next_line_exact_match": baseline["next_line_exact_match"] if baseline else None,
    }
    if baseline:
        result["jacobi_accepted_ratio"] = result["msn_mean_accepted"] / result["baseline_mean_accepted"]
        result["tree_accepted_ratio"] = result["msn_tree_mean_accepted"] / result["baseline_tree_mean_accepted"]
        result["val_loss_relative_change"] = result["msn_val_loss"] / result["baseline_val_loss"] - 1
    result.update(extra)
    return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="train two tiny models and compare them")
    parser.add_argument("--work-dir", type=Path, default=QUICK_DIR)
    parser.add_argument("--fresh", action="store_true", help="quick mode: retrain even if runs exist in --work-dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="1: two threads collapse when the other core is busy")
    # quick-mode training
    parser.add_argument("--train-mb", type=float, default=6.0)
    parser.add_argument("--val-mb", type=float, default=1.0)
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--chunk-chars", type=int, default=600, help="sample size: one noise span per sample")
    parser.add_argument("--span-length", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--tokens", type=float, default=1.2e6, help="training length per model (schedule)")
    parser.add_argument("--minutes", type=float, default=5.5, help="time cap of the MSN model; the baseline runs as many steps")
    parser.add_argument("--steps", type=int, default=None, help="train both models exactly this many steps (no time cap)")
    # measurement
    parser.add_argument("--prompts", type=int, default=100, help="next-line cases (exact match)")
    parser.add_argument("--accept-prompts", type=int, default=24, help="cases used for the acceptance measurement")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--line-tokens", type=int, default=24)
    parser.add_argument("--prefix-tokens", type=int, default=160)
    parser.add_argument("--suffix-tokens", type=int, default=48)
    parser.add_argument("--jacobi-depth", type=int, default=8, help="Jacobi chain length = tree max depth")
    parser.add_argument("--tree-nodes", type=int, default=16)
    parser.add_argument("--tree-ranks", type=int, default=4)
    parser.add_argument("--val-rows", type=int, default=64)
    parser.add_argument("--msn-run", type=Path, default=SHIPPED_RUN, help="full mode: the MSN run directory")
    parser.add_argument("--baseline-run", type=Path, default=SHIPPED_BASELINE, help="full mode: the no-noise run directory")
    parser.add_argument("--val-data", type=Path, default=SHIPPED_VAL, help="packed validation rows for the loss (full mode)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    from tokenizers import Tokenizer

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    if args.quick:
        work = args.work_dir
        if args.fresh:
            import shutil

            for name in ("run-msn", "run-none"):
                shutil.rmtree(work / name, ignore_errors=True)
        tokenizer_path, train_rows, val_rows_dir, val_jsonl = prepare_quick_data(work, args)
        msn_progress = train_quick_model(work, "msn", tokenizer_path, train_rows, args, args.steps)
        baseline_progress = train_quick_model(work, "none", tokenizer_path, train_rows, args, msn_progress["step"])
        assert baseline_progress["step"] == msn_progress["step"], "both models must train the same steps"
        msn_dir, baseline_dir = work / "run-msn" / "hf", work / "run-none" / "hf"
        extra = {"mode": "quick", "steps": msn_progress["step"], "tokens_seen": msn_progress["tokens_seen"],
                 "span_length": args.span_length, "chunk_chars": args.chunk_chars,
                 "train_seconds": {"msn": round(msn_progress["seconds"]), "baseline": round(baseline_progress["seconds"])}}
    else:
        tokenizer_path = args.msn_run / "hf" / "tokenizer.json"
        val_rows_dir, val_jsonl = args.val_data, SHIPPED_VAL_JSONL
        msn_dir = args.msn_run / "hf"
        baseline_dir = args.baseline_run / "hf" if (args.baseline_run / "hf").exists() else None
        progress = json.loads((msn_dir / "training.json").read_text())
        extra = {"mode": "full", "steps": progress["step"], "tokens_seen": progress["tokens_seen"]}
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    val_rows = PackedRows(val_rows_dir)
    prompts, eos_id = fim_prompts(tokenizer, val_jsonl, args.prompts, args.prefix_tokens, args.suffix_tokens, args.seed)
    say(f"measuring the MSN model on {args.accept_prompts} acceptance prompts, {len(prompts)} next-line cases ...")
    msn = evaluate_model(msn_dir, tokenizer, val_rows, prompts, eos_id, args)
    say(json.dumps(msn))
    baseline = None
    if baseline_dir is not None:
        say("measuring the baseline ...")
        baseline = evaluate_model(baseline_dir, tokenizer, val_rows, prompts, eos_id, args)
        say(json.dumps(baseline))
    extra.update(jacobi_depth=args.jacobi_depth, tree_nodes=args.tree_nodes, new_tokens=args.new_tokens,
                 accept_prompts=args.accept_prompts, next_line_cases=len(prompts), seconds=round(time.time() - started))
    result = summary(msn, baseline, extra)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
