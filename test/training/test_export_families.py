"""Export of the code-model families people run (Llama with rope scaling, Qwen2, Starcoder2) to msn-onnx/1.

Every model is random-initialised from a transformers config class at a tiny size, with biases and
norm weights randomised too, so a bias, norm or rotary detail the graph dropped would show up as a
logit difference. Parity runs a KV-cached prefill, a chunked prefill and a branching token tree
against the PyTorch model; what cannot be exported exactly must be refused by name.
"""

from __future__ import annotations

from conftest import assert_new_rows_are_the_model_cache

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Starcoder2Config,
    Starcoder2ForCausalLM,
)

from training.architectures import UnsupportedModelError
from training.export import EXTERNAL_DATA, declare_batch_of_one, export_model_dir, prompt_block
from training.parity import ContractSession, causal_mask, check_parity, torch_causal_reference
from training.prompt_formats import PROMPT_FAMILIES, PromptFormatError, token_id

TOLERANCE = 1e-4
VOCAB = 400  # the small tokenizer fixture's vocabulary
SHAPE = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=128, vocab_size=VOCAB, max_position_embeddings=256, initializer_range=0.3)
FAMILY = {family.name: family for family in PROMPT_FAMILIES}

LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               # a short original window, so the llama3 rescaling touches frequencies seen at test distances
               "original_max_position_embeddings": 16, "rope_theta": 10000.0}
LINEAR_ROPE = {"rope_type": "linear", "factor": 4.0, "rope_theta": 100000.0}  # DeepSeek-Coder's
YARN_ROPE = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64, "rope_theta": 1000000.0}


def randomise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give biases and norm weights random values (HF initialises them to 0 and 1, which would hide a dropped one)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(".bias"):
                parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))
            elif "norm" in name:
                parameter.copy_(1.0 + 0.3 * torch.randn(parameter.shape, generator=generator))
    return model.eval()


def build(model_class, config_class, seed: int, **overrides):
    torch.manual_seed(seed)
    return randomise(model_class(config_class(**{**SHAPE, **overrides})), seed)


# name -> (model builder, prompt family of its tokenizer, export keyword arguments)
CASES = {
    # DeepSeek-Coder: Llama with linear rope x4, untied embeddings.
    "llama-linear-rope": (lambda: build(LlamaForCausalLM, LlamaConfig, 10, rope_parameters=LINEAR_ROPE,
                                        tie_word_embeddings=False), "deepseek-coder", {}),
    # Llama-3.2 / SmolLM2: llama3 rope, tied embeddings.
    "llama-llama3-rope": (lambda: build(LlamaForCausalLM, LlamaConfig, 11, rope_parameters=LLAMA3_ROPE,
                                        tie_word_embeddings=True), "qwen2.5-coder", {}),
    # Attention and MLP biases, head_dim wider than hidden/heads.
    "llama-biases-head-dim": (lambda: build(LlamaForCausalLM, LlamaConfig, 12, attention_bias=True, mlp_bias=True,
                                            head_dim=32), "qwen2.5-coder", {}),
    # Qwen2.5-Coder 0.5B/1.5B: q/k/v biases, tied embeddings, GQA.
    "qwen2-tied": (lambda: build(Qwen2ForCausalLM, Qwen2Config, 13, tie_word_embeddings=True), "qwen2.5-coder", {}),
    # Qwen2.5-Coder 7B with the long-context YaRN setting: untied, yarn rope.
    "qwen2-untied-yarn": (lambda: build(Qwen2ForCausalLM, Qwen2Config, 14, tie_word_embeddings=False,
                                        rope_parameters=YARN_ROPE), "qwen2.5-coder", {}),
    # Sliding window switched on but as long as the positions: it never hides a token, so exact.
    "qwen2-window-covers-positions": (lambda: build(Qwen2ForCausalLM, Qwen2Config, 15, use_sliding_window=True,
                                                    sliding_window=256, max_window_layers=1), "qwen2.5-coder", {}),
    # StarCoder2: LayerNorm with bias, GELU c_fc/c_proj MLP with biases, attention biases, tied.
    "starcoder2": (lambda: build(Starcoder2ForCausalLM, Starcoder2Config, 16, sliding_window=None,
                                 bos_token_id=0, eos_token_id=0), "starcoder", {}),
    # StarCoder2 as shipped (window shorter than max positions), exported with positions capped at the window.
    "starcoder2-window-capped": (lambda: build(Starcoder2ForCausalLM, Starcoder2Config, 17, sliding_window=32,
                                               tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
                                 "starcoder", {"max_positions": 32}),
}


def family_tokenizer(base: Path, family_name: str, out: Path) -> Path:
    """The small tokenizer with its special tokens renamed to `family_name`'s strings (same ids)."""
    tokenizer = json.loads(base.read_text())
    family = FAMILY[family_name]
    ours = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]
    theirs = [family.eot, family.prefix, family.suffix, family.middle, "<|fim_pad|>",
              family.repo_name or "<unused_repo>", family.file_sep or "<unused_sep>"]
    rename_tokens(tokenizer, dict(zip(ours, theirs)))
    out.write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    return out


