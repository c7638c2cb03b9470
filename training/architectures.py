"""Which Hugging Face causal LMs the msn-onnx/1 exporter reproduces exactly, and the loader for them.

The exporter (training/export.py) runs each decoder layer's own norm, projection and MLP modules through the
layer code of training/code_model.py, which re-implements only what the contract changes: rotary embedding
from explicit position ids, attention over [cache rows + new rows] under the caller's additive mask, and the
tied/untied output projection.
So an architecture is exportable exactly when its layers are pre-norm residual blocks
(h + attn(norm1(h)), then h + mlp(norm2(h))) whose attention is plain (GQA) softmax attention with
static rotary frequencies and no window shorter than the positions the export declares. Everything
else is refused, before any weights are loaded, with one sentence naming the reason.
"""

from __future__ import annotations

from pathlib import Path

# Rotary types whose frequencies are fixed at load time; "dynamic" and "longrope" change with the
# sequence length, which a fixed graph fed only position ids cannot follow.
STATIC_ROPE_TYPES = ("default", "linear", "llama3", "yarn")


class UnsupportedModelError(ValueError):
    """The checkpoint (its architecture or a config feature) cannot be exported exactly."""


# Supported HF class -> model_type, and what its layers add over plain Llama (all of it in reused modules).
ARCHITECTURES = {
    # RMSNorm, SiLU gated MLP; optional attention/MLP biases; rope linear (DeepSeek-Coder), llama3
    # (Llama-3.2, SmolLM2) or yarn.
    "LlamaForCausalLM": "llama",
    # q/k/v projection biases, often tied embeddings, GQA; a sliding window on some layers when
    # use_sliding_window is set (Qwen2.5-Coder ships it off).
    "Qwen2ForCausalLM": "qwen2",
    # LayerNorm with bias, c_fc/c_proj GELU MLP with biases, attention biases, one sliding window
    # for every layer (4096 in the released StarCoder2 models).
    "Starcoder2ForCausalLM": "starcoder2",
}
BY_MODEL_TYPE = {model_type: name for name, model_type in ARCHITECTURES.items()}


def architecture_of(config) -> str:
    """The HF class a config describes: its `architectures` field, else the class for its model_type."""
    names = getattr(config, "architectures", None) or []
    if names:
        return names[0]
    model_type = getattr(config, "model_type", "")
    return BY_MODEL_TYPE.get(model_type, f"<model_type {model_type!r}>")


def windowed_layers(config) -> list[int]:
    """Indices of layers whose attention is limited to a sliding window (none when sliding_window is unset)."""
    window = getattr(config, "sliding_window", None)
    if window is None:
        return []
    layer_types = getattr(config, "layer_types", None)
    if layer_types is None:  # Starcoder2: one window for every layer
        return list(range(config.num_hidden_layers))
    return [i for i, kind in enumerate(layer_types) if kind == "sliding_attention"]


def check_exportable(config, architecture: str | None = None, max_positions: int | None = None) -> int:
    """Raise UnsupportedModelError unless the exporter reproduces this model exactly; returns max_positions.

    `max_positions`: the positions msn.json will declare (the engine never goes beyond them); default
    the config's max_position_embeddings. A sliding window at least that long never hides anything.
    """
    architecture = architecture or architecture_of(config)
    check_architecture(config, architecture)
    return check_positions(config, architecture, max_positions)


def check_architecture(config, architecture: str) -> None:
    """Everything but the positions: the class, quantization, head grouping, rotary type, layer types."""
    quantization = getattr(config, "quantization_config", None)
    if quantization:
        method = quantization.get("quant_method", "?") if isinstance(quantization, dict) else type(quantization).__name__
        raise UnsupportedModelError(
            f"the checkpoint is quantized ({method}); the exporter writes float32 weights, so export the unquantized checkpoint")
    if architecture not in ARCHITECTURES:
        raise UnsupportedModelError(
            f"architecture {architecture} is not supported by the msn-onnx/1 exporter (supported: {', '.join(ARCHITECTURES)})")
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    if heads % kv_heads:
        raise UnsupportedModelError(f"{architecture}: {heads} attention heads are not a multiple of {kv_heads} key/value heads")
    rope_type = (getattr(config, "rope_parameters", None) or {}).get("rope_type", "default")
    if rope_type not in STATIC_ROPE_TYPES:
        raise UnsupportedModelError(
            f"{architecture}: rope type {rope_type!r} depends on the sequence length; not exportable to a fixed graph")
    layer_types = set(getattr(config, "layer_types", None) or ())
    if layer_types - {"full_attention", "sliding_attention"}:
        raise UnsupportedModelError(f"{architecture}: layer types {sorted(layer_types)} are not plain attention layers")


def check_positions(config, architecture: str, max_positions: int | None) -> int:
    limit = config.max_position_embeddings
    positions = limit if max_positions is None else max_positions
    if not 0 < positions <= limit:
        raise UnsupportedModelError(f"{architecture}: --max-positions {positions} is outside 1..{limit} (max_position_embeddings)")
    layers = windowed_layers(config)
    window = getattr(config, "sliding_window", None)
    if layers and window < positions:
        # The contract attends over the whole cache; with a window, tokens further back than `window`
        # would be visible in the graph but not in the model. Declaring at most `window` positions is exact.
        raise UnsupportedModelError(
            f"{architecture}: {len(layers)} of {config.num_hidden_layers} layers use a sliding attention window of {window} tokens, shorter "
            f"than the {positions} positions the export would declare; pass --max-positions {window} (or less) to export it exactly")
    return positions


def load_causal_lm(checkpoint: Path, max_positions: int | None = None):
    """(model in float32, declared max positions); refuses before loading weights. A folder of this project's
    model shape loads as training/code_model.py's CodeModel, any other as its own transformers class."""
    import torch
    import transformers
    from transformers import AutoConfig

    from training.code_model import CodeModel, unlike_own_model
    from training.prev_token import PREV_TOKEN_FILE

    if (Path(checkpoint) / PREV_TOKEN_FILE).exists():
        # The msn-onnx/1 graph has no previous-token input yet: exporting would silently drop the path's W.
        raise UnsupportedModelError(f"it has a previous-token path ({PREV_TOKEN_FILE}), which the msn-onnx/1 export does not carry")
    config = AutoConfig.from_pretrained(checkpoint)
    architecture = architecture_of(config)
    positions = check_exportable(config, architecture, max_positions)
    if architecture == "LlamaForCausalLM" and unlike_own_model(config) is None:
        return CodeModel.from_pretrained(checkpoint).eval(), positions
    model_class = getattr(transformers, architecture)
    model = model_class.from_pretrained(checkpoint, dtype=torch.float32)
    return model.eval(), positions
