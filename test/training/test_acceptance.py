"""The acceptance simulator: lossless against plain greedy, and it accepts drafts that are right."""

from __future__ import annotations

import numpy as np
import torch
from training.acceptance import Simulator, best_first_template, chain_template, leaves, measure
from training.code_model import CodeModel
from training.model_config import make_config


def tiny_model(seed: int = 0) -> CodeModel:
    torch.manual_seed(seed)
    return CodeModel(make_config("fixture", vocab_size=300))


def prompts(count: int, length: int = 40) -> list[list[int]]:
    return [[int(x) for x in np.random.default_rng(i).integers(5, 300, size=length)] for i in range(count)]


def test_tree_template_is_prefix_closed_with_the_requested_size():
    template = best_first_template(16, ranks=4, max_depth=6)
    assert len(template) == len(set(template)) == 16
    assert all(path[:-1] in template for path in template if len(path) > 1)
    assert max(len(path) for path in template) <= 6 and all(max(path) < 4 for path in template)
    assert all(path in template for path in leaves(template))


def test_decoding_equals_plain_greedy_for_jacobi_and_tree():
    simulator = Simulator(tiny_model(), eos_id=None)
    report = measure(simulator, prompts(2), 12, {"jacobi": chain_template(4), "tree": best_first_template(8, 3, 4)})
    for strategy in report["strategies"].values():
        assert strategy["mean_accepted"] >= 1.0


def test_a_model_with_a_constant_argmax_accepts_whole_chains():
    model = tiny_model()
    with torch.no_grad():
        model.model.norm.weight.zero_()  # every logit 0: argmax is always token 0
    simulator = Simulator(model, eos_id=None)
    decoded = simulator.decode(prompts(1)[0], 32, chain_template(8), np.random.default_rng(0))
    assert decoded.tokens == [0] * 32
    # Noise drafts (cold start, or after a whole chain was accepted: no guesses left) give only
    # the bonus token; the guesses of that pass are all right, so the next pass emits 8 + 1.
    assert decoded.accepted_per_pass[:4] == [1, 9, 1, 9] and decoded.passes == 8