def rename_tokens(tokenizer: dict, renames: dict[str, str]) -> None:
    for added in tokenizer["added_tokens"]:
        added["content"] = renames.get(added["content"], added["content"])
    vocab = tokenizer["model"]["vocab"]
    for old, new in renames.items():
        if old in vocab and old != new:
            vocab[new] = vocab.pop(old)


@pytest.fixture(scope="module", params=sorted(CASES))
def family_export(request, small_tokenizer_path, tmp_path_factory):
    build_model, family_name, export_args = CASES[request.param]
    model = build_model()
    out = tmp_path_factory.mktemp(request.param)
    tokenizer = family_tokenizer(small_tokenizer_path, family_name, out.parent / f"{request.param}-tokenizer.json")
    msn = export_model_dir(model, tokenizer, out, request.param, {"method": "random-init"}, **export_args)
    return request.param, model, out, msn, family_name


def test_family_parity_under_a_tree_with_a_kv_cache(family_export):
    name, model, out, msn, _ = family_export
    results = check_parity(ContractSession(out), torch_causal_reference(model), prefix_length=12)
    print(f"{name} ({type(model).__name__}): max abs logit diff {max(results.values()):.2e} {results}")
    assert max(results.values()) < TOLERANCE, results


def test_family_new_keys_are_the_hf_cache_rows(family_export):
    _, model, out, msn, _ = family_export
    assert_new_rows_are_the_model_cache(out, model, msn, TOLERANCE)


def test_family_msn_json(family_export):
    name, model, out, msn, family_name = family_export
    family = FAMILY[family_name]
    tokenizer = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    config = model.config
    assert msn["architecture"] == config.model_type
    assert (msn["num_kv_heads"], msn["head_dim"]) == (2, getattr(config, "head_dim", None) or 16)
    assert msn["max_positions"] == CASES[name][2].get("max_positions", config.max_position_embeddings)
    assert msn["prompt"]["fim"] == {"prefix": family.prefix, "suffix": family.suffix, "middle": family.middle, "eot": family.eot}
    assert msn["prompt"]["fim_orders"] == list(family.orders)
    assert msn["eos_token_id"] == token_id(tokenizer, family.eot)
    assert (msn["prompt"]["repo"] is None) == (family.repo_name is None)


