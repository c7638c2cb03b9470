"""Fill-in-the-middle (PSM) transformation of one document chunk into a training sample.

Split points are chosen at CHARACTER level (uniform over the chunk's characters, as in the
usual FIM recipes), then the three parts are tokenized separately and laid out in PSM order:

    <|fim_prefix|> prefix <|fim_suffix|> suffix <|fim_middle|> middle <|endoftext|>

which is exactly the engine's FIM prompt followed by the answer. A plain sample is the chunk's
tokens followed by <|endoftext|>.

Every sample also carries its TARGET PART, the tokens the MSN collator may corrupt (the paper
corrupts the response, never the prompt):
  - FIM sample: the middle and its closing <|endoftext|> (what the model writes after the prompt);
  - plain sample: everything after the first token. A plain chunk of code has no prompt, so the
    whole continuation is "response"; the first token is excluded because a noise token must be
    drawn from EARLIER tokens of the same sample and the first one has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from training.tokenizer import END_OF_TEXT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

Encode = Callable[[str], Sequence[int]]
# Our tokenizer's strings (also Qwen2.5-Coder's); other models name them differently (--fim-tokens).
DEFAULT_FIM_TOKENS = (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, END_OF_TEXT)


@dataclass(frozen=True)
class SpecialIds:
    """Token ids of the FIM layout's special tokens."""

    prefix: int
    suffix: int
    middle: int
    end_of_text: int

    @staticmethod
    def from_tokenizer(tokenizer, names: Sequence[str] = DEFAULT_FIM_TOKENS) -> "SpecialIds":
        """Ids of the (prefix, suffix, middle, end-of-text) token strings `names` in `tokenizer`."""

        def id_of(token: str) -> int:
            token_id = tokenizer.token_to_id(token)
            if token_id is None:
                raise ValueError(f"tokenizer has no special token {token}")
            return token_id

        return SpecialIds(*(id_of(name) for name in names))


@dataclass(frozen=True)
class Sample:
    """Token ids of one training sample and its target part ids[target_start:target_end]."""

    ids: list[int]
    target_start: int
    target_end: int
    is_fim: bool


def split_points(length: int, rng: np.random.Generator) -> tuple[int, int]:
    """Two sorted character offsets in [0, length], each uniform: prefix | middle | suffix."""
    first, second = sorted(int(x) for x in rng.integers(0, length + 1, size=2))
    return first, second


def fim_sample(prefix: str, middle: str, suffix: str, encode: Encode, special: SpecialIds) -> Sample:
    """PSM layout of explicit parts; the target part is the middle plus its <|endoftext|>."""
    prompt = [special.prefix, *encode(prefix), special.suffix, *encode(suffix), special.middle]
    ids = prompt + [*encode(middle), special.end_of_text]
    return Sample(ids=ids, target_start=len(prompt), target_end=len(ids), is_fim=True)


def plain_sample(text: str, encode: Encode, special: SpecialIds) -> Sample:
    """Text then <|endoftext|>; the target part is everything after the first token."""
    ids = [*encode(text), special.end_of_text]
    return Sample(ids=ids, target_start=min(1, len(ids)), target_end=len(ids), is_fim=False)


def make_sample(text: str, encode: Encode, special: SpecialIds, rng: np.random.Generator, fim_rate: float = 0.5) -> Sample:
    """With probability `fim_rate` a PSM sample at uniform character split points, else a plain one."""
    if rng.random() < fim_rate:
        first, second = split_points(len(text), rng)
        return fim_sample(text[:first], text[first:second], text[second:], encode, special)
    return plain_sample(text, encode, special)


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Cut a document into chunks of at most ~max_chars at line boundaries (a longer line is cut hard)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        while len(line) > max_chars:
            if current:
                chunks.append("".join(current))
                current, size = [], 0
            chunks.append(line[:max_chars])
            line = line[max_chars:]
        if size + len(line) > max_chars and current:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        chunks.append("".join(current))
    return [chunk for chunk in chunks if chunk]
