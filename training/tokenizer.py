"""Byte-level BPE tokenizer for code, with the FIM special tokens of the msn-onnx/1 contract.

Byte-level with no normalizer, so every text (unicode, emoji, CRLF, tabs) round-trips exactly.
Special tokens are added tokens (special=True): plain text never produces them.

CLI: python -m training.tokenizer --input DIR_OR_FILES... --vocab 8192 --out tokenizer.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

END_OF_TEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_MIDDLE = "<|fim_middle|>"
PAD = "<|fim_pad|>"
REPO_NAME = "<|repo_name|>"
FILE_SEP = "<|file_sep|>"
# Qwen2.5-Coder's names, so one prompt layout serves both. Order fixes the ids: <|endoftext|> is id 0
# (the contract's eos).
SPECIAL_TOKENS = [END_OF_TEXT, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, PAD, REPO_NAME, FILE_SEP]

DEFAULT_VOCAB_SIZE = 8192
DEFAULT_EXTENSIONS = (".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".c", ".h", ".java")


def new_byte_level_tokenizer() -> Tokenizer:
    """An untrained BPE with the contract's byte-level pipeline (no normalizer, no prefix space)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = None
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE, min_frequency: int = 2) -> Tokenizer:
    """Train a byte-level BPE of `vocab_size` tokens (special tokens and the 256 byte symbols included)."""
    tokenizer = new_byte_level_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    for token_id, token in enumerate(SPECIAL_TOKENS):
        assert tokenizer.token_to_id(token) == token_id, f"{token} must have id {token_id}"
    return tokenizer


def iter_source_files(inputs: Sequence[str | os.PathLike], extensions: Sequence[str] = DEFAULT_EXTENSIONS) -> Iterator[Path]:
    """Files named directly, plus files with a code extension found under named directories (sorted, so runs repeat)."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix in extensions:
                    yield child
        elif path.is_file():
            yield path


def read_texts(files: Iterable[Path], max_bytes: int | None = None) -> Iterator[str]:
    """UTF-8 texts of `files` (undecodable files skipped), stopping once `max_bytes` have been read."""
    total = 0
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        yield text
        total += len(text.encode("utf-8"))
        if max_bytes is not None and total >= max_bytes:
            return


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="+", required=True, help="files and/or directories of source code")
    parser.add_argument("--vocab", type=int, default=DEFAULT_VOCAB_SIZE)
    parser.add_argument("--max-bytes", type=int, default=None, help="stop reading input after this many bytes")
    parser.add_argument("--out", required=True, help="path of the tokenizer.json to write")
    args = parser.parse_args(argv)

    texts = read_texts(iter_source_files(args.input), args.max_bytes)
    tokenizer = train_tokenizer(texts, args.vocab)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(args.out)
    print(f"wrote {args.out}: vocab {tokenizer.get_vocab_size()}")


if __name__ == "__main__":
    main()