@pytest.mark.parametrize("rope", [LINEAR_ROPE, LLAMA3_ROPE, YARN_ROPE], ids=lambda r: r["rope_type"])
def test_rope_scaling_is_in_the_graph(rope, small_tokenizer_path, tmp_path):
    """The scaled graph matches its model and NOT the same weights with plain rope (so the check has teeth)."""
    model = build(LlamaForCausalLM, LlamaConfig, 20, rope_parameters=rope)
    plain = LlamaForCausalLM(LlamaConfig(**SHAPE, rope_parameters={"rope_type": "default", "rope_theta": rope["rope_theta"]}))
    plain.load_state_dict(model.state_dict())
    export_model_dir(model, small_tokenizer_path, tmp_path, "rope", {"method": "random-init"})
    session = ContractSession(tmp_path)
    exact = max(check_parity(session, torch_causal_reference(model), prefix_length=12).values())
    unscaled = max(check_parity(session, torch_causal_reference(plain.eval()), prefix_length=12).values())
    print(f"rope {rope['rope_type']}: diff vs its model {exact:.2e}, vs plain rope {unscaled:.2e}")
    assert exact < TOLERANCE and unscaled > 1e-2


def test_cli_exports_saved_checkpoints_and_parity_cli_loads_their_architecture(small_tokenizer_path, tmp_path, capsys):
    """A DeepSeek-Coder-style config.json (legacy rope_scaling) and a windowed StarCoder2 through both CLIs."""
    from training.export import main as export_main
    from training.parity import main as parity_main

    deepseek = tmp_path / "deepseek"
    build(LlamaForCausalLM, LlamaConfig, 30, tie_word_embeddings=False).save_pretrained(deepseek)
    config = json.loads((deepseek / "config.json").read_text())
    config.pop("rope_parameters", None)
    config.update(rope_scaling={"type": "linear", "factor": 4.0}, rope_theta=100000)  # as DeepSeek-Coder ships it
    (deepseek / "config.json").write_text(json.dumps(config))
    starcoder = tmp_path / "starcoder2"
    build(Starcoder2ForCausalLM, Starcoder2Config, 31, sliding_window=32, bos_token_id=0,
          eos_token_id=0).save_pretrained(starcoder)

    runs = [(deepseek, "deepseek-coder", [], "llama"), (starcoder, "starcoder", ["--max-positions", "32"], "starcoder2")]
    for checkpoint, family, extra, model_type in runs:
        tokenizer = family_tokenizer(small_tokenizer_path, family, tmp_path / f"{family}.json")
        out = tmp_path / f"{checkpoint.name}-onnx"
        export_main(["--checkpoint", str(checkpoint), "--tokenizer", str(tokenizer), "--out", str(out), *extra])
        parity_main(["--model", str(out), "--checkpoint", str(checkpoint)])
        assert json.loads((out / "msn.json").read_text())["architecture"] == model_type
    printed = capsys.readouterr().out
    print(printed)
    assert printed.count("OK: max abs diff") == 2
    rope = json.loads((tmp_path / "deepseek-onnx" / "msn.json").read_text())
    assert rope["prompt"]["fim"]["prefix"] == "<\uff5cfim\u2581begin\uff5c>"


# ---- refusals: one sentence naming the architecture or the feature --------------------------------

def small_gpt2():
    return GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=VOCAB, n_positions=64)).eval()


