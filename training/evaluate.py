"""Quality numbers for a code model, all with greedy decoding.

  loss        validation loss per language over a held-out jsonl corpus ({"text", "path", "package",
              "language"} per line): nats per token and bits per byte (comparable across tokenizers)
  next-line   next-line completion on held-out files: at deterministic line starts, FIM prompt with
              the text before the line as prefix and the text after it as suffix; generate until a
              newline or <|endoftext|>; exact match and edit similarity against the true line
  he-single   HumanEval-Infilling single-line (prompt/suffix/canonical_solution), same metrics
  he-multi    HumanEval-Infilling multi-line: generate until <|endoftext|>, compared without trailing
              whitespace
  next-line-repo  the next-line cases in the repo-level layout, with context chunks of the same
              package's other files picked as the engine picks them (identifier overlap)
  copy        can the model copy from its context: three lines of a held-out file, then the start of
              the first again; exact match of the rest of that line

The model is an exported msn-onnx/1 folder (--model, run through onnxruntime: the engine's plain
greedy reference) or a Hugging Face folder of this project's model (--checkpoint, training/code_model.py,
run in torch with its KV cache).

CLI: python -m training.evaluate --model model/ [--val training/data/corpus/val.jsonl]
         [--humaneval-dir training/benchmarks/humaneval-infilling] [--limit 100] [--out eval.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np
from tokenizers import Tokenizer

from training.repo_samples import CONTEXT_CHUNK_CHARS, RepoIds, context_query, header_ids, identifiers, pick_context
from training.tokenizer import END_OF_TEXT, FILE_SEP, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, REPO_NAME
from training.fim import chunk_text

DEFAULT_VAL = Path("training/data/corpus-v2/val.jsonl")
DEFAULT_HUMANEVAL_DIR = Path(__file__).resolve().parent / "benchmarks" / "humaneval-infilling"
# The engine's budget for repo-level context in a prompt; one file both sides read.
REPO_CONTEXT_BUDGET = json.loads((Path(__file__).resolve().parents[1] / "extension/decoder/engine/repoContextBudget.json").read_text())
HUMANEVAL_FILES = {"he-single": "HumanEval-SingleLineInfilling.jsonl.gz", "he-multi": "HumanEval-MultiLineInfilling.jsonl.gz"}
ALL_TASKS = ("loss", "next-line", "next-line-repo", "copy", "he-single", "he-multi")


# ---------------------------------------------------------------- metrics (pure)

def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two strings."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def edit_similarity(prediction: str, target: str) -> float:
    """1 - normalised Levenshtein distance; 1.0 for two empty strings."""
    longest = max(len(prediction), len(target))
    return 1.0 if longest == 0 else 1.0 - levenshtein(prediction, target) / longest


def summarize(pairs: Sequence[tuple[str, str]]) -> dict:
    """Exact match and mean edit similarity over (prediction, target) pairs."""
    if not pairs:
        return {"count": 0, "exact_match": None, "edit_similarity": None}
    return {
        "count": len(pairs),
        "exact_match": sum(p == t for p, t in pairs) / len(pairs),
        "edit_similarity": sum(edit_similarity(p, t) for p, t in pairs) / len(pairs),
    }


# ---------------------------------------------------------------- models

class LanguageModel(Protocol):
    max_positions: int

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """Causal logits [len(ids), vocab] of one sequence."""

    def greedy(self, prompt: Sequence[int], max_new_tokens: int, stop: Callable[[list[int]], bool]) -> list[int]:
        """Greedy continuation of `prompt`; stops after max_new_tokens or once stop(generated) is true."""


class OnnxModel:
    """An exported msn-onnx/1 folder through onnxruntime (past rows appended on the numpy side)."""

    def __init__(self, model_dir: Path, threads: int = 1):
        from training.parity import ContractSession, causal_mask

        self.session = ContractSession(model_dir, threads)
        self.causal_mask = causal_mask
        self.max_positions = self.session.msn["max_positions"]

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        return self.session.run(ids, range(len(ids)), self.causal_mask(0, len(ids)), self.session.empty_cache())[0]

    def greedy(self, prompt: Sequence[int], max_new_tokens: int, stop: Callable[[list[int]], bool]) -> list[int]:
        cache = self.session.empty_cache()
        step_ids, generated = list(prompt), []
        while len(generated) < max_new_tokens:
            past = cache.length
            logits, keys, values = self.session.run(step_ids, range(past, past + len(step_ids)), self.causal_mask(past, len(step_ids)), cache)
            cache = cache.append(keys, values)
            generated.append(int(np.argmax(logits[-1])))
            if stop(generated):
                break
            step_ids = generated[-1:]
        return generated


class TorchModel:
    """A checkpoint of this project's model (training/code_model.py) in torch: float32, KV cache; the
    previous-token path, when the checkpoint has one, gets each pass's previous tokens from the cache."""

    def __init__(self, checkpoint: Path | object, threads: int = 1):
        import torch

        from training.code_model import CodeModel

        torch.set_num_threads(threads)
        self.torch = torch
        model = checkpoint if isinstance(checkpoint, torch.nn.Module) else CodeModel.from_pretrained(checkpoint)
        if not isinstance(model, CodeModel):
            raise TypeError(f"a {type(model).__name__} is evaluated through its export (--model), not as a checkpoint")
        self.model = model.float().eval()
        self.max_positions = self.model.config.max_position_embeddings

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        with self.torch.no_grad():
            return self.model(self.torch.tensor([list(ids)])).logits[0].float().numpy()

    def greedy(self, prompt: Sequence[int], max_new_tokens: int, stop: Callable[[list[int]], bool]) -> list[int]:
        cache, step_ids, generated = None, list(prompt), []
        with self.torch.no_grad():
            while len(generated) < max_new_tokens:
                logits, cache = self.model.extend(step_ids, cache)
                generated.append(int(logits[-1].argmax()))
                if stop(generated):
                    break
                step_ids = generated[-1:]
        return generated


