"""Copying metrics of a causal LM checkpoint (the model card's copying experiments), beside training.track's copy probe and next-line EM:

  copyable   on packed validation rows (clean, no noise): loss and top-1 accuracy at *copyable* positions
             — a target token whose previous 4 tokens occurred earlier in the row, with at least one token
             after that earlier occurrence (so the answer could be copied from it) — and at all other
             positions (a position needs 4 tokens before it to be copyable; the first 4 count as other).
  induction  N random-token sequences (uniform over the vocabulary without its special tokens), each
             `length` tokens repeated twice: top-1 accuracy and loss on the second copy, without its first
             token (which nothing in the context predicts). A model that copies scores near 100%.

CLI (one thread, float32):
  python -m training.copy_metrics --checkpoint training/runs/v10-A/hf --val-data training/data/msn-code-v10/val \
      [--rows 128] [--induction-sequences 64 --induction-length 64] [--track-limit 60] [--out metrics.json]
  --wrap-prev-token-path wraps a plain checkpoint in the previous-token path with W = 0 (step 0 of arm B);
  --track adds training.track's copy probe and next-line exact match (plain and repo-level).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

NGRAM = 4


def copyable_mask(ids: np.ndarray, n: int = NGRAM) -> np.ndarray:
    """[T] bool: position i (the target ids[i]) is copyable when ids[i-n:i] occurred at some j + n < i,
    i.e. an earlier occurrence of the same n tokens that is followed by a token (ids[j+n]) before i."""
    ids = np.asarray(ids)
    length = len(ids)
    mask = np.zeros(length, dtype=bool)
    seen: set[tuple] = set()
    # At target i the context n-gram is ids[i-n:i]; the n-grams usable as an earlier occurrence are those
    # ending at or before i-2 (start j <= i-n-1), so an n-gram becomes visible one step after it is completed.
    for i in range(n, length):
        j = i - n - 1
        if j >= 0:
            seen.add(tuple(ids[j:j + n].tolist()))
        mask[i] = tuple(ids[i - n:i].tolist()) in seen
    return mask


def induction_batch(count: int, length: int, vocab_size: int, first_id: int, seed: int = 0) -> np.ndarray:
    """[count, 2*length] random tokens from [first_id, vocab_size), each row a sequence and its repeat."""
    rng = np.random.default_rng(seed)
    half = rng.integers(first_id, vocab_size, size=(count, length))
    return np.concatenate([half, half], axis=1)


def _forward(model, ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids=ids).logits.float()


@torch.no_grad()
def copyable_metrics(model, ids: np.ndarray, labels: np.ndarray, batch_size: int = 8) -> dict:
    """Loss and accuracy at copyable vs other target positions of rows `ids` (labels -100 = ignored)."""
    sums = {key: {"loss": 0.0, "correct": 0, "count": 0} for key in ("copyable", "other")}
    for start in range(0, len(ids), batch_size):
        batch_ids = torch.as_tensor(np.asarray(ids[start:start + batch_size], dtype=np.int64))
        batch_labels = np.asarray(labels[start:start + batch_size], dtype=np.int64)
        logits = _forward(model, batch_ids)[:, :-1]
        targets = torch.as_tensor(batch_labels[:, 1:])
        valid = targets != -100
        losses = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.clamp(min=0).reshape(-1), reduction="none"
        ).reshape(targets.shape)
        correct = logits.argmax(-1) == targets
        copyable = torch.as_tensor(np.stack([copyable_mask(row)[1:] for row in batch_labels.clip(min=0)]))
        for key, mask in (("copyable", copyable & valid), ("other", ~copyable & valid)):
            sums[key]["loss"] += float(losses[mask].sum())
            sums[key]["correct"] += int(correct[mask].sum())
            sums[key]["count"] += int(mask.sum())
    result = {}
    for key, s in sums.items():
        result[key] = {"loss": s["loss"] / max(1, s["count"]), "accuracy": s["correct"] / max(1, s["count"]),
                       "count": s["count"]}
    total = sums["copyable"]["count"] + sums["other"]["count"]
    result["all_loss"] = (sums["copyable"]["loss"] + sums["other"]["loss"]) / max(1, total)
    result["copyable_share"] = sums["copyable"]["count"] / max(1, total)
    return result


@torch.no_grad()
def induction_metrics(model, batch: np.ndarray, batch_size: int = 16) -> dict:
    """Accuracy and loss on the second copy (positions length+1 .. 2*length-1) of repeated random rows."""
    length = batch.shape[1] // 2
    correct, count, loss = 0, 0, 0.0
    for start in range(0, len(batch), batch_size):
        ids = torch.as_tensor(batch[start:start + batch_size], dtype=torch.long)
        logits = _forward(model, ids)
        # logits at position p predict ids[p+1]; the second copy's targets length+1 .. 2*length-1
        predicted = logits[:, length:2 * length - 1]
        targets = ids[:, length + 1:]
        correct += int((predicted.argmax(-1) == targets).sum())
        count += targets.numel()
        loss += float(torch.nn.functional.cross_entropy(predicted.reshape(-1, predicted.shape[-1]), targets.reshape(-1),
                                                        reduction="sum"))
    return {"accuracy": correct / max(1, count), "loss": loss / max(1, count), "count": count}


def measure(model, val_ids: np.ndarray, val_labels: np.ndarray, vocab_size: int, first_id: int,
            induction_sequences: int = 64, induction_length: int = 64, seed: int = 0) -> dict:
    model.eval()
    return {
        "copyable": copyable_metrics(model, val_ids, val_labels),
        "induction": induction_metrics(model, induction_batch(induction_sequences, induction_length, vocab_size, first_id, seed)),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="Hugging Face folder (a run's hf/)")
    parser.add_argument("--val-data", type=Path, required=True, help="packed validation rows (training.data)")
    parser.add_argument("--rows", type=int, default=128, help="the first ROWS validation rows")
    parser.add_argument("--induction-sequences", type=int, default=64)
    parser.add_argument("--induction-length", type=int, default=64)
    parser.add_argument("--wrap-prev-token-path", action="store_true", help="wrap a plain model with W = 0")
    parser.add_argument("--track", action="store_true", help="also training.track's copy probe and next-line EM")
    parser.add_argument("--track-limit", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    from training.data import PackedRows
    from training.noise import collate
    from training.code_model import CodeModel
    from training.tokenizer import SPECIAL_TOKENS

    torch.set_num_threads(args.threads)
    started = time.time()
    model = CodeModel.from_pretrained(args.checkpoint)
    if args.wrap_prev_token_path:
        model.add_prev_token_path()
    rows = PackedRows(args.val_data)
    count = min(args.rows, len(rows))
    batch = collate(rows.ids[:count], rows.flags[:count], "none", 0, np.random.default_rng(0))
    result = {"checkpoint": str(args.checkpoint), "prev_token_path": model.prev_token_path, "rows": count}
    progress = args.checkpoint / "training.json"
    if progress.exists():
        result["tokens_seen"] = json.loads(progress.read_text()).get("tokens_seen")
    if model.prev_token_path:
        result["prev_proj_norm"] = float(model.prev_proj.weight.norm())
    result.update(measure(model, batch["input_ids"].numpy(), batch["labels"].numpy(), model.config.vocab_size,
                          len(SPECIAL_TOKENS), args.induction_sequences, args.induction_length))
    if args.track:
        from tokenizers import Tokenizer

        from training.evaluate import DEFAULT_VAL, TorchModel, evaluate, read_jsonl
        from training.track import TASKS as TASKS_TRACK

        tokenizer = Tokenizer.from_file(str(args.checkpoint / "tokenizer.json"))
        scores = evaluate(TorchModel(model, threads=args.threads), tokenizer, TASKS_TRACK, read_jsonl(DEFAULT_VAL), Path("."),
                          args.track_limit, 1024, 0, args.track_limit, "spm")
        result["track"] = {task: {"exact_match": scores[task]["exact_match"],
                                  "edit_similarity": scores[task]["edit_similarity"], "count": scores[task]["count"]}
                           for task in TASKS_TRACK}
    result["seconds"] = round(time.time() - started, 1)
    text = json.dumps(result, indent=1)
    print(text, flush=True)
    if args.out:
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
