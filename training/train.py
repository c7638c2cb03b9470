"""Causal LM training with MSN noise (or none), checkpointing and exact resume; single process or DDP.

  python -m training.train --run-dir training/runs/NAME --train-data DIR --val-data DIR \
      --tokenizer tokenizer.json --preset 5m --noise msn --span-length 5 --max-tokens 8e6
  torchrun --nproc_per_node=2 -m training.train ...        (DDP: gloo on CPU, nccl on GPUs)
  python -m training.train --init /path/to/hf-llama ...     (MSN fine-tuning of an existing checkpoint)

The run directory holds run.json (arguments), log.jsonl (one line per log interval and evaluation),
checkpoint.pt (model, optimizer, schedule, step, tokens, data position, RNG state; written every
--checkpoint-minutes, at the end, and on SIGTERM/SIGINT) and hf/ (the model in Hugging Face format,
with tokenizer.json, ready for `python -m training.export`). The model is training/code_model.py's (a fresh
--preset, or an --init folder of that shape); an --init folder of another architecture trains as its own
transformers class. --resume continues from checkpoint.pt
exactly: same rows next, same noise (seeded by step), same optimizer state.

Two options for the copying experiments (model card), both off by default (the run is then what it always was):
--copy-rows SHARE replaces that share of the training rows (each row independently, seeded by step) with a
copy-only row: a pattern of 8-64 tokens, a random contiguous span of another row of the same micro-batch,
repeated through the row. --optimizer muon trains the 2-D hidden matrices with torch.optim.Muon (its
"match_rms_adamw" learning-rate adjustment, so --lr and --weight-decay mean what they mean for AdamW) and
everything else (embeddings, lm_head, norms, biases) with AdamW; one schedule drives both.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.distributed as dist

from training.data import BatchCursor, PackedRows
from training.noise import collate


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--train-data", type=Path, required=True, help="directory of packed .npy shards")
    parser.add_argument("--val-data", type=Path, default=None)
    parser.add_argument("--tokenizer", type=Path, default=None, help="tokenizer.json (default: the --init folder's)")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--preset", default="5m", help="training/model_config.py preset for a new model")
    model.add_argument("--init", type=Path, default=None, help="Hugging Face folder of a causal LM to fine-tune")
    parser.add_argument(
        "--model-overrides", type=json.loads, default={},
        help='JSON object of LlamaConfig fields over the preset, e.g. \'{"hidden_size": 128}\'',
    )
    parser.add_argument(
        "--prev-token-path", action="store_true",
        help="add the previous-token path (training/prev_token.py): input = emb(token) + W·emb(previous token), W = 0"
        " at the start (an --init folder saved with the path has it already); this project's model only",
    )
    parser.add_argument(
        "--copy-rows", type=float, default=0.0, metavar="SHARE",
        help="share of training rows replaced by a copy-only row (a pattern of 8-64 tokens from another row of the"
        " batch, repeated through the row); 0 = none",
    )
    parser.add_argument(
        "--optimizer", choices=("adamw", "muon"), default="adamw",
        help="muon: torch.optim.Muon for the 2-D hidden matrices, AdamW for embeddings, lm_head, norms and biases",
    )
    parser.add_argument("--noise", choices=("msn", "none"), default="msn")
    parser.add_argument("--span-length", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8, help="rows per process per micro-batch")
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    parser.add_argument("--min-lr-ratio", type=float, default=0.1)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--max-tokens", type=float, required=True, help="training length; sets the cosine schedule")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop this invocation after this long")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this global step (tests)")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--eval-every", type=int, default=200, help="steps between validation losses")
    parser.add_argument("--val-rows", type=int, default=64)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision", choices=("auto", "bf16", "fp32"), default="auto",
        help="bf16 autocast or plain float32; auto = bf16 where the hardware has it (CUDA, AVX512-BF16/AMX CPUs)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint.pt if it exists")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


# ---------------------------------------------------------------- schedule, model, checkpoint


def cosine_with_warmup(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """LR multiplier: linear warm-up to 1, then cosine down to min_ratio at `total` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_model(args: argparse.Namespace, vocab_size: int) -> torch.nn.Module:
    """A fresh model of the preset (seeded), or the --init checkpoint in float32 (training/code_model.py:
    this project's model, or a real model's own transformers class); with --prev-token-path the path is
    added (W = 0, so the model computes exactly what it did)."""
    from training.code_model import CodeModel, load_causal_lm

    if args.init is not None:
        model = load_causal_lm(args.init, dtype=torch.float32)
    else:
        from training.model_config import make_config

        torch.manual_seed(args.seed)  # same seed -> same initial weights (MSN and baseline start equal)
        model = CodeModel(make_config(args.preset, vocab_size=vocab_size, **args.model_overrides))
    if getattr(args, "prev_token_path", False):
        if not isinstance(model, CodeModel):
            raise SystemExit(f"--prev-token-path needs this project's model shape; {args.init} is a {type(model).__name__}")
        model.add_prev_token_path()
    return model


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; no weight decay on norms (1-d parameters)."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (decay if parameter.dim() >= 2 else no_decay).append(parameter)
    return adamw(decay, no_decay, lr, weight_decay)