# ---------------------------------------------------------------- validation loss

def log_softmax_loss(logits: np.ndarray, targets: Sequence[int]) -> float:
    """Summed cross-entropy (nats) of `targets` under `logits` [n, vocab]."""
    logits = logits.astype(np.float64)
    peak = logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(logits - peak).sum(axis=-1)) + peak[:, 0]
    return float((log_norm - logits[np.arange(len(targets)), list(targets)]).sum())


def windows(ids: Sequence[int], context: int) -> Iterator[list[int]]:
    """Non-overlapping windows of at most `context` tokens (each predicts its own tokens after the first)."""
    for start in range(0, max(len(ids) - 1, 1), context):
        window = list(ids[start:start + context])
        if len(window) >= 2:
            yield window


def validation_loss(model: LanguageModel, tokenizer: Tokenizer, records: Iterable[dict], context: int,
                    max_tokens_per_language: int) -> dict:
    """Per language: mean nats per predicted token, bits per byte, and the counts behind them."""
    eot = tokenizer.token_to_id(END_OF_TEXT)
    totals: dict[str, dict] = defaultdict(lambda: {"nats": 0.0, "tokens": 0, "bytes": 0, "files": 0})
    for record in records:
        total = totals[record.get("language", "unknown")]
        if total["tokens"] >= max_tokens_per_language:
            continue
        ids = tokenizer.encode(record["text"]).ids + [eot]
        ids = ids[: max_tokens_per_language - total["tokens"] + 1]
        for window in windows(ids, context):
            total["nats"] += log_softmax_loss(model.logits(window)[:-1], window[1:])
            total["tokens"] += len(window) - 1
        covered_text = tokenizer.decode(ids, skip_special_tokens=True)
        total["bytes"] += len(covered_text.encode("utf-8"))
        total["files"] += 1
    result = {}
    for language, total in sorted(totals.items()):
        if total["tokens"]:
            result[language] = {
                "loss": total["nats"] / total["tokens"],
                "bits_per_byte": total["nats"] / math.log(2) / max(total["bytes"], 1),
                "tokens": total["tokens"], "bytes": total["bytes"], "files": total["files"],
            }
    return result


