"""Greedy Jacobi / tree-Jacobi acceptance simulator (torch, full recompute per step).

It follows the engine's definitions (docs/decoding.md), without retrieval:
  - each step verifies a draft tree in one pass: every root-to-leaf path is checked, the longest
    prefix of draft tokens equal to the model's greedy argmax at their parent is accepted, plus one
    bonus token (the argmax after the last accepted token); so a pass emits accepted + 1 tokens;
  - the next step's guesses at depth d are the top-k of the logits at the not-yet-accepted
    positions of the best path (shifted by one); depths without a guess are filled with noise
    tokens drawn uniformly from the context (which is also the cold start);
  - `jacobi` is the single chain of top-1 guesses; `tree` is a fixed template of rank paths.
Acceptance does not depend on KV caching, so each pass simply recomputes the whole sequence, in
float64 so that no near-tie can make the verified argmax differ from plain greedy decoding (which runs
over the KV cache: the cache path of training/code_model.py, the exported graph's). The simulator asserts
that the emitted tokens equal plain greedy decoding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

# Node cost of one pass relative to a single-token step, for the 5M model on this CPU with the
# contract's cache layout (docs/model-contract.md): q tokens in the pass -> latency ratio. The engine's
# cost model starts from the same numbers: one file for both.
RELATIVE_LATENCY_FILE = Path(__file__).resolve().parents[1] / "extension/decoder/draft/relativeLatency.json"
CPU_LATENCY_RATIO = {int(q): float(r) for q, r in json.loads(RELATIVE_LATENCY_FILE.read_text())["ratio_by_q"].items()}


def latency_ratio(q: int) -> float:
    """CPU_LATENCY_RATIO interpolated linearly in q."""
    points = sorted(CPU_LATENCY_RATIO.items())
    if q <= points[0][0]:
        return points[0][1]
    for (q0, r0), (q1, r1) in zip(points, points[1:]):
        if q <= q1:
            return r0 + (r1 - r0) * (q - q0) / (q1 - q0)
    return points[-1][1]


def chain_template(depth: int) -> list[tuple[int, ...]]:
    """Jacobi: one chain of rank-0 guesses, `depth` drafts long."""
    return [(0,) * d for d in range(1, depth + 1)]


def best_first_template(nodes: int, ranks: int, max_depth: int, rank_weights: Sequence[float] = (1.0, 0.3, 0.15, 0.08)) -> list[tuple[int, ...]]:
    """A tree of `nodes` rank paths chosen by a static value (product of per-rank weights, times
    0.85 per depth): the shape the engine's planner converges to when deeper and lower-ranked
    guesses are accepted less often. Prefix-closed because a prefix always has a higher value."""
    frontier = [((r,), rank_weights[r] * 0.85) for r in range(ranks)]
    chosen: list[tuple[int, ...]] = []
    while frontier and len(chosen) < nodes:
        frontier.sort(key=lambda item: -item[1])
        path, value = frontier.pop(0)
        chosen.append(path)
        if len(path) < max_depth:
            frontier += [(path + (r,), value * rank_weights[r] * 0.85) for r in range(ranks)]
    return chosen


def leaves(template: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    paths = set(template)
    return [path for path in template if not any(other[: len(path)] == path and len(other) > len(path) for other in paths)]


@dataclass
class Decoded:
    tokens: list[int]
    passes: int
    accepted_per_pass: list[int] = field(default_factory=list)


class Simulator:
    """Greedy decoding of one model, plainly and with a draft tree, over full-recompute passes."""

    def __init__(self, model: torch.nn.Module, eos_id: int | None = None):
        self.model = model.double().eval()
        self.eos_id = eos_id

    @torch.no_grad()
    def _logits(self, sequences: list[list[int]]) -> torch.Tensor:
        """Logits [batch, length, vocab] of right-padded sequences (causal, so padding never matters)."""
        length = max(len(s) for s in sequences)
        batch = torch.zeros((len(sequences), length), dtype=torch.long)
        for row, sequence in enumerate(sequences):
            batch[row, : len(sequence)] = torch.tensor(sequence)
        return self.model(input_ids=batch).logits

    @torch.no_grad()
    def greedy(self, prompt: list[int], max_new_tokens: int) -> list[int]:
        """Plain greedy decoding over the KV cache (the reference every draft strategy must reproduce)."""
        generated: list[int] = []
        cache = None
        inputs = list(prompt)
        for _ in range(max_new_tokens):
            logits, cache = self.model.extend(inputs, cache)
            token = int(logits[-1].argmax())
            generated.append(token)
            if token == self.eos_id:
                break
            inputs = [token]
        return generated

    @torch.no_grad()
    def decode(self, prompt: list[int], max_new_tokens: int, template: Sequence[tuple[int, ...]], rng: np.random.Generator) -> Decoded:
        """Greedy decoding by draft-tree verification; returns the tokens and the number of passes."""
        max_depth = max(len(path) for path in template)
        ranks = max(max(path) for path in template) + 1
        paths = leaves(template)
        guesses: list[list[int]] = []  # guesses[d] = top-`ranks` tokens for depth d + 1
        generated: list[int] = []
        result = Decoded(tokens=generated, passes=0)
        while len(generated) < max_new_tokens and not (generated and generated[-1] == self.eos_id):
            context = prompt + generated
            table = [list(guesses[d]) if d < len(guesses) else [] for d in range(max_depth)]
            for row in table:  # noise where there is no guess: tokens drawn from the context
                while len(row) < ranks:
                    row.append(int(context[rng.integers(0, len(context))]))
            drafts = [[table[d][r] for d, r in enumerate(path)] for path in paths]
            logits = self._logits([context + draft for draft in drafts])
            base = len(context) - 1  # position whose argmax is the first new token
            argmax = logits.argmax(-1)
            best_row, best_accepted = 0, -1
            for row, draft in enumerate(drafts):
                accepted = 0
                while accepted < len(draft) and draft[accepted] == int(argmax[row, base + accepted]):
                    accepted += 1
                if accepted > best_accepted:
                    best_row, best_accepted = row, accepted
            best_draft = drafts[best_row]
            emitted = best_draft[:best_accepted] + [int(argmax[best_row, base + best_accepted])]
            if self.eos_id in emitted:
                emitted = emitted[: emitted.index(self.eos_id) + 1]
            generated.extend(emitted)
            result.passes += 1
            result.accepted_per_pass.append(len(emitted))
            # Next guesses: top-k at the best path's positions after the bonus token's.
            following = logits[best_row, base + best_accepted + 1 : base + len(best_draft) + 1]
            guesses = [row.topk(ranks).indices.tolist() for row in following]
        del generated[max_new_tokens:]
        return result


def measure(simulator: Simulator, prompts: Sequence[list[int]], max_new_tokens: int, templates: dict[str, Sequence[tuple[int, ...]]], seed: int = 0) -> dict:
    """Mean tokens per pass for each template over `prompts`; asserts losslessness on every prompt."""
    totals = {name: {"tokens": 0, "passes": 0} for name in templates}
    outputs = []
    for index, prompt in enumerate(prompts):
        reference = simulator.greedy(prompt, max_new_tokens)
        outputs.append(reference)
        for name, template in templates.items():
            decoded = simulator.decode(prompt, max_new_tokens, template, np.random.default_rng([seed, index]))
            assert decoded.tokens == reference, f"{name} decoding differs from greedy on prompt {index}"
            totals[name]["tokens"] += len(decoded.tokens)
            totals[name]["passes"] += decoded.passes
    report = {}
    for name, template in templates.items():
        mean = totals[name]["tokens"] / max(1, totals[name]["passes"])
        q = 1 + len(template)
        report[name] = {
            "mean_accepted": mean,
            "nodes": len(template),
            "cpu_latency_ratio": latency_ratio(q),
            "cpu_speedup": mean / latency_ratio(q),
        }
    return {"strategies": report, "greedy_outputs": outputs}