def adamw(decay: list, no_decay: list, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


def is_hidden_matrix(name: str, parameter: torch.Tensor) -> bool:
    """A 2-D weight inside the network (attention and MLP projections, the previous-token W): what Muon trains.
    The token embedding and the output head are 2-D too but are lookups/readouts, left to AdamW."""
    return parameter.dim() == 2 and "embed" not in name and "lm_head" not in name


def make_optimizers(model: torch.nn.Module, kind: str, lr: float, weight_decay: float) -> list[torch.optim.Optimizer]:
    """[AdamW] or, for "muon", [AdamW (embeddings, lm_head, norms, biases), Muon (hidden matrices)].
    Muon uses adjust_lr_fn="match_rms_adamw" (update RMS matched to AdamW's, per the Moonshot paper the torch
    docs cite), so the same lr and weight decay serve both."""
    if kind == "adamw":
        return [make_optimizer(model, lr, weight_decay)]
    if kind != "muon":
        raise ValueError(f"optimizer must be 'adamw' or 'muon', not {kind!r}")
    matrices, decay, no_decay = [], [], []
    for name, parameter in model.named_parameters():  # shared (tied) parameters are listed once
        if not parameter.requires_grad:
            continue
        if is_hidden_matrix(name, parameter):
            matrices.append(parameter)
        else:
            (decay if parameter.dim() >= 2 else no_decay).append(parameter)
    muon = torch.optim.Muon(matrices, lr=lr, weight_decay=weight_decay, adjust_lr_fn="match_rms_adamw")
    return [adamw(decay, no_decay, lr, weight_decay), muon]


# ---------------------------------------------------------------- copy-only rows


COPY_PATTERN_LENGTHS = (8, 64)  # inclusive


def with_copy_rows(
    ids: np.ndarray, flags: np.ndarray, share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The micro-batch with each row, with probability `share`, replaced by a copy-only row: a pattern of 8-64
    tokens (a random contiguous span of the non-padding tokens of another row of the batch, as it was before
    any replacement) repeated to the row's length; the new row is one segment, all target, no padding.
    Draws from `rng` only what it uses, so the same rng gives the same rows."""
    ids, flags = np.array(ids), np.array(flags)
    if share <= 0:
        return ids, flags
    from training.noise import FLAG_PADDING, FLAG_SEGMENT_START, FLAG_TARGET

    original = ids.copy()
    rows, length = ids.shape
    for row in np.flatnonzero(rng.random(rows) < share):
        others = [r for r in range(rows) if r != row] or [int(row)]
        source = others[int(rng.integers(len(others)))]
        tokens = original[source][(flags[source] & FLAG_PADDING) == 0]
        if len(tokens) == 0:
            continue
        size = min(int(rng.integers(COPY_PATTERN_LENGTHS[0], COPY_PATTERN_LENGTHS[1] + 1)), len(tokens))
        start = int(rng.integers(0, len(tokens) - size + 1))
        ids[row] = np.resize(tokens[start : start + size], length)
        flags[row] = FLAG_TARGET
        flags[row, 0] |= FLAG_SEGMENT_START
    return ids, flags


def atomic_torch_save(obj, path: Path) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, temporary)
    os.replace(temporary, path)


def save_checkpoint(run_dir: Path, model, optimizers, schedulers, progress: dict, tokenizer_path: Path) -> None:
    """checkpoint.pt (everything needed to resume) and hf/ (the model alone, for export). The first optimizer
    (AdamW) and its schedule under "optimizer"/"scheduler" as always; a second (Muon) under "muon"."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizers[0].state_dict(),
        "scheduler": schedulers[0].state_dict(),
        "progress": progress,
        "torch_rng": torch.get_rng_state(),
    }
    if len(optimizers) > 1:
        state["muon"] = {"optimizer": optimizers[1].state_dict(), "scheduler": schedulers[1].state_dict()}
    atomic_torch_save(state, run_dir / "checkpoint.pt")
    hf_dir = run_dir / "hf"
    temporary = run_dir / "hf.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    model.save_pretrained(temporary)
    shutil.copy(tokenizer_path, temporary / "tokenizer.json")
    (temporary / "training.json").write_text(json.dumps(progress, indent=1))
    shutil.rmtree(hf_dir, ignore_errors=True)
    os.replace(temporary, hf_dir)


# ---------------------------------------------------------------- distributed helpers


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    local_rank = int(os.environ["LOCAL_RANK"])
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl")
        device = torch.device("cuda", local_rank)
    else:
        dist.init_process_group("gloo")
        device = torch.device("cpu")
    return dist.get_rank(), world, device


def mean_over_processes(value: float, world: int, device: torch.device) -> float:
    if world == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.item() / world


# ---------------------------------------------------------------- evaluation


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to autocast to bf16. On a CPU only with AMX tiles: measured here, bf16 autocast was ~15x slower
    than fp32 on an AVX2-only CPU and 1.5x slower (1,429 vs 2,177 tokens/s, the 5m-mqa model, one thread) on an
    AVX-512 BF16 CPU without AMX (model/MODEL_CARD.md "Copying experiments")."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and cpu_has_amx()


def cpu_has_amx() -> bool:
    """Whether the CPU reports AMX tiles for bf16 (Linux /proc/cpuinfo; False where it cannot tell)."""
    try:
        return " amx_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def autocast_for(device: torch.device, enabled: bool):
    if not enabled:
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


@torch.no_grad()
def validation_loss(model, rows: PackedRows, count: int, batch_size: int, device: torch.device, bf16: bool) -> float:
    """Mean clean next-token loss over the first `count` validation rows (no noise)."""
    was_training = model.training
    model.eval()
    total_loss, total_tokens = 0.0, 0
    for start in range(0, min(count, len(rows)), batch_size):
        stop = min(start + batch_size, count, len(rows))
        batch = collate(rows.ids[start:stop], rows.flags[start:stop], "none", 0, np.random.default_rng(0))
        labels = batch["labels"].to(device)
        with autocast_for(device, bf16):
            logits = model(input_ids=batch["input_ids"].to(device)).logits
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100,
            reduction="sum",
        )
        total_loss += losses.item()
        total_tokens += int((labels[:, 1:] != -100).sum())
    model.train(was_training)
    return total_loss / max(1, total_tokens)


