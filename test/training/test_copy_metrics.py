"""training/copy_metrics.py: the copyable-position mask, the induction batch, and the metrics on a model that
copies perfectly (an oracle) and on one that does not."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from training.copy_metrics import copyable_mask, copyable_metrics, induction_batch, induction_metrics


def test_copyable_mask_needs_an_earlier_occurrence_followed_by_a_token():
    ids = np.array([1, 2, 3, 4, 9, 1, 2, 3, 4, 7, 8])
    mask = copyable_mask(ids, n=4)
    # target 9 (context 2,3,4,9? no): only target index 9 has context (1,2,3,4) seen earlier at j=0, followed by 9
    assert mask.tolist() == [False] * 9 + [True, False]
    # a repeat that overlaps itself: 5 5 5 5 5 5 — at i=5 the context (5,5,5,5) occurred at j=0 followed by ids[4]
    assert copyable_mask(np.array([5] * 6), n=4).tolist() == [False] * 5 + [True]
    assert not copyable_mask(np.arange(20)).any()


def test_induction_batch_repeats_random_tokens_outside_the_special_ids():
    batch = induction_batch(3, 16, vocab_size=100, first_id=10, seed=1)
    assert batch.shape == (3, 32)
    assert np.array_equal(batch[:, :16], batch[:, 16:])
    assert batch.min() >= 10 and batch.max() < 100
    assert np.array_equal(batch, induction_batch(3, 16, 100, 10, seed=1))


class Oracle(torch.nn.Module):
    """Predicts the token that followed the latest earlier occurrence of the current token (an ideal
    one-token induction head), else token 0."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.config = SimpleNamespace(vocab_size=vocab)

    def forward(self, input_ids):
        batch, length = input_ids.shape
        logits = torch.zeros(batch, length, self.vocab)
        for b in range(batch):
            row = input_ids[b].tolist()
            for p in range(length):
                guess = 0
                for q in range(p - 1, -1, -1):
                    if row[q] == row[p]:
                        guess = row[q + 1]
                        break
                logits[b, p, guess] = 10.0
        return SimpleNamespace(logits=logits)


def test_an_induction_oracle_scores_perfectly_on_the_repeat_and_on_copyable_positions():
    oracle = Oracle(50)
    # the oracle is exact when the first copy has no repeated token
    batch = np.stack([np.concatenate([row, row]) for row in (np.random.default_rng(i).permutation(50)[:12] for i in range(4))])
    result = induction_metrics(oracle, batch)
    assert result["accuracy"] == 1.0 and result["count"] == 4 * 11
    ids = batch.copy()
    labels = ids.copy()
    labels[0, -2:] = -100  # ignored positions are counted nowhere
    metrics = copyable_metrics(oracle, ids, labels)
    assert metrics["copyable"]["accuracy"] == 1.0
    assert metrics["copyable"]["count"] == 4 * (12 - 4) - 2
    assert metrics["other"]["count"] == 4 * 15  # the first copy and the first 4 targets of the repeat
    # the oracle gets only the repeat's targets 2-4 right there (3 of 15 per row): the first copy is random
    assert metrics["other"]["accuracy"] == 12 / 60
