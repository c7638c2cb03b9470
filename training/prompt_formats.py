"""FIM and repo-level token strings of known code-model families, recognised from a tokenizer.json.

msn.json's `prompt` block tells the engine how the model was trained to be prompted. The strings
differ per family, so the exporter looks for each family's tokens in the tokenizer the model ships
with (added tokens or vocabulary) instead of assuming ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


class PromptFormatError(ValueError):
    """The tokenizer's FIM tokens are missing or belong to no known family."""


@dataclass(frozen=True)
class PromptFamily:
    name: str
    prefix: str
    suffix: str
    middle: str
    eot: str  # what ends a middle; the engine stops there
    repo_name: str | None = None  # repo-level layout: <repo_name>NAME <file_sep>PATH\nCONTENT ...
    file_sep: str | None = None
    orders: tuple[str, ...] = ("psm",)  # trained FIM orders, the one the engine should use first

    @property
    def fim_tokens(self) -> tuple[str, str, str, str]:
        return (self.prefix, self.suffix, self.middle, self.eot)


# Order matters only where families share strings: CodeGemma has Qwen's FIM strings but ends a middle
# with <|file_separator|> and has no <|endoftext|>, so "all four present" tells them apart.
PROMPT_FAMILIES = (
    # Also this project's own tokenizer (training/tokenizer.py uses the same strings).
    PromptFamily("qwen2.5-coder", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>",
                 "<|repo_name|>", "<|file_sep|>"),
    # ｜ is U+FF5C (fullwidth vertical line), ▁ is U+2581 (lower one eighth block).
    PromptFamily("deepseek-coder", "<\uff5cfim\u2581begin\uff5c>", "<\uff5cfim\u2581hole\uff5c>",
                 "<\uff5cfim\u2581end\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>"),
    # StarCoder / StarCoder2 were trained with both orders; SPM first keeps the prompt's start stable while typing.
    PromptFamily("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<|endoftext|>",
                 "<repo_name>", "<file_sep>", orders=("spm", "psm")),
    PromptFamily("codegemma", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_separator|>"),
)
FIM_ORDERS = ("psm", "spm")


def token_id(tokenizer_json: dict, token: str) -> int | None:
    for added in tokenizer_json.get("added_tokens", []):
        if added["content"] == token:
            return added["id"]
    vocab = tokenizer_json.get("model", {}).get("vocab", {})
    return vocab.get(token) if isinstance(vocab, dict) else None  # a Unigram vocab is a list of pairs


def has_tokens(tokenizer_json: dict, tokens: Sequence[str]) -> bool:
    return all(token_id(tokenizer_json, token) is not None for token in tokens)


def detect_family(tokenizer_json: dict) -> PromptFamily:
    """The first known family whose prefix, suffix, middle and end-of-middle tokens are all in the tokenizer."""
    for family in PROMPT_FAMILIES:
        if has_tokens(tokenizer_json, family.fim_tokens):
            return family
    partial = [(family, [t for t in family.fim_tokens if token_id(tokenizer_json, t) is None])
               for family in PROMPT_FAMILIES if has_tokens(tokenizer_json, family.fim_tokens[:1])]
    if partial:
        family, missing = partial[0]
        raise PromptFormatError(
            f"the tokenizer has {family.name}'s {family.prefix} but not {', '.join(missing)}; pass --fim-tokens to name its FIM strings")
    known = "; ".join(f"{family.name}: {family.prefix}" for family in PROMPT_FAMILIES)
    raise PromptFormatError(
        f"the tokenizer has no FIM tokens of a known family ({known}); the engine needs a FIM model (or pass --fim-tokens)")


def custom_family(tokenizer_json: dict, tokens: Sequence[str]) -> PromptFamily:
    """A family from explicit prefix,suffix,middle,eot strings (for a model outside the table)."""
    if len(tokens) != 4:
        raise PromptFormatError(f"--fim-tokens needs prefix,suffix,middle,eot (got {len(tokens)} strings)")
    missing = [t for t in tokens if token_id(tokenizer_json, t) is None]
    if missing:
        raise PromptFormatError(f"the tokenizer has no token {', '.join(missing)} named in --fim-tokens")
    return PromptFamily("custom", *tokens)


def build_prompt_block(family: PromptFamily, tokenizer_json: dict, fim_orders: Sequence[str] | None) -> dict:
    orders = list(dict.fromkeys(fim_orders or family.orders))
    if not orders or any(order not in FIM_ORDERS for order in orders):
        raise PromptFormatError(f"FIM orders must be a non-empty list of {' / '.join(FIM_ORDERS)} (got {orders})")
    repo_tokens = (family.repo_name, family.file_sep)
    has_repo = None not in repo_tokens and has_tokens(tokenizer_json, repo_tokens)
    return {
        "fim": {"prefix": family.prefix, "suffix": family.suffix, "middle": family.middle, "eot": family.eot},
        "fim_orders": orders,
        "repo": {"repo_name": family.repo_name, "file_sep": family.file_sep} if has_repo else None,
    }
