"""The previous-token path: each position's input embedding is `emb(token) + W·emb(previous token)`.

W is a learned d×d matrix (no bias) initialised to ZERO, so wrapping a trained model changes nothing until
training moves W (a warm start is function-preserving). With it, one attention layer can match "the token
before this key was the current token" directly, i.e. an induction head needs one layer instead of two (the
"smeared key" of the induction-heads paper; modded-nanogpt's smear gate).

Convention at position 0 (of a row, or of a pass over an empty cache): the previous token is the token itself.
A caller that continues over a KV cache passes `prev_input_ids` explicitly (the first position's previous token
is then the last token already in the cache); without it, the previous tokens are the input shifted by one
with that convention.

Saved beside the Hugging Face folder of the wrapped model: `save_pretrained(DIR)` writes the model as usual
plus `prev_token_path.safetensors` (the matrix, key "weight"); `load_causal_lm(DIR)` gives the wrapped model
back when that file is there, the plain model otherwise. (The ONNX export does not know the path: it exports
the wrapped model without it.)
"""

from __future__ import annotations

from pathlib import Path

import torch

PREV_TOKEN_FILE = "prev_token_path.safetensors"


def previous_ids(input_ids: torch.Tensor) -> torch.Tensor:
    """[B, T] -> the previous token of every position; position 0's previous token is the token itself."""
    return torch.cat([input_ids[:, :1], input_ids[:, :-1]], dim=1)


class PrevTokenLM(torch.nn.Module):
    """A thin wrapper around a Hugging Face causal LM (LlamaForCausalLM) adding the previous-token path."""

    prev_token_path = True

    def __init__(self, lm: torch.nn.Module):
        super().__init__()
        self.lm = lm
        hidden = lm.config.hidden_size
        self.prev_proj = torch.nn.Linear(hidden, hidden, bias=False)
        torch.nn.init.zeros_(self.prev_proj.weight)

    @property
    def config(self):
        return self.lm.config

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.lm.get_input_embeddings()

    def input_embeddings(self, input_ids: torch.Tensor, prev_input_ids: torch.Tensor | None = None) -> torch.Tensor:
        embed = self.lm.get_input_embeddings()
        if prev_input_ids is None:
            prev_input_ids = previous_ids(input_ids)
        current = embed(input_ids)
        # Under autocast the projection comes out in bf16; the sum promotes back to the embedding's float32.
        return current + self.prev_proj(embed(prev_input_ids)).to(current.dtype)

    def forward(self, input_ids: torch.Tensor, prev_input_ids: torch.Tensor | None = None, **kwargs):
        return self.lm(inputs_embeds=self.input_embeddings(input_ids, prev_input_ids), **kwargs)

    def save_pretrained(self, directory, **kwargs) -> None:
        from safetensors.torch import save_file

        self.lm.save_pretrained(directory, **kwargs)
        save_file({"weight": self.prev_proj.weight.detach().float().contiguous().cpu()}, str(Path(directory) / PREV_TOKEN_FILE))


def has_prev_token_path(model: torch.nn.Module) -> bool:
    return bool(getattr(model, "prev_token_path", False))


def load_causal_lm(directory: Path, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """The causal LM of a Hugging Face folder; wrapped with its previous-token path if the folder has one."""
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype)
    path = Path(directory) / PREV_TOKEN_FILE
    if not path.exists():
        return lm
    from safetensors.torch import load_file

    model = PrevTokenLM(lm)
    with torch.no_grad():
        model.prev_proj.weight.copy_(load_file(str(path))["weight"])
    return model.to(dtype)
