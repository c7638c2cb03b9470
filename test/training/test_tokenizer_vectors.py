"""The exporter's prompt-format detection on the real tokenizers of code models.

The tokenizers are llama.cpp's vocab files (Qwen1.5 for "qwen2", DeepSeek-Coder 6.7B, StarCoder2-3B,
Llama-3 8B for "llama-bpe"), turned into tokenizer.json by training.tokenizer_vectors, which
scripts/setup.sh runs. Missing files fail these tests: every test run starts with setup.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pytest
from tokenizers import Tokenizer

from conftest import REPO_ROOT
from training.export import bos_token_prepended, prompt_block, prompt_family
from training.prompt_formats import PromptFormatError, token_id
from training.tokenizer_vectors import VOCABS, mismatches, read_cases, vocab_files

VECTORS_DIR = REPO_ROOT / ".cache" / "tokenizer-vectors"
SETUP_HINT = "run bash scripts/setup.sh (or .venv/bin/python -m training.tokenizer_vectors)"

DEEPSEEK_FIM = {"prefix": "<\uff5cfim\u2581begin\uff5c>", "suffix": "<\uff5cfim\u2581hole\uff5c>",
                "middle": "<\uff5cfim\u2581end\uff5c>", "eot": "<\uff5cend\u2581of\u2581sentence\uff5c>"}
STARCODER_FIM = {"prefix": "<fim_prefix>", "suffix": "<fim_suffix>", "middle": "<fim_middle>", "eot": "<|endoftext|>"}
# family, the prompt block the exporter writes, and the ids of the FIM strings (what the model was trained on)
FIM_TOKENIZERS = {
    "deepseek-coder": ("deepseek-coder", {"fim": DEEPSEEK_FIM, "fim_orders": ["psm"], "repo": None},
                       {"prefix": 32016, "suffix": 32015, "middle": 32017, "eot": 32014}),
    "starcoder": ("starcoder", {"fim": STARCODER_FIM, "fim_orders": ["spm", "psm"],
                                "repo": {"repo_name": "<repo_name>", "file_sep": "<file_sep>"}},
                  {"prefix": 1, "suffix": 3, "middle": 2, "eot": 0}),
}


def vocab_dir(name: str):
    folder = VECTORS_DIR / name
    assert (folder / "tokenizer.json").is_file(), f"{folder / 'tokenizer.json'} is missing: {SETUP_HINT}"
    return folder


@lru_cache(maxsize=None)
def tokenizer_text(name: str) -> str:
    return (vocab_dir(name) / "tokenizer.json").read_text(encoding="utf-8")


def tokenizer_json(name: str) -> dict:
    return json.loads(tokenizer_text(name))


@pytest.mark.parametrize("name", VOCABS)
def test_converted_tokenizer_reproduces_llama_cpp_vectors(name):
    """The Rust reference on the converted file: a difference the Node test finds is then the Node side's."""
    _, inp, out = vocab_files(name)
    cases = read_cases(vocab_dir(name) / inp, vocab_dir(name) / out)
    assert len(cases) >= 40
    assert mismatches(Tokenizer.from_str(tokenizer_text(name)), cases) == []


@pytest.mark.parametrize("name", sorted(FIM_TOKENIZERS))
def test_exporter_finds_the_fim_tokens_of_real_tokenizers(name):
    family, block, ids = FIM_TOKENIZERS[name]
    tokenizer = tokenizer_json(name)
    assert prompt_family(tokenizer).name == family
    assert prompt_block(tokenizer) == block
    assert {role: token_id(tokenizer, token) for role, token in block["fim"].items()} == ids


# llama.cpp's "qwen2" vocabulary is Qwen1.5's: its ids 151646.. are unnamed, so Qwen2.5-Coder's
# <|fim_prefix|> (151659) and the repo tokens are not in it; no llama.cpp vocab file has them.
@pytest.mark.parametrize("name", ["llama-bpe", "qwen2"])
def test_exporter_refuses_tokenizers_without_fim_tokens(name):
    tokenizer = tokenizer_json(name)
    assert token_id(tokenizer, "<|fim_prefix|>") is None
    with pytest.raises(PromptFormatError, match="the tokenizer has no FIM tokens of a known family .*needs a FIM model"):
        prompt_block(tokenizer)


# Llama-3 is left out: its GGUF does not say that its tokenizer adds <|begin_of_text|>, so the converted one does not.
@pytest.mark.parametrize("name, bos, prepended", [("deepseek-coder", 32013, 32013), ("starcoder", 0, None),
                                                   ("qwen2", 151643, None)])
def test_bos_is_declared_only_where_the_tokenizer_prepends_it(name, bos, prepended):
    """msn.json's bos_token_id: DeepSeek-Coder's tokenizer puts BOS first, the others name one they never add."""
    assert bos_token_prepended(tokenizer_json(name), bos) == prepended
