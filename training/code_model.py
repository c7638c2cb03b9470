"""The project's own model, in one definition: a small Llama-shape decoder (the presets of
training/model_config.py) with the optional previous-token path (training/prev_token.py).

Its layers run two ways, with the same modules and weights:
- causal (training, validation loss, scoring): rows of a batch, each attending to its own earlier positions,
  through PyTorch's fused scaled_dot_product_attention;
- over a cache (the msn-onnx/1 graph that training/export.py traces, and KV-cached greedy decoding): batch 1,
  new rows at explicit positions under an additive mask over [cached rows + new rows], returning the new rows'
  keys (rotary applied) and values. Softmax in float32 (or wider); the query heads that share a key/value
  head are grouped instead of repeating the cache.
`DecoderLayer.reusing` builds the same layer around a Hugging Face layer's modules, which is how the exporter
runs the other families it supports (training/architectures.py) with their own norms and MLPs.

Stored as a Hugging Face folder: config.json (a LlamaConfig) and model.safetensors under LlamaForCausalLM's
parameter names, so `LlamaForCausalLM.from_pretrained` reads what `save_pretrained` writes and `from_pretrained`
reads every checkpoint the trainer wrote with transformers. The parameters are registered in
LlamaForCausalLM's order, so the optimizer states in the checkpoint.pt files it wrote still line up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from transformers import LlamaConfig

from training.contract import MASK_VALUE
from training.prev_token import PREV_TOKEN_FILE, with_previous_tokens

WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"


# ---------------------------------------------------------------- layers


def rotate_half(x: torch.Tensor, half: int) -> torch.Tensor:
    # `half` is a Python constant (not x.shape[-1] // 2) so the traced graph slices with constants.
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotary(position_ids: torch.Tensor, inv_freq: torch.Tensor, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [batch, q, 1, head_dim] of the rotary embedding at `position_ids` [batch, q]."""
    freqs = position_ids.unsqueeze(-1).float() * inv_freq  # [batch, q, dim/2]
    angles = torch.cat((freqs, freqs), dim=-1).unsqueeze(2)
    return angles.cos() * scale, angles.sin() * scale


def default_inv_freq(config: LlamaConfig) -> torch.Tensor:
    """The unscaled rotary frequencies, computed as transformers computes them (the same float32 values)."""
    dim = head_dim_of(config)
    base = (getattr(config, "rope_parameters", None) or {}).get("rope_theta", getattr(config, "rope_theta", 10000.0))
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))


class RMSNorm(nn.Module):
    """Llama's RMSNorm: statistics in float32, the weight applied in the input's dtype."""

    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.variance_epsilon = eps

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        dtype = hidden.dtype
        hidden = hidden.to(torch.float32)
        variance = hidden.pow(2).mean(-1, keepdim=True)
        hidden = hidden * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden.to(dtype)