# ---------------------------------------------------------------- training loop


class StopRequest:
    """Set by SIGTERM/SIGINT so the loop finishes its step, checkpoints and exits cleanly."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = {sig: signal.signal(sig, self._request) for sig in (signal.SIGTERM, signal.SIGINT)}

    def _request(self, signum, frame) -> None:
        self.requested = True

    def restore(self) -> None:
        """Give the signals back (callers such as the ablation keep running after training)."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def resolve_tokenizer(args: argparse.Namespace) -> Path:
    if args.tokenizer is not None:
        return args.tokenizer
    if args.init is not None and (args.init / "tokenizer.json").exists():
        return args.init / "tokenizer.json"
    raise SystemExit("--tokenizer is required (or an --init folder with tokenizer.json)")


def train(args: argparse.Namespace) -> dict:
    """Run (or resume) training; returns the final progress record."""
    from tokenizers import Tokenizer

    torch.set_num_threads(args.threads)
    rank, world, device = setup_distributed()
    is_main = rank == 0
    say = (lambda *a: print(*a, flush=True)) if is_main and not args.quiet else (lambda *a: None)
    stop = StopRequest()
    started = time.time()

    tokenizer_path = resolve_tokenizer(args)
    vocab_size = Tokenizer.from_file(str(tokenizer_path)).get_vocab_size()
    train_rows = PackedRows(args.train_data)
    val_rows = PackedRows(args.val_data) if args.val_data else None
    seq_len = train_rows.seq_len
    global_batch_rows = args.batch_size * args.grad_accum * world
    tokens_per_step = global_batch_rows * seq_len
    total_steps = max(1, int(args.max_tokens // tokens_per_step))

    model = build_model(args, vocab_size).to(device)
    optimizers = make_optimizers(model, args.optimizer, args.lr, args.weight_decay)
    schedulers = [
        torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: cosine_with_warmup(step, args.warmup_steps, total_steps, args.min_lr_ratio)
        )
        for optimizer in optimizers
    ]
    progress = {"step": 0, "tokens_seen": 0, "data": {"epoch": 0, "offset": 0}, "train_loss": None, "val_loss": None}
    checkpoint_path = args.run_dir / "checkpoint.pt"
    if args.resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        if ("muon" in state) != (args.optimizer == "muon"):
            raise SystemExit(f"{checkpoint_path} was not written with --optimizer {args.optimizer}")
        saved = [(state["optimizer"], state["scheduler"])]
        if "muon" in state:
            saved.append((state["muon"]["optimizer"], state["muon"]["scheduler"]))
        for optimizer, scheduler, (optimizer_state, scheduler_state) in zip(optimizers, schedulers, saved):
            optimizer.load_state_dict(optimizer_state)
            scheduler.load_state_dict(scheduler_state)
        progress = state["progress"]
        torch.set_rng_state(state["torch_rng"])
        say(f"resumed from {checkpoint_path} at step {progress['step']}, {progress['tokens_seen']:,} tokens")
    if is_main:
        args.run_dir.mkdir(parents=True, exist_ok=True)
        record = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        record.update(world_size=world, tokens_per_step=tokens_per_step, total_steps=total_steps, vocab_size=vocab_size)
        (args.run_dir / "run.json").write_text(json.dumps(record, indent=1))

    parameters = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    say(
        f"model {parameters / 1e6:.2f}M parameters, {len(train_rows)} train rows x {seq_len}, noise={args.noise}"
        f" span={args.span_length}{' prev-token-path' if getattr(model, 'prev_token_path', False) else ''},"
        f" copy-rows {args.copy_rows:g}, optimizer {args.optimizer},"
        f" {tokens_per_step} tokens/step, schedule {total_steps} steps, world {world},"
        f" {'bf16' if use_bf16(args.precision, device) else 'fp32'}, {args.threads} threads"
    )
    trained = model
    if world > 1:
        trained = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    bf16 = use_bf16(args.precision, device)
    cursor = BatchCursor(len(train_rows), args.seed, **progress["data"])
    log_file = (args.run_dir / "log.jsonl").open("a") if is_main else None
    last_checkpoint = time.time()
    window = {"loss": 0.0, "steps": 0, "tokens": 0, "time": time.time()}

    def checkpoint() -> None:
        if is_main:
            save_checkpoint(args.run_dir, model, optimizers, schedulers, progress, tokenizer_path)
            say(f"checkpoint at step {progress['step']}")

    def log(entry: dict) -> None:
        if log_file:
            log_file.write(json.dumps(entry) + "\n")
            log_file.flush()

    trained.train()
    while progress["step"] < total_steps:
        if args.max_steps is not None and progress["step"] >= args.max_steps:
            break
        step = progress["step"]
        global_rows = cursor.next_global_batch(global_batch_rows)
        my_rows = global_rows[rank::world]
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        step_loss = 0.0
        for micro in range(args.grad_accum):
            rows = np.sort(my_rows[micro * args.batch_size : (micro + 1) * args.batch_size])
            # Noise is seeded by (seed, step, rank, micro): identical after a resume, different per row.
            noise_rng = np.random.default_rng([args.seed, step, rank, micro])
            row_ids, row_flags = train_rows.ids[rows], train_rows.flags[rows]
            if args.copy_rows > 0:  # its own stream, so the noise is the same with or without copy rows
                copy_rng = np.random.default_rng([args.seed, step, rank, micro, 1])
                row_ids, row_flags = with_copy_rows(row_ids, row_flags, args.copy_rows, copy_rng)
            batch = collate(row_ids, row_flags, args.noise, args.span_length, noise_rng)
            last_micro = micro == args.grad_accum - 1
            sync = nullcontext() if (world == 1 or last_micro) else trained.no_sync()
            with sync:
                with autocast_for(device, bf16):
                    loss = trained(input_ids=batch["input_ids"].to(device), labels=batch["labels"].to(device)).loss
                (loss / args.grad_accum).backward()
            step_loss += loss.item() / args.grad_accum
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for optimizer, scheduler in zip(optimizers, schedulers):
            optimizer.step()
            scheduler.step()
        progress["step"] = step + 1
        progress["tokens_seen"] += tokens_per_step
        progress["data"] = cursor.state()
        window["loss"] += step_loss
        window["steps"] += 1
        window["tokens"] += tokens_per_step

        if progress["step"] % args.log_every == 0 or progress["step"] == total_steps:
            now = time.time()
            mean_loss = mean_over_processes(window["loss"] / window["steps"], world, device)
            rate = window["tokens"] / max(1e-9, now - window["time"])
            progress["train_loss"] = mean_loss
            entry = {
                "step": progress["step"], "tokens_seen": progress["tokens_seen"], "loss": round(mean_loss, 4),
                "lr": schedulers[0].get_last_lr()[0], "tokens_per_s": round(rate, 1), "elapsed_s": round(now - started, 1),
            }
            say(
                f"step {entry['step']}/{total_steps} tokens {entry['tokens_seen']:,} loss {mean_loss:.4f}"
                f" lr {entry['lr']:.2e} {rate:,.0f} tok/s"
            )
            log(entry)
            window = {"loss": 0.0, "steps": 0, "tokens": 0, "time": time.time()}

        if val_rows is not None and is_main and args.eval_every and progress["step"] % args.eval_every == 0:
            progress["val_loss"] = validation_loss(model, val_rows, args.val_rows, args.batch_size, device, bf16)
            say(f"step {progress['step']} val_loss {progress['val_loss']:.4f}")
            log({"step": progress["step"], "tokens_seen": progress["tokens_seen"], "val_loss": progress["val_loss"]})

        out_of_time = args.max_minutes is not None and time.time() - started > args.max_minutes * 60
        stop_now = mean_over_processes(float(stop.requested or out_of_time), world, device) > 0  # any process
        if stop_now:
            break
        if time.time() - last_checkpoint > args.checkpoint_minutes * 60:
            checkpoint()
            last_checkpoint = time.time()

    if val_rows is not None and is_main:
        progress["val_loss"] = validation_loss(model, val_rows, args.val_rows, args.batch_size, device, bf16)
        say(f"final val_loss {progress['val_loss']:.4f}")
        log({"step": progress["step"], "tokens_seen": progress["tokens_seen"], "val_loss": progress["val_loss"]})
    checkpoint()
    stop.restore()
    if log_file:
        log_file.close()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return progress


def main(argv: Sequence[str] | None = None) -> None:
    progress = train(parse_args(argv))
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(progress), flush=True)


if __name__ == "__main__":
    main()
