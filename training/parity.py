"""Parity check of an exported msn-onnx/1 graph: KV-cached prefill plus a token tree vs causal runs.

Steps: prefill a prefix of P tokens with past=0 (and, separately, in two chunks, the second with
past>0); then verify a branching token tree (depth >= 3) at past=P with position ids P+depth and a
tree mask. Each node's logits must equal the reference model run causally on prefix + the node's
ancestor path + the node. The reference is the checkpoint run causally in PyTorch when given (this
project's model runs its layers' causal path there, the graph their cache path), otherwise the
exported graph itself run causally from scratch (past=0), which still checks cache and tree logic.

CLI: python -m training.parity --model DIR [--checkpoint HF_DIR] [--prefix 12] [--tolerance 1e-4]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from training.contract import MASK_VALUE

PARITY_TOLERANCE = 1e-4  # max abs logit difference accepted (float32 rounding across kernels)

# Parent index of each tree node (-1: child of the last prefix token). 10 nodes, depth 4, several branches.
DEFAULT_TREE_PARENTS = (-1, 0, 0, 1, 1, 2, 3, 6, -1, 8)


@dataclass
class Cache:
    keys: list[np.ndarray]  # per layer [1, past, kv_heads, head_dim]
    values: list[np.ndarray]

    @property
    def length(self) -> int:
        return self.keys[0].shape[1]

    def append(self, new_keys: list[np.ndarray], new_values: list[np.ndarray]) -> "Cache":
        return Cache(
            [np.concatenate((old, new), axis=1) for old, new in zip(self.keys, new_keys)],
            [np.concatenate((old, new), axis=1) for old, new in zip(self.values, new_values)],
        )


class ContractSession:
    """Runs an exported model.onnx through onnxruntime with the contract's inputs and outputs."""

    def __init__(self, model_dir: Path, threads: int = 1):
        import onnxruntime as ort

        self.msn = json.loads((Path(model_dir) / "msn.json").read_text())
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(Path(model_dir) / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.num_layers = self.msn["num_layers"]

    def empty_cache(self) -> Cache:
        shape = (1, 0, self.msn["num_kv_heads"], self.msn["head_dim"])
        return Cache([np.zeros(shape, np.float32)] * self.num_layers, [np.zeros(shape, np.float32)] * self.num_layers)

    def run(self, input_ids: Sequence[int], position_ids: Sequence[int], mask: np.ndarray, cache: Cache):
        """Returns (logits [q, vocab], new keys per layer, new values per layer)."""
        feeds = {
            "input_ids": np.asarray(input_ids, np.int64)[None],
            "position_ids": np.asarray(position_ids, np.int64)[None],
            "attention_mask": mask.astype(np.float32)[None, None],
        }
        for i in range(self.num_layers):
            feeds[f"past_key_values.{i}.key"] = cache.keys[i]
            feeds[f"past_key_values.{i}.value"] = cache.values[i]
        outputs = self.session.run(None, feeds)
        return outputs[0][0], outputs[1::2], outputs[2::2]


def causal_mask(past: int, q: int) -> np.ndarray:
    """[q, past+q]: each new token sees the whole past and the new tokens up to itself."""
    mask = np.zeros((q, past + q), np.float32)
    mask[:, past:] = np.triu(np.full((q, q), MASK_VALUE, np.float32), k=1)
    return mask


def tree_depths(parents: Sequence[int]) -> list[int]:
    depths = []
    for parent in parents:
        if parent >= len(depths):
            raise ValueError("a parent must come before its children")
        depths.append(0 if parent < 0 else depths[parent] + 1)
    return depths


def tree_path(parents: Sequence[int], node: int) -> list[int]:
    """Node indices from the tree root down to `node`, inclusive."""
    path = [node]
    while parents[path[-1]] >= 0:
        path.append(parents[path[-1]])
    return path[::-1]


def tree_mask(parents: Sequence[int], past: int) -> np.ndarray:
    """[q, past+q]: a node sees the whole past, its ancestors and itself."""
    q = len(parents)
    mask = np.full((q, past + q), MASK_VALUE, np.float32)
    mask[:, :past] = 0.0
    for node in range(q):
        for visible in tree_path(parents, node):
            mask[node, past + visible] = 0.0
    return mask


def onnx_causal_reference(session: ContractSession) -> Callable[[list[int]], np.ndarray]:
    """Reference logits (all positions) from the exported graph itself, run from scratch."""

    def logits(tokens: list[int]) -> np.ndarray:
        return session.run(tokens, range(len(tokens)), causal_mask(0, len(tokens)), session.empty_cache())[0]

    return logits


def torch_causal_reference(checkpoint) -> Callable[[list[int]], np.ndarray]:
    """Reference logits (all positions) from a PyTorch causal LM (a directory or a model), run causally.

    A directory of this project's model shape is loaded as training/code_model.py's CodeModel, any other as
    the architecture its config.json names, in float32 like the export.
    """
    import torch

    if isinstance(checkpoint, torch.nn.Module):
        model = checkpoint
    else:
        from training.code_model import load_causal_lm

        model = load_causal_lm(checkpoint)
    model = model.float().eval()

    def logits(tokens: list[int]) -> np.ndarray:
        with torch.no_grad():
            return model(torch.tensor([tokens])).logits[0].numpy()

    return logits


def check_parity(
    session: ContractSession,
    reference: Callable[[list[int]], np.ndarray],
    prefix_length: int = 12,
    parents: Sequence[int] = DEFAULT_TREE_PARENTS,
    seed: int = 0,
) -> dict[str, float]:
    """Max abs logit differences (prefill, chunked prefill, tree, one-token step) between the graph and the reference."""
    rng = np.random.default_rng(seed)
    vocab = session.msn["vocab_size"]
    prefix = rng.integers(0, vocab, prefix_length).tolist()
    tree_tokens = rng.integers(0, vocab, len(parents)).tolist()
    reference_prefix = reference(prefix)

    logits, keys, values = session.run(prefix, range(prefix_length), causal_mask(0, prefix_length), session.empty_cache())
    cache = session.empty_cache().append(keys, values)
    results = {"prefill": float(np.abs(logits - reference_prefix).max())}

    split = prefix_length // 2
    first, k1, v1 = session.run(prefix[:split], range(split), causal_mask(0, split), session.empty_cache())
    chunk_cache = session.empty_cache().append(k1, v1)
    second, k2, v2 = session.run(prefix[split:], range(split, prefix_length), causal_mask(split, prefix_length - split), chunk_cache)
    chunk_cache = chunk_cache.append(k2, v2)
    results["chunked_prefill"] = float(np.abs(np.concatenate((first, second)) - reference_prefix).max())
    results["chunked_cache"] = max(
        float(np.abs(a - b).max()) for a, b in zip(chunk_cache.keys + chunk_cache.values, cache.keys + cache.values)
    )

    depths = tree_depths(parents)
    positions = [prefix_length + depth for depth in depths]
    tree_logits, _, _ = session.run(tree_tokens, positions, tree_mask(parents, prefix_length), cache)
    tree_diff = 0.0
    for node in range(len(parents)):
        sequence = prefix + [tree_tokens[i] for i in tree_path(parents, node)]
        expected = reference(sequence)[-1]
        tree_diff = max(tree_diff, float(np.abs(tree_logits[node] - expected).max()))
    results["tree"] = tree_diff

    # One token on the cache, as a plain greedy step runs: some CPU kernels take another path for a
    # single row (MatMulNBits int4 with int8 activations did), and ar must see what a tree sees.
    step_logits, _, _ = session.run(tree_tokens[:1], [prefix_length], causal_mask(prefix_length, 1), cache)
    results["single_token_step"] = float(np.abs(step_logits[0] - reference(prefix + tree_tokens[:1])[-1]).max())
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="exported msn-onnx/1 directory")
    parser.add_argument("--checkpoint", type=Path, default=None, help="Hugging Face checkpoint folder to use as the reference")
    parser.add_argument("--prefix", type=int, default=12)
    parser.add_argument("--tolerance", type=float, default=PARITY_TOLERANCE)
    args = parser.parse_args(argv)

    session = ContractSession(args.model)
    reference = torch_causal_reference(args.checkpoint) if args.checkpoint else onnx_causal_reference(session)
    results = check_parity(session, reference, args.prefix)
    source = f"checkpoint {args.checkpoint}" if args.checkpoint else "the graph run causally"
    print(f"model: {session.msn.get('architecture')} {session.msn.get('name')}")
    print(f"reference: {source}; tree of {len(DEFAULT_TREE_PARENTS)} nodes, depth {max(tree_depths(DEFAULT_TREE_PARENTS)) + 1}")
    for name, diff in results.items():
        print(f"  {name:16s} max abs diff {diff:.3e}")
    worst = max(results.values())
    if not worst < args.tolerance:
        raise SystemExit(f"FAIL: max abs diff {worst:.3e} >= {args.tolerance}")
    print(f"OK: max abs diff {worst:.3e} < {args.tolerance}")


if __name__ == "__main__":
    main()