# ---------------------------------------------------------------- FIM completion

@dataclass(frozen=True)
class InfillCase:
    prefix: str
    suffix: str
    target: str  # the true middle, compared as described by the task
    group: str  # language or benchmark name
    source: str  # path or task id
    package: str = ""


class FimCompleter:
    """Builds FIM prompts (parts tokenized separately, as in training) and decodes the middle greedily.

    `order` is "psm" or "spm"; `header(case, max_tokens)` gives repo-level header ids put before the FIM part.
    """

    def __init__(self, model: LanguageModel, tokenizer: Tokenizer, context: int, order: str = "psm",
                 header: Callable[["InfillCase", int], list[int]] | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.context = min(context, model.max_positions)
        self.order, self.header = order, header
        ids = [tokenizer.token_to_id(token) for token in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, END_OF_TEXT)]
        if None in ids:
            raise ValueError("tokenizer lacks the FIM special tokens")
        self.prefix_id, self.suffix_id, self.middle_id, self.eot_id = ids

    def prompt(self, prefix: str, suffix: str, max_new_tokens: int, header: Sequence[int] = ()) -> list[int]:
        """Prompt ids: the end of the prefix and the start of the suffix (at most 1/4 of the budget,
        more when the prefix is short), leaving room for `max_new_tokens`."""
        budget = self.context - max_new_tokens - 3 - len(header)
        # Trim characters first (cheap): no code token is anywhere near 8 characters on average.
        prefix_ids = self.tokenizer.encode(prefix[-budget * 8:]).ids
        suffix_ids = self.tokenizer.encode(suffix[: budget * 8]).ids
        suffix_keep = min(len(suffix_ids), budget // 4)
        prefix_keep = min(len(prefix_ids), budget - suffix_keep)
        suffix_keep = min(len(suffix_ids), budget - prefix_keep)
        prefix_ids = prefix_ids[len(prefix_ids) - prefix_keep:]
        if self.order == "spm":
            return [*header, self.prefix_id, self.suffix_id, *suffix_ids[:suffix_keep], self.middle_id, *prefix_ids]
        return [*header, self.prefix_id, *prefix_ids, self.suffix_id, *suffix_ids[:suffix_keep], self.middle_id]

    def complete_case(self, case: "InfillCase", single_line: bool, max_new_tokens: int) -> str:
        header = self.header(case, self.context - max_new_tokens) if self.header else []
        return self.complete(case.prefix, case.suffix, single_line, max_new_tokens, header)

    def complete(self, prefix: str, suffix: str, single_line: bool, max_new_tokens: int, header: Sequence[int] = ()) -> str:
        def stop(generated: list[int]) -> bool:
            if generated[-1] == self.eot_id:
                return True
            # A newline is one byte, so it always lies inside a single byte-level token.
            return single_line and "\n" in self.tokenizer.decode(generated[-1:])

        generated = self.model.greedy(self.prompt(prefix, suffix, max_new_tokens, header), max_new_tokens, stop)
        if generated and generated[-1] == self.eot_id:
            generated = generated[:-1]
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        return text.split("\n", 1)[0] if single_line else text


def interleave_by_language(records: Iterable[dict], seed: int = 0) -> list[dict]:
    """Records in a deterministic order that spreads packages (hash order within a language) and takes
    languages in turn, so the first N records cover every language and many packages."""
    by_language: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_language[record.get("language", "unknown")].append(record)
    for group in by_language.values():
        group.sort(key=lambda r: zlib.crc32(f"{seed}:{r.get('package', '')}/{r.get('path', '')}".encode()))
    queues = [by_language[language] for language in sorted(by_language)]
    ordered = []
    for index in range(max((len(queue) for queue in queues), default=0)):
        ordered += [queue[index] for queue in queues if index < len(queue)]
    return ordered


def next_line_cases(records: Iterable[dict], count: int, per_file: int = 2, seed: int = 0, min_line_chars: int = 4) -> list[InfillCase]:
    """Deterministic cursor positions at line starts of held-out files (non-trivial lines, not the first)."""
    cases: list[InfillCase] = []
    for record in records:
        if len(cases) >= count:
            break
        text = record["text"]
        starts, offset = [], 0
        lines = text.split("\n")
        for index, line in enumerate(lines[:-1]):  # a line with a newline after it
            if index > 0 and len(line.strip()) >= min_line_chars:
                starts.append((offset, line))
            offset += len(line) + 1
        if not starts:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(record.get("path", "").encode())])
        chosen = sorted(rng.choice(len(starts), size=min(per_file, len(starts)), replace=False))
        for choice in chosen[: count - len(cases)]:
            start, line = starts[choice]
            cases.append(InfillCase(text[:start], text[start + len(line) + 1:], line, record.get("language", "unknown"),
                                    record.get("path", ""), record.get("package", "")))
    return cases


