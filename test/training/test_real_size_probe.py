"""training.real_size_probe's pieces at a tiny size (the probe itself writes GBs: docs/decoding.md)."""

from __future__ import annotations

from transformers import Qwen2ForCausalLM

from training.export import prompt_block
from training.real_size_probe import QWEN25_CODER_05B, build_random_model, with_fim_tokens

TINY = {**QWEN25_CODER_05B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32}


def test_random_model_has_the_shape_asked_for_and_is_reproducible():
    model = build_random_model(TINY, seed=3)
    assert isinstance(model, Qwen2ForCausalLM)
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_key_value_heads, config.vocab_size) == (2, 64, 2, 32)
    assert config.tie_word_embeddings and model.lm_head.weight is model.model.embed_tokens.weight
    assert config.rope_parameters["rope_theta"] == 1_000_000.0
    again = build_random_model(TINY, seed=3)
    assert all((a == b).all() for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_fim_tokens_replace_padding_entries_so_the_exporter_finds_qwen_prompts():
    pads = {index: f"[PAD{index}]" for index in range(4, 10)}
    tokenizer = {
        "added_tokens": [{"id": 3, "content": "<|endoftext|>", "special": True},
                         *({"id": index, "content": pad, "special": False} for index, pad in pads.items())],
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "<|endoftext|>": 3, **{pad: index for index, pad in pads.items()}}},
    }
    names = dict(zip(range(4, 10), ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]))
    named = with_fim_tokens(tokenizer, names)
    assert named["model"]["vocab"]["<|fim_prefix|>"] == 4 and "[PAD4]" not in named["model"]["vocab"]
    assert len(named["model"]["vocab"]) == len(tokenizer["model"]["vocab"])
    assert all(added["special"] for added in named["added_tokens"])
    block = prompt_block(named)
    assert block["fim"]["prefix"] == "<|fim_prefix|>" and block["repo"] == {"repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>"}
    assert tokenizer["added_tokens"][1]["content"] == "[PAD4]"  # the input is left as it was
