"""Quality along a training run: each time the run writes a new checkpoint (RUN/hf), score it on the
copy probe and next-line exact match (plain and repo-level) and append a line to RUN/quality.jsonl.
The loss alone does not say when a model starts to copy from its context; this does.

CLI: python -m training.track --run-dir training/runs/v2-pretrain [--every-minutes 10] [--limit 60]
Stops when the run's checkpoint reaches its scheduled last step (or on Ctrl+C / SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Sequence

from tokenizers import Tokenizer

from training.evaluate import DEFAULT_VAL, TorchModel, evaluate, read_jsonl

TASKS = ("copy", "next-line", "next-line-repo")


def score(hf_dir: Path, val_records: list[dict], limit: int, context: int, order: str) -> dict:
    model = TorchModel(hf_dir, threads=1)
    tokenizer = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
    results = evaluate(model, tokenizer, TASKS, val_records, Path("."), limit, context, 0, limit, order)
    return {task: {"exact_match": results[task]["exact_match"], "edit_similarity": results[task]["edit_similarity"],
                   "count": results[task]["count"]} for task in TASKS}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--val", type=Path, default=DEFAULT_VAL)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--context", type=int, default=1024)
    parser.add_argument("--order", default="spm")
    parser.add_argument("--every-minutes", type=float, default=10.0)
    parser.add_argument("--once", action="store_true", help="score the current checkpoint and exit")
    args = parser.parse_args(argv)

    val_records = read_jsonl(args.val)
    out = args.run_dir / "quality.jsonl"
    done = {json.loads(line)["step"] for line in out.read_text().splitlines()} if out.exists() else set()
    total = json.loads((args.run_dir / "run.json").read_text())["total_steps"]
    while True:
        progress_file = args.run_dir / "hf" / "training.json"
        progress = json.loads(progress_file.read_text()) if progress_file.exists() else {}
        step = progress.get("step")
        if step is not None and step not in done:
            entry = {"step": step, "tokens_seen": progress.get("tokens_seen"), "val_loss": progress.get("val_loss"),
                     **score(args.run_dir / "hf", val_records, args.limit, args.context, args.order)}
            with out.open("a") as lines:
                lines.write(json.dumps(entry) + "\n")
            done.add(step)
            print(json.dumps(entry), flush=True)
        if args.once or (step is not None and step >= total):
            return
        time.sleep(args.every_minutes * 60)


if __name__ == "__main__":
    main()