class GatedMLP(nn.Module):
    """Llama's MLP: down(silu(gate(x)) * up(x))."""

    def __init__(self, hidden: int, inner: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inner, bias=False)
        self.up_proj = nn.Linear(hidden, inner, bias=False)
        self.down_proj = nn.Linear(inner, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Attention(nn.Module):
    """Multi-head attention with grouped key/value heads and rotary positions (causal, or over a cache)."""

    def __init__(self, q_proj: nn.Module, k_proj: nn.Module, v_proj: nn.Module, o_proj: nn.Module,
                 num_heads: int, num_kv_heads: int, head_dim: int, scaling: float):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = q_proj, k_proj, v_proj, o_proj
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.group = num_heads // num_kv_heads
        self.scaling = scaling

    def project(self, hidden, cos, sin, rows: int):
        """Queries and keys (rotary applied) and values, [rows, q, heads, head_dim]."""
        dim = self.head_dim
        query = self.q_proj(hidden).view(rows, -1, self.num_heads, dim)
        key = self.k_proj(hidden).view(rows, -1, self.num_kv_heads, dim)
        value = self.v_proj(hidden).view(rows, -1, self.num_kv_heads, dim)
        query = query * cos + rotate_half(query, dim // 2) * sin
        key = key * cos + rotate_half(key, dim // 2) * sin
        return query, key, value

    def forward(self, hidden, cos, sin, mask=None, past_key=None, past_value=None):
        """(output, new keys, new values). Without `mask`: causal over the rows of the batch. With it: batch 1,
        the new rows attend to [past rows + new rows] under the additive mask [1, 1, q, past + q]."""
        if mask is None:
            return self.causal(hidden, cos, sin)
        return self.over_cache(hidden, cos, sin, mask, past_key, past_value)

    def causal(self, hidden, cos, sin):
        rows = hidden.shape[0]
        query, key, value = self.project(hidden, cos, sin, rows)
        context = F.scaled_dot_product_attention(
            query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2),
            is_causal=True, scale=self.scaling, enable_gqa=self.group > 1,
        )  # [rows, heads, q, dim]
        context = context.transpose(1, 2).reshape(rows, -1, self.num_heads * self.head_dim)
        return self.o_proj(context), key, value

    def over_cache(self, hidden, cos, sin, mask, past_key, past_value):
        # Written for the ONNX trace: batch 1 and every reshape from constants.
        kv, group, dim = self.num_kv_heads, self.group, self.head_dim
        query, new_key, new_value = self.project(hidden, cos, sin, 1)
        keys = torch.cat((past_key, new_key), dim=1)  # [1, T, kv, dim]
        values = torch.cat((past_value, new_value), dim=1)
        # Group the query heads that share a kv head instead of repeating the cache: [1, kv, group*q, dim].
        grouped_query = query.view(1, -1, kv, group, dim).permute(0, 2, 3, 1, 4).reshape(1, kv, -1, dim)
        scores = torch.matmul(grouped_query, keys.permute(0, 2, 3, 1)) * self.scaling  # [1, kv, group*q, T]
        scores = scores + mask.repeat(1, 1, group, 1)  # rows ordered (group, q), like grouped_query
        # Softmax in float32 at least (bf16 scores would round the probabilities), float64 kept as it is.
        probs = torch.softmax(scores.to(torch.promote_types(scores.dtype, torch.float32)), dim=-1).to(values.dtype)
        context = torch.matmul(probs, values.permute(0, 2, 1, 3))  # [1, kv, group*q, dim]
        context = context.view(1, kv, group, -1, dim).permute(0, 3, 1, 2, 4).reshape(1, -1, self.num_heads * dim)
        return self.o_proj(context), new_key, new_value


class DecoderLayer(nn.Module):
    """A pre-norm residual block: h + attn(norm1(h)), then h + mlp(norm2(h)).

    Submodules in LlamaDecoderLayer's names and order (self_attn, mlp, input_layernorm, post_attention_layernorm).
    """

    def __init__(self, self_attn: Attention, mlp: nn.Module, input_layernorm: nn.Module, post_attention_layernorm: nn.Module):
        super().__init__()
        self.self_attn = self_attn
        self.mlp = mlp
        self.input_layernorm = input_layernorm
        self.post_attention_layernorm = post_attention_layernorm

    @classmethod
    def llama(cls, config: LlamaConfig) -> "DecoderLayer":
        hidden, heads, kv, dim = config.hidden_size, config.num_attention_heads, config.num_key_value_heads, head_dim_of(config)
        attention = Attention(
            nn.Linear(hidden, heads * dim, bias=False), nn.Linear(hidden, kv * dim, bias=False),
            nn.Linear(hidden, kv * dim, bias=False), nn.Linear(heads * dim, hidden, bias=False),
            heads, kv, dim, dim**-0.5,
        )
        return cls(attention, GatedMLP(hidden, config.intermediate_size),
                   RMSNorm(hidden, config.rms_norm_eps), RMSNorm(hidden, config.rms_norm_eps))

    @classmethod
    def reusing(cls, hf_layer: nn.Module, num_heads: int, num_kv_heads: int, head_dim: int) -> "DecoderLayer":
        """The layer around a Hugging Face decoder layer's own modules (same weights): its norms and MLP run
        as in the model (RMSNorm/SiLU for Llama and Qwen2, LayerNorm/GELU for Starcoder2), projection biases
        come with its nn.Linear modules."""
        hf_attention = hf_layer.self_attn
        attention = Attention(
            hf_attention.q_proj, hf_attention.k_proj, hf_attention.v_proj, hf_attention.o_proj,
            num_heads, num_kv_heads, head_dim, float(getattr(hf_attention, "scaling", head_dim**-0.5)),
        )
        return cls(attention, hf_layer.mlp, hf_layer.input_layernorm, hf_layer.post_attention_layernorm)

    def forward(self, hidden, cos, sin, mask=None, past_key=None, past_value=None):
        attended, key, value = self.self_attn(self.input_layernorm(hidden), cos, sin, mask, past_key, past_value)
        hidden = hidden + attended
        hidden = hidden + self.mlp(self.post_attention_layernorm(hidden))
        return hidden, key, value


# ---------------------------------------------------------------- the model


def head_dim_of(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def unlike_own_model(config) -> str | None:
    """Why a Hugging Face config is not this model's shape (None when it is): it must be a Llama with
    SiLU, no biases and unscaled rotary embeddings over whole heads."""
    if getattr(config, "model_type", None) != "llama":
        return f"model_type {getattr(config, 'model_type', None)!r} is not llama"
    rope = getattr(config, "rope_parameters", None) or {}
    checks = {
        "hidden_act is not silu": config.hidden_act != "silu",
        "attention or MLP biases": bool(getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False)),
        f"rope type {rope.get('rope_type')!r}": rope.get("rope_type", "default") != "default",
        "head_dim differs from hidden_size / heads": head_dim_of(config) * config.num_attention_heads != config.hidden_size,
        "pretraining_tp > 1": getattr(config, "pretraining_tp", 1) != 1,
    }
    reasons = [reason for reason, failed in checks.items() if failed]
    return ", ".join(reasons) or None


@dataclass
class CausalLMOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None


@dataclass
class KVCache:
    """Keys and values of the rows decoded so far, per layer [1, past, kv_heads, head_dim], and the last token
    (the previous token of the next pass's first position)."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    last_token: int

    @property
    def length(self) -> int:
        return self.keys[0].shape[1]


class DecoderStack(nn.Module):
    """The embedding, the layers and the final norm: LlamaForCausalLM's `model.` prefix."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.layers = nn.ModuleList(DecoderLayer.llama(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class CodeModel(nn.Module):
    """The project's own causal LM (see the module's docstring); `prev_token_path` adds W (zero at the start)."""

    def __init__(self, config: LlamaConfig, prev_token_path: bool = False):
        super().__init__()
        reason = unlike_own_model(config)
        if reason:
            raise ValueError(f"not this project's model shape: {reason}")
        self.config = config
        with torch.device("meta"):  # skip torch's default initialisation: _init_weights draws every weight
            self.model = DecoderStack(config)
            self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.to_empty(device="cpu")
        self.prev_proj = None
        self.register_buffer("inv_freq", default_inv_freq(config), persistent=False)
        self.apply(self._init_weights)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        if prev_token_path:
            self.add_prev_token_path()

    def _init_weights(self, module: nn.Module) -> None:
        # transformers' scheme for Llama: normal(0, initializer_range), the padding row zero, norms one.
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, RMSNorm):
            nn.init.ones_(module.weight)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()

    def add_prev_token_path(self) -> None:
        """The previous-token path with W = 0 (a function-preserving warm start); registered last, after
        LlamaForCausalLM's parameters, as the former wrapper did."""
        if self.prev_proj is None:
            hidden = self.config.hidden_size
            weight = self.model.embed_tokens.weight
            self.prev_proj = nn.Linear(hidden, hidden, bias=False, device=weight.device, dtype=weight.dtype)
            nn.init.zeros_(self.prev_proj.weight)

    @property
    def prev_token_path(self) -> bool:
        return self.prev_proj is not None

    def input_embeddings(self, input_ids: torch.Tensor, prev_input_ids: torch.Tensor | None = None) -> torch.Tensor:
        if self.prev_proj is None:
            return self.model.embed_tokens(input_ids)
        return with_previous_tokens(self.model.embed_tokens, self.prev_proj, input_ids, prev_input_ids)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None,
                prev_input_ids: torch.Tensor | None = None) -> CausalLMOutput:
        """Causal pass over rows [batch, T]; with `labels`, the mean next-token loss (-100 ignored)."""
        hidden = self.input_embeddings(input_ids, prev_input_ids)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        cos, sin = rotary(positions, self.inv_freq)
        for layer in self.model.layers:
            hidden, _, _ = layer(hidden, cos, sin)
        logits = self.lm_head(self.model.norm(hidden))
        return CausalLMOutput(logits, None if labels is None else next_token_loss(logits, labels))

    def extend(self, input_ids: list[int], cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """Logits [q, vocab] of `input_ids` after the cached rows (causal among themselves), and the longer
        cache: KV-cached greedy decoding through the layers' cache path (the exported graph's)."""
        ids = torch.tensor([list(input_ids)], device=self.inv_freq.device)
        weight = self.model.embed_tokens.weight
        if cache is None:
            empty = torch.zeros(1, 0, self.config.num_key_value_heads, head_dim_of(self.config), dtype=weight.dtype,
                                device=weight.device)
            cache = KVCache([empty] * len(self.model.layers), [empty] * len(self.model.layers), int(input_ids[0]))
        past, q = cache.length, ids.shape[1]
        previous = torch.cat((torch.tensor([[cache.last_token]], device=ids.device), ids[:, :-1]), dim=1)
        hidden = self.input_embeddings(ids, previous)
        cos, sin = rotary(torch.arange(past, past + q, device=ids.device).unsqueeze(0), self.inv_freq)
        mask = torch.zeros(1, 1, q, past + q, dtype=hidden.dtype, device=ids.device)
        mask[..., past:] = torch.triu(torch.full((q, q), MASK_VALUE, dtype=hidden.dtype, device=ids.device), diagonal=1)
        keys, values = [], []
        for layer, past_key, past_value in zip(self.model.layers, cache.keys, cache.values):
            hidden, key, value = layer(hidden, cos, sin, mask, past_key, past_value)
            keys.append(torch.cat((past_key, key), dim=1))
            values.append(torch.cat((past_value, value), dim=1))
        logits = self.lm_head(self.model.norm(hidden))[0]
        return logits, KVCache(keys, values, int(input_ids[-1]))

    # ------------------------------------------------------------ Hugging Face folder

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Also takes the state of the former PrevTokenLM wrapper (keys under "lm.") and a tied model's state
        without "lm_head.weight" (as save_pretrained stores it)."""
        state = {(key[3:] if key.startswith("lm.") else key): value for key, value in state_dict.items()}
        if self.config.tie_word_embeddings:
            state.setdefault("lm_head.weight", state.get("model.embed_tokens.weight"))
        return super().load_state_dict(state, strict=strict, assign=assign)

    def save_pretrained(self, directory) -> None:
        """config.json + model.safetensors that LlamaForCausalLM.from_pretrained reads, plus the
        previous-token path's W beside them when the model has one."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights = {name: tensor.detach().contiguous().cpu() for name, tensor in self.state_dict().items()
                   if not name.startswith("prev_proj.")}
        if self.config.tie_word_embeddings:
            weights.pop("lm_head.weight")  # stored once, as transformers does
        self.config.architectures = ["LlamaForCausalLM"]
        self.config.dtype = str(self.model.embed_tokens.weight.dtype).removeprefix("torch.")
        self.config.save_pretrained(directory)
        save_file(weights, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
        if self.prev_proj is not None:
            save_file({"weight": self.prev_proj.weight.detach().float().contiguous().cpu()}, str(directory / PREV_TOKEN_FILE))

    @classmethod
    def from_pretrained(cls, directory, dtype: torch.dtype = torch.float32) -> "CodeModel":
        directory = Path(directory)
        config = LlamaConfig.from_pretrained(directory)
        model = cls(config, prev_token_path=(directory / PREV_TOKEN_FILE).exists())
        state = read_safetensors(directory)
        if model.prev_proj is not None:
            from safetensors.torch import load_file

            state["prev_proj.weight"] = load_file(str(directory / PREV_TOKEN_FILE))["weight"]
        model.load_state_dict({name: tensor.float() for name, tensor in state.items()})
        return model.to(dtype)


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each position's next label, as transformers computes it: the labels shifted (padded
    with -100) rather than the logits sliced, which would copy them."""
    targets = F.pad(labels, (0, 1), value=-100)[:, 1:]
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def read_safetensors(directory: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a folder's model.safetensors, or of the shards its index names."""
    from safetensors.torch import load_file

    index = directory / WEIGHTS_INDEX_FILE
    if not index.exists():
        return load_file(str(directory / WEIGHTS_FILE))
    state = {}
    for shard in sorted(set(json.loads(index.read_text())["weight_map"].values())):
        state.update(load_file(str(directory / shard)))
    return state


def load_causal_lm(directory, dtype: torch.dtype = torch.float32) -> nn.Module:
    """The model of a Hugging Face folder: a CodeModel when the folder holds this project's model shape (with its
    previous-token path if saved with one), else the folder's own transformers class (a real model to fine-tune)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    directory = Path(directory)
    reason = unlike_own_model(AutoConfig.from_pretrained(directory))
    if reason is None:
        return CodeModel.from_pretrained(directory, dtype)
    if (directory / PREV_TOKEN_FILE).exists():
        raise ValueError(f"{directory} has a previous-token path but is not this project's model shape ({reason})")
    return AutoModelForCausalLM.from_pretrained(directory, dtype=dtype)
