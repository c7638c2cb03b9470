"""Small Llama configurations used by the project (test fixture and the shipped code model)."""

from __future__ import annotations

from transformers import LlamaConfig

from training.tokenizer import END_OF_TEXT, PAD, SPECIAL_TOKENS

EOS_TOKEN_ID = SPECIAL_TOKENS.index(END_OF_TEXT)
PAD_TOKEN_ID = SPECIAL_TOKENS.index(PAD)

# name -> LlamaConfig keyword arguments (vocab_size may be overridden to match a tokenizer).
PRESETS: dict[str, dict] = {
    # Random-init test model: GQA (kv heads != heads) so the engine is tested on it.
    "fixture": dict(
        num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
        intermediate_size=176, vocab_size=1024, max_position_embeddings=2048,
        tie_word_embeddings=True,
    ),
    # ~5M parameters: the size this CPU can train compute-optimally in a few hours.
    "5m": dict(
        num_hidden_layers=4, hidden_size=256, num_attention_heads=4, num_key_value_heads=4,
        intermediate_size=688, vocab_size=8192, max_position_embeddings=2048,
        tie_word_embeddings=True,
    ),
    # The default model: 5m's width and depth with ONE key/value head (multi-query attention), because
    # decoding on a CPU at a 2,000-token past is dominated by KV-cache traffic (4x less of it).
    "5m-mqa": dict(
        num_hidden_layers=4, hidden_size=256, num_attention_heads=4, num_key_value_heads=1,
        intermediate_size=768, vocab_size=8192, max_position_embeddings=1024,  # the trained row length
        tie_word_embeddings=True,
    ),
    # ~17M parameters: for a longer training budget.
    "17m": dict(
        num_hidden_layers=6, hidden_size=384, num_attention_heads=6, num_key_value_heads=6,
        intermediate_size=1024, vocab_size=8192, max_position_embeddings=2048,
        tie_word_embeddings=True,
    ),
}


def make_config(preset: str, vocab_size: int | None = None, **overrides) -> LlamaConfig:
    """A LlamaConfig for `preset`; `vocab_size` and any other keyword override the preset."""
    if preset not in PRESETS:
        raise KeyError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
    kwargs = dict(PRESETS[preset])
    if vocab_size is not None:
        kwargs["vocab_size"] = vocab_size
    kwargs.update(overrides)
    return LlamaConfig(
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        hidden_act="silu",
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=None,
        eos_token_id=EOS_TOKEN_ID,
        pad_token_id=PAD_TOKEN_ID,
        **kwargs,
    )


def count_parameters(model) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    seen, total = set(), 0
    for parameter in model.parameters():
        if id(parameter) not in seen:
            seen.add(id(parameter))
            total += parameter.numel()
    return total
