"""Byte-level BPE tokenizer: exact round trips, special-token ids, special tokens never from plain text."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer

from training.tokenizer import END_OF_TEXT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, SPECIAL_TOKENS, main

TRICKY_TEXTS = [
    "",
    " leading space and trailing space ",
    "tabs\tinside\t\tand\ttrailing\t",
    "windows\r\nline\r\nendings\r\n",
    "lone\rcarriage return",
    "unicode: héllo wörld ñ ß Ω 日本語 한국어 עברית",
    "emoji: 🎉👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷",
    "control \x00\x01\x7f and non-breaking\u00a0space, zero width\u200b joiner",
    "    deeply\n        indented\n            code = {'a': [1, 2.5e-3, 0x1F]}\n\n\n",
    "surrogate-free astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚",
]


def round_trip(tokenizer: Tokenizer, text: str) -> str:
    return tokenizer.decode(tokenizer.encode(text).ids, skip_special_tokens=False)


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_round_trip_is_exact(small_tokenizer, text):
    assert round_trip(small_tokenizer, text) == text


def test_special_tokens_have_fixed_ids(small_tokenizer):
    assert [small_tokenizer.token_to_id(token) for token in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert small_tokenizer.token_to_id(END_OF_TEXT) == 0


def test_special_tokens_are_marked_special(small_tokenizer):
    added = json.loads(small_tokenizer.to_str())["added_tokens"]
    assert {token["content"] for token in added if token["special"]} == set(SPECIAL_TOKENS)


def test_plain_text_never_produces_special_ids(small_tokenizer, sample_code):
    texts = sample_code + TRICKY_TEXTS + ["<| endoftext |>", "<|fim_prefix", "fim_middle|>", "<||>"]
    special_ids = set(range(len(SPECIAL_TOKENS)))
    for text in texts:
        assert special_ids.isdisjoint(small_tokenizer.encode(text).ids), text


def test_fim_prompt_encodes_each_special_token_as_one_id(small_tokenizer):
    prompt = f"{FIM_PREFIX}def f(x):\n    {FIM_SUFFIX}\n    return y\n{FIM_MIDDLE}"
    ids = small_tokenizer.encode(prompt).ids
    assert ids[0] == small_tokenizer.token_to_id(FIM_PREFIX)
    assert ids[-1] == small_tokenizer.token_to_id(FIM_MIDDLE)
    assert ids.count(small_tokenizer.token_to_id(FIM_SUFFIX)) == 1
    assert round_trip(small_tokenizer, prompt) == prompt


def test_pipeline_is_byte_level_without_normalizer(small_tokenizer):
    spec = json.loads(small_tokenizer.to_str())
    assert spec["normalizer"] is None
    assert spec["pre_tokenizer"]["type"] == "ByteLevel"
    assert spec["pre_tokenizer"]["add_prefix_space"] is False
    assert spec["pre_tokenizer"]["trim_offsets"] is False
    assert spec["decoder"]["type"] == "ByteLevel"
    assert spec["model"]["type"] == "BPE"


def test_bpe_learns_merges_for_frequent_code(small_tokenizer):
    # "return" appears in most samples: it must be far fewer tokens than bytes.
    assert len(small_tokenizer.encode("        return self").ids) < 6


def test_cli_writes_a_loadable_tokenizer(tmp_path, sample_code):
    source_dir = tmp_path / "src"
    source_dir.mkdir()
    for index, text in enumerate(sample_code * 4):
        (source_dir / f"sample_{index}.py").write_text(text)
    out = tmp_path / "tok" / "tokenizer.json"
    main(["--input", str(source_dir), "--vocab", "320", "--out", str(out)])
    tokenizer = Tokenizer.from_file(str(out))
    assert tokenizer.get_vocab_size() <= 320
    assert round_trip(tokenizer, TRICKY_TEXTS[6]) == TRICKY_TEXTS[6]


def test_fixture_tokenizer_round_trips_real_code(fixture_dir):
    tokenizer = Tokenizer.from_file(str(fixture_dir / "tokenizer.json"))
    source = (fixture_dir.parents[2] / "training" / "tokenizer.py").read_text()
    for text in [source] + TRICKY_TEXTS:
        assert round_trip(tokenizer, text) == text
    # Code compresses: a trained 1k-vocab BPE needs well under one token per 2 bytes.
    assert len(tokenizer.encode(source).ids) < len(source.encode()) / 2
