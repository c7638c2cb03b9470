"""The previous-token path: each position's input embedding is `emb(token) + W·emb(previous token)`.

W is a learned d×d matrix (no bias) initialised to ZERO, so adding the path to a trained model changes nothing
until training moves W (a warm start is function-preserving). With it, one attention layer can match "the token
before this key was the current token" directly, i.e. an induction head needs one layer instead of two (the
"smeared key" of the induction-heads paper; modded-nanogpt's smear gate).

Convention at position 0 (of a row, or of a pass over an empty cache): the previous token is the token itself.
A caller that continues over a KV cache passes `prev_input_ids` explicitly (the first position's previous token
is then the last token already in the cache); without it, the previous tokens are the input shifted by one
with that convention.

The model (training/code_model.py, `CodeModel(prev_token_path=True)` or `add_prev_token_path()`) holds W as
`prev_proj` and saves it beside its Hugging Face folder as `prev_token_path.safetensors` (key "weight");
`from_pretrained` adds the path back when that file is there. The msn-onnx/1 export refuses such a folder:
its graph has no previous-token input.
"""

from __future__ import annotations

import torch

PREV_TOKEN_FILE = "prev_token_path.safetensors"


def previous_ids(input_ids: torch.Tensor) -> torch.Tensor:
    """[B, T] -> the previous token of every position; position 0's previous token is the token itself."""
    return torch.cat([input_ids[:, :1], input_ids[:, :-1]], dim=1)


def with_previous_tokens(embed: torch.nn.Module, prev_proj: torch.nn.Module, input_ids: torch.Tensor,
                         prev_input_ids: torch.Tensor | None = None) -> torch.Tensor:
    """emb(token) + W·emb(previous token) for every position of `input_ids`."""
    if prev_input_ids is None:
        prev_input_ids = previous_ids(input_ids)
    current = embed(input_ids)
    # Under autocast the projection comes out in bf16; the sum promotes back to the embedding's float32.
    return current + prev_proj(embed(prev_input_ids)).to(current.dtype)