class RepoHeaders:
    """Repo-level headers for cases of held-out packages: context chunks from the package's other files,
    picked as the engine picks them, within the engine's share of the prompt (REPO_CONTEXT_BUDGET)."""

    def __init__(self, tokenizer: Tokenizer, records: Iterable[dict]):
        self.tokenizer = tokenizer
        self.special = RepoIds.from_tokenizer(tokenizer, [FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, END_OF_TEXT, REPO_NAME, FILE_SEP])
        self.chunks: dict[str, list[tuple[str, str, frozenset[str]]]] = defaultdict(list)
        for record in records:
            for chunk in chunk_text(record["text"], CONTEXT_CHUNK_CHARS):
                if chunk.strip():
                    self.chunks[record.get("package", "")].append((record.get("path", ""), chunk, identifiers(chunk)))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def __call__(self, case: "InfillCase", prompt_tokens: int) -> list[int]:
        max_tokens = int(prompt_tokens * REPO_CONTEXT_BUDGET["context_share"])
        others = [chunk for chunk in self.chunks.get(case.package, []) if chunk[0] != case.source]
        query = identifiers(context_query(case.prefix, case.suffix))
        context = pick_context(query, others, max_tokens * REPO_CONTEXT_BUDGET["chars_per_token"])
        # The training layout itself (repo_samples.header_ids), dropping the worst chunk (the first) until it fits.
        header = header_ids(case.package, context, case.source, self.encode, self.special)
        while context and len(header) > max_tokens:
            context = context[1:]
            header = header_ids(case.package, context, case.source, self.encode, self.special)
        return header


