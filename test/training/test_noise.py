"""The MSN collator: one span per sample inside its target part, noise from earlier tokens, clean labels."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import RowPacker
from training.fim import Sample
from training.noise import (
    FLAG_PADDING,
    IGNORE_INDEX,
    Segment,
    choose_span,
    collate,
    segments_of_row,
)

SEQ_LEN = 64


def random_samples(rng: np.random.Generator, count: int) -> list[Sample]:
    """Samples with distinct-looking ids and target parts that start well after their first token."""
    samples = []
    for _ in range(count):
        length = int(rng.integers(8, 40))
        ids = [int(x) for x in rng.integers(10, 1000, size=length)]
        target_start = int(rng.integers(1, length - 2))
        samples.append(Sample(ids=ids, target_start=target_start, target_end=length, is_fim=True))
    return samples


@pytest.fixture
def packed() -> tuple[np.ndarray, np.ndarray]:
    packer = RowPacker(SEQ_LEN)
    for sample in random_samples(np.random.default_rng(7), 60):
        packer.add(sample)
    return packer.arrays(vocab_size=1024)


def test_span_lies_inside_the_target_part_after_the_first_token():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        start = int(rng.integers(0, 50))
        end = start + int(rng.integers(1, 60))
        target_start = int(rng.integers(start, end + 1))
        segment = Segment(start, end, target_start, end)
        span = choose_span(segment, 5, rng)
        room = end - max(target_start, start + 1)
        if room <= 0:
            assert span is None
            continue
        span_start, span_end = span
        assert max(target_start, start + 1) <= span_start < span_end <= end
        assert span_end - span_start == min(5, room)


def test_span_position_is_uniform_over_the_target_part():
    rng = np.random.default_rng(1)
    segment = Segment(0, 20, 10, 20)  # 10 target tokens, span of 5 -> 6 possible starts
    starts = [choose_span(segment, 5, rng)[0] for _ in range(6000)]
    counts = np.bincount(starts, minlength=20)[10:16]
    assert set(np.flatnonzero(np.bincount(starts))) == set(range(10, 16))
    assert counts.min() > 850 and counts.max() < 1150


def test_noise_only_in_one_target_span_per_segment_with_tokens_from_earlier_positions(packed):
    ids, flags = packed
    batch = collate(ids, flags, "msn", 5, np.random.default_rng(3))
    noisy = batch["input_ids"].numpy()
    changed_total = 0
    for row in range(ids.shape[0]):
        for segment in segments_of_row(flags[row]):
            changed = np.flatnonzero(noisy[row, segment.start : segment.end] != ids[row, segment.start : segment.end])
            changed = changed + segment.start
            changed_total += len(changed)
            if len(changed) == 0:
                continue
            assert changed.min() >= max(segment.target_start, segment.start + 1)
            assert changed.max() < segment.target_end
            assert changed.max() - changed.min() < 5  # one contiguous span of at most 5
            earlier = set(ids[row, segment.start : changed.min()].tolist())
            for position in changed:
                assert noisy[row, position] in earlier
    assert changed_total > 0.6 * 5 * ids.shape[0]  # noise actually happens (most draws differ)


def test_labels_are_the_clean_ids(packed):
    ids, flags = packed
    batch = collate(ids, flags, "msn", 5, np.random.default_rng(4))
    assert np.array_equal(batch["labels"].numpy(), ids.astype(np.int64))
    assert not np.array_equal(batch["input_ids"].numpy(), ids.astype(np.int64))


def test_padding_is_ignored_by_the_loss_and_never_noised():
    ids = np.arange(100, 116, dtype=np.int64).reshape(1, 16)
    flags = np.zeros((1, 16), dtype=np.uint8)
    flags[0, 0] = 2
    flags[0, 1:12] = 1
    flags[0, 12:] = FLAG_PADDING
    batch = collate(ids, flags, "msn", 5, np.random.default_rng(0), pad_id=0)
    labels = batch["labels"].numpy()[0]
    assert (labels[12:] == IGNORE_INDEX).all() and np.array_equal(labels[:12], ids[0, :12])
    assert (batch["input_ids"].numpy()[0, 12:] == 0).all()


def test_same_seed_same_noise_other_seed_other_noise(packed):
    ids, flags = packed
    first = collate(ids, flags, "msn", 5, np.random.default_rng(11))["input_ids"]
    again = collate(ids, flags, "msn", 5, np.random.default_rng(11))["input_ids"]
    other = collate(ids, flags, "msn", 5, np.random.default_rng(12))["input_ids"]
    assert (first == again).all()
    assert not (first == other).all()


def test_no_noise_mode_keeps_inputs_clean(packed):
    ids, flags = packed
    batch = collate(ids, flags, "none", 5, np.random.default_rng(0))
    assert (batch["input_ids"] == batch["labels"]).all()


def test_span_length_is_configurable(packed):
    ids, flags = packed
    long_noise = collate(ids, flags, "msn", 12, np.random.default_rng(5))["input_ids"].numpy()
    short_noise = collate(ids, flags, "msn", 1, np.random.default_rng(5))["input_ids"].numpy()
    assert (long_noise != ids).sum() > 3 * (short_noise != ids).sum()
