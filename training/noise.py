"""The MSN ("Make Some Noise") collator: corrupt one span of the input, keep the labels clean.

As in the paper's official code: in each sample ONE contiguous span of L tokens (L=5 by default),
at a uniformly random position inside the sample's target part, has each of its tokens replaced by
a token drawn uniformly from the tokens of the same sample that come before the span. The labels
are the clean ids, so the loss is the ordinary causal LM loss; the model learns to predict the next
token correctly after wrong guesses, which is what Jacobi decoding feeds it.

Rows are packed (training/data.py), so a row holds several samples, or pieces of them; each piece is
a "segment" here and gets its own span. A segment whose target part is shorter than L gets a span
as long as its target part; a segment with no target token after its first token gets none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

IGNORE_INDEX = -100

# Per-token flags stored next to the packed ids (training/data.py).
FLAG_TARGET = 1  # the token is in its sample's target part
FLAG_SEGMENT_START = 2  # a sample (or the piece of one that begins this row) starts here
FLAG_PADDING = 4  # filler: ignored by the loss


@dataclass(frozen=True)
class Segment:
    """One sample piece in a row: tokens [start, end), target part [target_start, target_end)."""

    start: int
    end: int
    target_start: int
    target_end: int


def segments_of_row(flags: np.ndarray) -> list[Segment]:
    """Sample pieces of one packed row, from its per-token flags. The target part of a piece is contiguous."""
    length = len(flags)
    starts = [int(i) for i in np.flatnonzero(flags & FLAG_SEGMENT_START)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    segments = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else length
        target = np.flatnonzero((flags[start:end] & FLAG_TARGET) & ~(flags[start:end] & FLAG_PADDING))
        if len(target) == 0:
            segments.append(Segment(start, end, end, end))
        else:
            segments.append(Segment(start, end, start + int(target[0]), start + int(target[-1]) + 1))
    return segments


def choose_span(segment: Segment, span_length: int, rng: np.random.Generator) -> tuple[int, int] | None:
    """[span_start, span_end) uniformly placed inside the segment's target part, after its first token."""
    lowest = max(segment.target_start, segment.start + 1)  # at least one earlier token to copy from
    room = segment.target_end - lowest
    if room <= 0 or span_length <= 0:
        return None
    length = min(span_length, room)
    span_start = int(rng.integers(lowest, segment.target_end - length + 1))
    return span_start, span_start + length


def noise_row(ids: np.ndarray, flags: np.ndarray, span_length: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of one row's ids with one noise span per segment (tokens drawn from earlier in the segment)."""
    noisy = ids.copy()
    for segment in segments_of_row(flags):
        span = choose_span(segment, span_length, rng)
        if span is None:
            continue
        span_start, span_end = span
        sources = rng.integers(segment.start, span_start, size=span_end - span_start)
        noisy[span_start:span_end] = ids[sources]
    return noisy


def collate(
    ids: np.ndarray,
    flags: np.ndarray,
    noise: str,
    span_length: int,
    rng: np.random.Generator,
    pad_id: int = 0,
) -> dict[str, torch.Tensor]:
    """Batch [B, T] of packed rows -> input_ids (noisy if noise == "msn") and clean labels."""
    if noise not in ("msn", "none"):
        raise ValueError(f"noise must be 'msn' or 'none', not {noise!r}")
    ids = np.asarray(ids, dtype=np.int64)
    flags = np.asarray(flags, dtype=np.uint8)
    padding = (flags & FLAG_PADDING) != 0
    clean = np.where(padding, pad_id, ids)
    if noise == "msn":
        inputs = np.stack([noise_row(row, row_flags, span_length, rng) for row, row_flags in zip(clean, flags)])
    else:
        inputs = clean.copy()
    labels = np.where(padding, IGNORE_INDEX, clean)
    return {"input_ids": torch.from_numpy(inputs), "labels": torch.from_numpy(labels)}