def copy_cases(records: Iterable[dict], count: int, seed: int = 0, min_line_chars: int = 24) -> list[tuple[str, str]]:
    """(prompt text, expected rest of line): lines A, B, C of a file, then the first third of A again."""
    cases = []
    for record in records:
        if len(cases) >= count:
            break
        lines = record["text"].split("\n")
        rng = np.random.default_rng([seed, zlib.crc32(record.get("path", "").encode())])
        for _ in range(4):
            at = int(rng.integers(0, max(1, len(lines) - 3)))
            window = lines[at:at + 3]
            if len(window) < 3 or len(window[0].strip()) < min_line_chars or len(set(window)) < 3:
                continue
            first = window[0]
            indent = len(first) - len(first.lstrip())
            cut = indent + max(4, (len(first) - indent) // 3)
            cases.append(("\n".join(window) + "\n" + first[:cut], first[cut:]))
            break
    return cases


def run_copy(model: LanguageModel, tokenizer: Tokenizer, cases: Sequence[tuple[str, str]]) -> dict:
    eot = tokenizer.token_to_id(END_OF_TEXT)

    def stop(generated: list[int]) -> bool:
        return generated[-1] == eot or "\n" in tokenizer.decode(generated[-1:])

    pairs = []
    for prompt, target in cases:
        generated = model.greedy(tokenizer.encode(prompt).ids, 48, stop)
        text = tokenizer.decode([t for t in generated if t != eot], skip_special_tokens=True)
        pairs.append((text.split("\n", 1)[0].rstrip(), target.rstrip()))
    result = summarize(pairs)
    result["samples"] = [{"prediction": p, "target": t} for p, t in pairs[:3]]
    return result


def humaneval_cases(path: Path, group: str, limit: int | None) -> list[InfillCase]:
    cases = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            task = json.loads(line)
            cases.append(InfillCase(task["prompt"], task["suffix"], task["canonical_solution"], group, task["task_id"]))
            if limit is not None and len(cases) >= limit:
                break
    return cases


def spread(cases: list[InfillCase], limit: int | None) -> list[InfillCase]:
    """`limit` cases evenly spaced over the list (deterministic, covers all problems rather than the first few)."""
    if limit is None or len(cases) <= limit:
        return cases
    return [cases[int(i * len(cases) / limit)] for i in range(limit)]


def run_infill(completer: FimCompleter, cases: Sequence[InfillCase], single_line: bool, max_new_tokens: int) -> dict:
    """Scores per group and overall; single-line compares the first line, multi-line ignores trailing whitespace."""
    pairs_by_group: dict[str, list[tuple[str, str]]] = defaultdict(list)
    samples = []
    started = time.perf_counter()
    for case in cases:
        prediction = completer.complete_case(case, single_line, max_new_tokens)
        if single_line:
            pair = (prediction.rstrip("\r"), case.target.split("\n", 1)[0].rstrip("\r"))
        else:
            pair = (prediction.rstrip(), case.target.rstrip())
        pairs_by_group[case.group].append(pair)
        if len(samples) < 5:
            samples.append({"source": case.source, "prediction": pair[0], "target": pair[1]})
    result = summarize([pair for pairs in pairs_by_group.values() for pair in pairs])
    if len(pairs_by_group) > 1:
        result["by_group"] = {group: summarize(pairs) for group, pairs in sorted(pairs_by_group.items())}
    result["seconds"] = time.perf_counter() - started
    result["samples"] = samples
    return result


# ---------------------------------------------------------------- driver

def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(model: LanguageModel, tokenizer: Tokenizer, tasks: Sequence[str], val_records: list[dict] | None,
             humaneval_dir: Path, limit: int | None, context: int, max_val_tokens: int, next_line_count: int,
             order: str = "psm") -> dict:
    results: dict = {}
    completer = FimCompleter(model, tokenizer, context, order)
    if val_records:
        val_records = interleave_by_language(val_records)
    if "loss" in tasks and val_records:
        results["loss"] = validation_loss(model, tokenizer, val_records, context, max_val_tokens)
    if "next-line" in tasks and val_records:
        cases = next_line_cases(val_records, min(next_line_count, limit or next_line_count))
        results["next-line"] = run_infill(completer, cases, single_line=True, max_new_tokens=64)
    has_repo_tokens = tokenizer.token_to_id(REPO_NAME) is not None and tokenizer.token_to_id(FILE_SEP) is not None
    if "next-line-repo" in tasks and val_records and not has_repo_tokens:
        print("note: the tokenizer has no repo-level tokens; skipping next-line-repo")
    if "next-line-repo" in tasks and val_records and has_repo_tokens:
        cases = next_line_cases(val_records, min(next_line_count, limit or next_line_count))
        repo = FimCompleter(model, tokenizer, context, order, RepoHeaders(tokenizer, val_records))
        results["next-line-repo"] = run_infill(repo, cases, single_line=True, max_new_tokens=64)
    if "copy" in tasks and val_records:
        results["copy"] = run_copy(model, tokenizer, copy_cases(val_records, min(200, limit or 200)))
    for task in ("he-single", "he-multi"):
        path = humaneval_dir / HUMANEVAL_FILES[task]
        if task in tasks and path.exists():
            cases = spread(humaneval_cases(path, task, None), limit)
            results[task] = run_infill(completer, cases, single_line=task == "he-single", max_new_tokens=64 if task == "he-single" else 256)
    return results


def format_table(results: dict) -> str:
    lines = []
    if "loss" in results:
        lines += ["validation loss", f"  {'language':12s} {'nats/token':>10s} {'bits/byte':>10s} {'tokens':>9s} {'files':>6s}"]
        for language, row in results["loss"].items():
            lines.append(f"  {language:12s} {row['loss']:10.4f} {row['bits_per_byte']:10.4f} {row['tokens']:9d} {row['files']:6d}")
    infill = [task for task in ("next-line", "next-line-repo", "copy", "he-single", "he-multi") if task in results]
    if infill:
        lines += ["completion (greedy)", f"  {'task':22s} {'count':>6s} {'exact':>7s} {'edit sim':>9s} {'seconds':>8s}"]
        for task in infill:
            row = results[task]
            rows = [(task, row)] + [(f"  {group}", sub) for group, sub in row.get("by_group", {}).items()]
            for name, sub in rows:
                em = "-" if sub["exact_match"] is None else f"{sub['exact_match']:.3f}"
                es = "-" if sub["edit_similarity"] is None else f"{sub['edit_similarity']:.3f}"
                seconds = f"{sub['seconds']:8.1f}" if "seconds" in sub else ""
                lines.append(f"  {name:22s} {sub['count']:6d} {em:>7s} {es:>9s} {seconds}")
    return "\n".join(lines)


def load_model(args: argparse.Namespace) -> tuple[LanguageModel, Tokenizer, dict]:
    if args.model:
        tokenizer_path = args.tokenizer or args.model / "tokenizer.json"
        model = OnnxModel(args.model, args.threads)
        description = {"kind": "msn-onnx", "path": str(args.model), "msn": model.session.msn}
    else:
        tokenizer_path = args.tokenizer or args.checkpoint / "tokenizer.json"
        model = TorchModel(args.checkpoint, args.threads)
        description = {"kind": "hf-checkpoint", "path": str(args.checkpoint)}
    return model, Tokenizer.from_file(str(tokenizer_path)), description


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="exported msn-onnx/1 folder")
    source.add_argument("--checkpoint", type=Path, help="Hugging Face folder of this project's model (training/code_model.py)")
    parser.add_argument("--tokenizer", type=Path, default=None, help="default: tokenizer.json in the model folder")
    parser.add_argument("--val", type=Path, default=DEFAULT_VAL, help="held-out jsonl corpus")
    parser.add_argument("--humaneval-dir", type=Path, default=DEFAULT_HUMANEVAL_DIR)
    parser.add_argument("--tasks", default=",".join(ALL_TASKS), help=f"comma-separated subset of {','.join(ALL_TASKS)}")
    parser.add_argument("--limit", type=int, default=None, help="at most N cases per completion task")
    parser.add_argument("--next-line", type=int, default=500, help="next-line cases (before --limit)")
    parser.add_argument("--max-val-tokens", type=int, default=200_000, help="validation tokens per language")
    parser.add_argument("--context", type=int, default=512, help="tokens per loss window and per FIM prompt+answer")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--order", choices=("psm", "spm"), default=None,
                        help="FIM order (default: the model's first in msn.json, psm for a checkpoint)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    tasks = [task for task in args.tasks.split(",") if task]
    unknown = set(tasks) - set(ALL_TASKS)
    if unknown:
        parser.error(f"unknown tasks {sorted(unknown)}")
    model, tokenizer, description = load_model(args)
    val_records = read_jsonl(args.val) if args.val.exists() else None
    if val_records is None and {"loss", "next-line"} & set(tasks):
        print(f"note: {args.val} not found; skipping loss and next-line")
    order = args.order or ((description.get("msn", {}).get("prompt") or {}).get("fim_orders") or ["psm"])[0]
    results = evaluate(model, tokenizer, tasks, val_records, args.humaneval_dir, args.limit, args.context,
                       args.max_val_tokens, args.next_line, order)
    report = {"model": description, "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "results": results}
    print(format_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
