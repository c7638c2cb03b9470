"""Repo-level training samples in Qwen2.5-Coder's layout, the prompt the editor builds:

    <|repo_name|>NAME\n<|file_sep|>PATH\nCHUNK\n ... <|file_sep|>PATH\n  CURRENT

CURRENT is a window of one file of the package, as FIM (PSM or SPM order) or plain text. The context
chunks come from OTHER files of the same package and are picked the way the editor's retriever picks
them: the chunks that share the most identifiers with the current window; in some samples the last
chunk is a near copy of the window itself (NEAR_COPY_SHARE). That is what teaches a small
model to copy names and lines from its context, which every use of workspace context needs.

FIM orders (both are declared in msn.json's `prompt` block):
  PSM  <|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>M<|endoftext|>
  SPM  <|fim_prefix|><|fim_suffix|>S<|fim_middle|>P M<|endoftext|>   (a keystroke changes only the end)
Split points: half uniform over characters (the usual recipe), half cursor-like (at a line's end, right
after its indentation, or inside it; the middle running to the end of that line or a few lines on, never blank), since that is what
the editor asks; a fifth of FIM samples drop the suffix, as at the end of a file.
The target part (where MSN noise may go) is the middle + <|endoftext|> of a FIM sample and the
window after its first token for a plain one; the loss covers every token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from training.fim import Sample, chunk_text

Encode = Callable[[str], Sequence[int]]
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
NEWLINE = re.compile(r"\n")
CONTEXT_CHUNK_CHARS = 900
CANDIDATE_FILES = 32  # other files of the package scored per current file (bounds the work in big packages)
END_OF_FILE_SHARE = 0.2  # FIM samples with no suffix: the cursor at the end of the file, where new code is written
# Samples whose context holds a near copy of the window (a tenth of its lines dropped), as if from another
# file: the editor's retriever puts similar code right before the cursor, and copying from the context is
# what a small model learns last (from other files' chunks alone, it had not after 15M tokens).
NEAR_COPY_SHARE = 0.15
LINE_END_SHARE = 0.5  # cursor-like splits at a line's end; the rest land inside the line, after its indentation
# Cursor-like splits right after a line's indentation, where the editor leaves the cursor after Enter. There the
# prefix ends in a token of whitespace alone ("\n    "), which running text never has (it tokenizes as "\n   " +
# " word"), so without such samples a small model answers the indented cursor with more indentation.
INDENT_SHARE = 0.0
# Uniform splits that land inside a line's leading whitespace (not at its start) move to its end: there the prefix
# also ends in a whitespace-only token, and a middle that goes on with more indentation teaches the model to answer
# the editor's indented cursor with more indentation (msn-code-v5 did, on 60-90% of held-out cursors).
SNAP_INDENTATION = False


@dataclass(frozen=True)
class SampleMix:
    """How often each kind of repo-level sample is drawn (the defaults are msn-code-v3's)."""
    line_end_share: float = LINE_END_SHARE
    near_copy_share: float = NEAR_COPY_SHARE
    indent_share: float = INDENT_SHARE
    snap_indentation: bool = SNAP_INDENTATION
NEAR_COPY_DROP = 0.1


@dataclass(frozen=True)
class RepoIds:
    """Token ids of the repo-level layout's special tokens."""

    prefix: int
    suffix: int
    middle: int
    end_of_text: int
    repo_name: int
    file_sep: int

    @staticmethod
    def from_tokenizer(tokenizer, names: Sequence[str]) -> "RepoIds":
        """`names`: prefix, suffix, middle, end-of-text, repo-name, file-separator token strings."""
        ids = []
        for name in names:
            token_id = tokenizer.token_to_id(name)
            if token_id is None:
                raise ValueError(f"tokenizer has no special token {name}")
            ids.append(token_id)
        return RepoIds(*ids)


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str


def identifiers(text: str) -> frozenset[str]:
    return frozenset(IDENTIFIER.findall(text))


def overlap_score(window: frozenset[str], chunk: frozenset[str]) -> float:
    """Shared identifiers, damped by the chunk's size so a long chunk does not win by size alone."""
    if not chunk:
        return 0.0
    return len(window & chunk) / (len(chunk) ** 0.5)


def pick_context(window_ids: frozenset[str], chunks: list[tuple[str, str, frozenset[str]]], budget_chars: int) -> list[tuple[str, str]]:
    """The best-scoring (path, chunk) pairs within `budget_chars`, best LAST (nearest the window)."""
    ranked = sorted(range(len(chunks)), key=lambda i: (-overlap_score(window_ids, chunks[i][2]), i))
    chosen, used = [], 0
    for index in ranked:
        path, text, ids = chunks[index]
        if overlap_score(window_ids, ids) <= 0:
            break
        if used + len(text) > budget_chars:
            continue
        chosen.append((path, text))
        used += len(text)
    return chosen[::-1]


def context_query(prefix: str, suffix: str, chars: int = 1500) -> str:
    """The text that picks context chunks, as the engine does (decoderEngine.ts contextQuery): the lines
    around the cursor without the line being typed."""
    line_start = prefix.rfind("\n") + 1
    line_end = suffix.find("\n")
    after = "" if line_end < 0 else suffix[line_end:line_end + chars // 3]
    return prefix[max(0, line_start - chars):line_start] + after


def cursor_split(text: str, rng: np.random.Generator, line_end_share: float = LINE_END_SHARE,
                 indent_share: float = INDENT_SHARE) -> tuple[int, int]:
    """Where an editor asks: at the end of a line (`line_end_share` of the time), right after its indentation
    (`indent_share`), or anywhere inside it after its indentation. The
    middle runs to the end of that line or up to 4 lines on, stopping before the last line's newline (the
    editor's suffix starts with the rest of the line, most often a newline), and it runs on to the next
    line while it is blank, so a cursor at a line's end learns to write the next line, never nothing."""
    line_starts = [0] + [m.end() for m in NEWLINE.finditer(text) if m.end() < len(text)]
    line = int(rng.integers(0, len(line_starts)))
    start = line_starts[line]
    line_end = _line_end(text, start)
    indent = start + len(text[start:line_end]) - len(text[start:line_end].lstrip())
    draw = rng.random()  # one draw for all three, so a zero indent_share reproduces earlier sample sets
    if draw < line_end_share:
        cursor = line_end
    elif draw < line_end_share + indent_share:
        cursor = indent
    else:
        cursor = int(rng.integers(indent, line_end + 1))
    end = line_end
    for _ in range(int(rng.integers(0, 5))):
        end = _line_end(text, end + 1) if end < len(text) else end
    while not text[cursor:end].strip() and end < len(text):
        end = _line_end(text, end + 1)
    if not text[cursor:end].strip():  # the last line's end: the middle is that line instead
        cursor = indent
    return cursor, end


def _line_end(text: str, start: int) -> int:
    """Index of the newline that ends the line holding `start` (or the text's end)."""
    newline = text.find("\n", start)
    return len(text) if newline < 0 else newline


def past_indentation(text: str, at: int) -> int:
    """`at`, or the end of the line's leading whitespace when `at` is inside it (after the line's start)."""
    line_start = text.rfind("\n", 0, at) + 1
    if at == line_start or text[line_start:at].strip(" \t"):
        return at
    end = at
    while end < len(text) and text[end] in " \t":
        end += 1
    return end


def uniform_split(text: str, rng: np.random.Generator, snap_indentation: bool = SNAP_INDENTATION) -> tuple[int, int]:
    """Two uniform cut points; redrawn (a few times) while the middle is blank, so a sample teaches text."""
    for _ in range(8):
        first, second = sorted(int(x) for x in rng.integers(0, len(text) + 1, size=2))
        if snap_indentation:
            first = past_indentation(text, first)
            second = max(second, first)
        if text[first:second].strip():
            break
    return first, second


def near_copy(window: str, rng: np.random.Generator) -> str:
    """The window with about NEAR_COPY_DROP of its lines dropped (similar code, not the same)."""
    lines = window.splitlines(keepends=True)
    kept = [line for line, draw in zip(lines, rng.random(len(lines))) if draw >= NEAR_COPY_DROP]
    return "".join(kept).rstrip("\n")


def header_ids(repo: str, context: list[tuple[str, str]], path: str, encode: Encode, special: RepoIds) -> list[int]:
    ids = [special.repo_name, *encode(repo + "\n")]
    for context_path, chunk in context:
        ids += [special.file_sep, *encode(f"{context_path}\n{chunk}\n")]
    return ids + [special.file_sep, *encode(path + "\n")]


def window_sample(header: list[int], window: str, encode: Encode, special: RepoIds, rng: np.random.Generator,
                  fim_rate: float, mix: SampleMix = SampleMix()) -> Sample:
    """The current window after `header`: PSM, SPM (each fim_rate / 2) or plain."""
    draw = rng.random()
    if draw >= fim_rate:
        body = [*encode(window), special.end_of_text]
        return Sample(ids=header + body, target_start=len(header) + min(1, len(body)), target_end=len(header) + len(body),
                      is_fim=False)
    if rng.random() < 0.5:
        first, second = cursor_split(window, rng, mix.line_end_share, mix.indent_share)
    else:
        first, second = uniform_split(window, rng, mix.snap_indentation)
    at_end_of_file = rng.random() < END_OF_FILE_SHARE
    prefix, middle = encode(window[:first]), encode(window[first:second])
    suffix = [] if at_end_of_file else encode(window[second:])
    if draw < fim_rate / 2:  # PSM
        prompt = [special.prefix, *prefix, special.suffix, *suffix, special.middle]
    else:  # SPM: the prefix sits right before the middle
        prompt = [special.prefix, special.suffix, *suffix, special.middle, *prefix]
    ids = header + prompt + [*middle, special.end_of_text]
    return Sample(ids=ids, target_start=len(header) + len(prompt), target_end=len(ids), is_fim=True)


def package_samples(repo: str, files: list[SourceFile], encode: Encode, special: RepoIds, rng: np.random.Generator,
                    window_chars: int, context_chars: int, fim_rate: float, mix: SampleMix = SampleMix()) -> list[Sample]:
    """One sample per window of every file of a package, each with context chunks from its other files."""
    chunks_by_file = []
    for file in files:
        chunks_by_file.append([(file.path, chunk, identifiers(chunk)) for chunk in chunk_text(file.text, CONTEXT_CHUNK_CHARS)])
    samples = []
    for index, file in enumerate(files):
        other_files = [other for other in range(len(files)) if other != index]
        if len(other_files) > CANDIDATE_FILES:
            other_files = sorted(rng.choice(other_files, size=CANDIDATE_FILES, replace=False).tolist())
        others = [chunk for other in other_files for chunk in chunks_by_file[other]]
        for window in chunk_text(file.text, window_chars):
            budget = int(rng.integers(0, context_chars + 1))  # varying context, none included
            context = pick_context(identifiers(window), others, budget) if budget and others else []
            if other_files and rng.random() < mix.near_copy_share:  # nearest the window, where the best chunk goes
                context.append((files[int(rng.choice(other_files))].path, near_copy(window, rng)))
            header = header_ids(repo, context, file.path, encode, special)
            samples.append(window_sample(header, window, encode, special, rng, fim_rate, mix))
    return samples