REFUSED = {
    "gpt2": (small_gpt2, r"architecture GPT2LMHeadModel is not supported"),
    "mistral-small-window": (lambda: MistralForCausalLM(MistralConfig(**SHAPE, sliding_window=16)).eval(),
                             r"architecture MistralForCausalLM is not supported"),
    "qwen2-small-window": (lambda: Qwen2ForCausalLM(Qwen2Config(**SHAPE, use_sliding_window=True, sliding_window=16,
                                                                max_window_layers=1)).eval(),
                           r"Qwen2ForCausalLM: 1 of 2 layers use a sliding attention window of 16 tokens.*--max-positions 16"),
    "starcoder2-small-window": (lambda: Starcoder2ForCausalLM(Starcoder2Config(**SHAPE, sliding_window=64)).eval(),
                                r"Starcoder2ForCausalLM: 2 of 2 layers use a sliding attention window of 64 tokens"),
    "dynamic-rope": (lambda: LlamaForCausalLM(LlamaConfig(**SHAPE, rope_parameters={
        "rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0})).eval(), r"rope type 'dynamic' depends on the sequence length"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_models_are_refused_by_name(name, small_tokenizer_path, tmp_path):
    build_model, message = REFUSED[name]
    out = tmp_path / "out"
    with pytest.raises(UnsupportedModelError, match=message) as refusal:
        export_model_dir(build_model(), small_tokenizer_path, out, name, {})
    print(f"{name}: {refusal.value}")
    assert not out.exists()  # refused before anything is written


def test_quantized_checkpoints_are_refused(small_tokenizer_path, tmp_path):
    model = LlamaForCausalLM(LlamaConfig(**SHAPE)).eval()
    model.config.quantization_config = {"quant_method": "gptq", "bits": 4}
    with pytest.raises(UnsupportedModelError, match="quantized \\(gptq\\)"):
        export_model_dir(model, small_tokenizer_path, tmp_path / "out", "q", {})


def test_window_longer_than_declared_positions_is_accepted_but_positions_are_bounded(small_tokenizer_path, tmp_path):
    model = Starcoder2ForCausalLM(Starcoder2Config(**SHAPE, sliding_window=64)).eval()
    with pytest.raises(UnsupportedModelError, match="outside 1..256"):
        export_model_dir(model, small_tokenizer_path, tmp_path / "too-long", "w", {}, max_positions=512)
    msn = export_model_dir(model, small_tokenizer_path, tmp_path / "ok", "w", {}, max_positions=64)
    assert msn["max_positions"] == 64


def test_cli_refusal_names_the_architecture_and_exits_non_zero(small_tokenizer_path, tmp_path):
    from training.export import main

    checkpoint = tmp_path / "gpt2"
    small_gpt2().save_pretrained(checkpoint)
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoint", str(checkpoint), "--tokenizer", str(small_tokenizer_path), "--out", str(tmp_path / "out")])
    assert exit_info.value.code not in (0, None)
    assert "architecture GPT2LMHeadModel is not supported" in str(exit_info.value.code)
    assert not (tmp_path / "out").exists()


# ---- prompt formats from the tokenizer ------------------------------------------------------------

def renamed(small_tokenizer_path: Path, family_name: str, tmp_path: Path) -> dict:
    return json.loads(family_tokenizer(small_tokenizer_path, family_name, tmp_path / "t.json").read_text(encoding="utf-8"))


def test_prompt_block_of_each_known_family(small_tokenizer_path, tmp_path):
    expected = {
        "qwen2.5-coder": ({"prefix": "<|fim_prefix|>", "suffix": "<|fim_suffix|>", "middle": "<|fim_middle|>", "eot": "<|endoftext|>"},
                          ["psm"], {"repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>"}),
        "deepseek-coder": ({"prefix": "<\uff5cfim\u2581begin\uff5c>", "suffix": "<\uff5cfim\u2581hole\uff5c>",
                            "middle": "<\uff5cfim\u2581end\uff5c>", "eot": "<\uff5cend\u2581of\u2581sentence\uff5c>"}, ["psm"], None),
        "starcoder": ({"prefix": "<fim_prefix>", "suffix": "<fim_suffix>", "middle": "<fim_middle>", "eot": "<|endoftext|>"},
                      ["spm", "psm"], {"repo_name": "<repo_name>", "file_sep": "<file_sep>"}),
        "codegemma": ({"prefix": "<|fim_prefix|>", "suffix": "<|fim_suffix|>", "middle": "<|fim_middle|>", "eot": "<|file_separator|>"},
                      ["psm"], None),
    }
    for name, (fim, orders, repo) in expected.items():
        block = prompt_block(renamed(small_tokenizer_path, name, tmp_path))
        assert block == {"fim": fim, "fim_orders": orders, "repo": repo}, name


def test_prompt_block_keeps_the_old_signature_and_explicit_orders(small_tokenizer_path, tmp_path):
    ours = json.loads(small_tokenizer_path.read_text())
    assert prompt_block(ours, ["spm", "psm"])["fim_orders"] == ["spm", "psm"]
    assert prompt_block(ours, ("psm",))["repo"] == {"repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>"}
    starcoder = renamed(small_tokenizer_path, "starcoder", tmp_path)
    assert prompt_block(starcoder, ["psm"])["fim_orders"] == ["psm"]
    with pytest.raises(PromptFormatError, match="FIM orders"):
        prompt_block(ours, ["pms"])


def test_starcoder_without_repo_tokens_has_no_repo_layout(small_tokenizer_path, tmp_path):
    tokenizer = renamed(small_tokenizer_path, "starcoder", tmp_path)
    rename_tokens(tokenizer, {"<repo_name>": "<unused_a>"})
    assert prompt_block(tokenizer)["repo"] is None


def test_tokenizer_without_fim_tokens_is_refused(small_tokenizer_path, tmp_path):
    tokenizer = json.loads(small_tokenizer_path.read_text())
    rename_tokens(tokenizer, {"<|fim_prefix|>": "<a>", "<|fim_suffix|>": "<b>", "<|fim_middle|>": "<c>"})
    with pytest.raises(PromptFormatError, match="no FIM tokens of a known family"):
        prompt_block(tokenizer)
    with pytest.raises(PromptFormatError, match="no FIM tokens"):
        export_model_dir(LlamaForCausalLM(LlamaConfig(**SHAPE)).eval(), write(tokenizer, tmp_path / "t.json"),
                         tmp_path / "out", "x", {})
    assert not (tmp_path / "out").exists()
    custom = prompt_block(tokenizer, fim_tokens=["<a>", "<b>", "<c>", "<|endoftext|>"])
    assert custom["fim"] == {"prefix": "<a>", "suffix": "<b>", "middle": "<c>", "eot": "<|endoftext|>"} and custom["repo"] is None
    with pytest.raises(PromptFormatError, match="no token <zz>"):
        prompt_block(tokenizer, fim_tokens=["<a>", "<b>", "<zz>", "<|endoftext|>"])


def test_partial_fim_tokens_name_what_is_missing(small_tokenizer_path):
    tokenizer = json.loads(small_tokenizer_path.read_text())
    rename_tokens(tokenizer, {"<|fim_middle|>": "<c>", "<|endoftext|>": "<eos>"})
    with pytest.raises(PromptFormatError, match=r"qwen2.5-coder's <\|fim_prefix\|> but not <\|fim_middle\|>, <\|endoftext\|>"):
        prompt_block(tokenizer)


def write(tokenizer: dict, path: Path) -> Path:
    path.write_text(json.dumps(tokenizer))
    return path


# ---- weights beyond protobuf's 2 GB ---------------------------------------------------------------

def test_per_tensor_external_files_are_gathered_into_one(small_tokenizer_path, tmp_path):
    """What torch writes above 2 GB (one file per tensor) becomes model.onnx + model.onnx.data, same logits."""
    from onnx.external_data_helper import convert_model_to_external_data

    model = build(Qwen2ForCausalLM, Qwen2Config, 40)
    export_model_dir(model, small_tokenizer_path, tmp_path, "big", {})
    graph = onnx.load(str(tmp_path / "model.onnx"))
    convert_model_to_external_data(graph, all_tensors_to_one_file=False, size_threshold=0)
    onnx.save(graph, str(tmp_path / "model.onnx"))
    scattered = set(p.name for p in tmp_path.iterdir()) - {"model.onnx", "msn.json", "tokenizer.json", "MODEL_CARD.md"}
    assert len(scattered) > 5
    declare_batch_of_one(tmp_path / "model.onnx")
    assert set(p.name for p in tmp_path.iterdir()) == {"model.onnx", EXTERNAL_DATA, "msn.json", "tokenizer.json", "MODEL_CARD.md"}
    results = check_parity(ContractSession(tmp_path), torch_causal_reference(model), prefix_length=8)
    assert max(results.values()) < TOLERANCE, results
