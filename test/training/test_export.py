"""Export of this project's model to msn-onnx/1 and parity with it in PyTorch (prefill, chunked cache, token tree, GQA).
The other families, Llama folders of other shapes included, are in test_export_families.py."""

from __future__ import annotations

from conftest import assert_new_rows_are_the_model_cache

import json

import numpy as np
import onnx
import pytest
import torch
from training.code_model import CodeModel
from training.export import export_model_dir, input_names, output_names
from training.model_config import count_parameters, make_config
from training.parity import (
    DEFAULT_TREE_PARENTS,
    ContractSession,
    causal_mask,
    check_parity,
    torch_causal_reference,
    onnx_causal_reference,
    tree_depths,
    tree_mask,
    tree_path,
)

TOLERANCE = 1e-4


def random_llama(vocab_size: int, seed: int, **overrides) -> CodeModel:
    """A tiny GQA model with weights large enough that logits spread over several units."""
    torch.manual_seed(seed)
    config = make_config("fixture", vocab_size=vocab_size, initializer_range=0.3, **overrides)
    return CodeModel(config).eval()


@pytest.fixture(scope="module")
def tied_export(small_tokenizer_path, tmp_path_factory):
    model = random_llama(400, seed=1)
    out = tmp_path_factory.mktemp("tied")
    msn = export_model_dir(model, small_tokenizer_path, out, "test-tied", {"method": "random-init", "tokens_seen": 0})
    return model, out, msn


def test_tree_helpers_describe_a_branching_tree():
    depths = tree_depths(DEFAULT_TREE_PARENTS)
    assert len(DEFAULT_TREE_PARENTS) >= 8 and max(depths) >= 2  # depth >= 3 levels
    assert sum(parent == 0 for parent in DEFAULT_TREE_PARENTS) >= 2  # a real branch
    assert tree_path(DEFAULT_TREE_PARENTS, 7) == [0, 1, 3, 6, 7]
    mask = tree_mask([-1, 0, 0], past=2)
    assert (mask[:, :2] == 0).all()
    assert mask[2, 2 + 1] < -1e8 and mask[2, 2 + 0] == 0 and mask[2, 2 + 2] == 0  # sibling hidden, parent seen
    assert (causal_mask(1, 2) == np.array([[0, 0, -1e9], [0, 0, 0]], np.float32)).all()


def test_parity_with_hf_model_gqa_tied(tied_export):
    model, out, _ = tied_export
    assert model.config.num_key_value_heads < model.config.num_attention_heads
    results = check_parity(ContractSession(out), torch_causal_reference(model), prefix_length=12)
    print("parity (tied, GQA):", results)
    assert max(results.values()) < TOLERANCE, results


def test_parity_catches_a_wrong_model(tied_export):
    _, out, _ = tied_export
    other = random_llama(400, seed=2)
    results = check_parity(ContractSession(out), torch_causal_reference(other), prefix_length=6)
    assert max(results.values()) > 1e-2


def test_new_keys_match_hf_cache_with_rotary(tied_export):
    model, out, msn = tied_export
    assert_new_rows_are_the_model_cache(out, model, msn, TOLERANCE)


def test_untied_model_with_more_kv_sharing(small_tokenizer_path, tmp_path):
    model = random_llama(400, seed=3, tie_word_embeddings=False, num_key_value_heads=1)
    assert model.lm_head.weight is not model.model.embed_tokens.weight
    export_model_dir(model, small_tokenizer_path, tmp_path, "test-untied", {"method": "baseline"})
    results = check_parity(ContractSession(tmp_path), torch_causal_reference(model), prefix_length=7)
    assert max(results.values()) < TOLERANCE, results


def test_graph_signature_and_size(tied_export):
    model, out, msn = tied_export
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    assert [i.name for i in graph.input] == input_names(msn["num_layers"])
    assert [o.name for o in graph.output] == output_names(msn["num_layers"])
    # Tied embeddings stored once: the file is about the float32 weights, not weights + a transposed copy.
    size = (out / "model.onnx").stat().st_size
    parameters = count_parameters(model)
    embedding_bytes = 4 * model.config.vocab_size * model.config.hidden_size
    assert size < 4 * parameters + embedding_bytes // 2
    assert parameters == msn["parameters"]


def test_msn_json_matches_contract(tied_export, small_tokenizer_path):
    _, out, msn = tied_export
    assert json.loads((out / "msn.json").read_text()) == msn
    assert msn["format"] == "msn-onnx/1" and msn["architecture"] == "llama"
    assert (msn["num_layers"], msn["num_attention_heads"], msn["num_kv_heads"], msn["head_dim"]) == (2, 4, 2, 16)
    assert msn["eos_token_id"] == 0 and msn["bos_token_id"] is None
    assert msn["prompt"]["fim"] == {"prefix": "<|fim_prefix|>", "suffix": "<|fim_suffix|>",
                                    "middle": "<|fim_middle|>", "eot": "<|endoftext|>"}
    assert msn["prompt"]["fim_orders"] == ["psm"]
    assert msn["prompt"]["repo"] == {"repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>"}
    assert msn["mask_value"] == -1e9 and "extra_outputs" not in msn
    assert (out / "tokenizer.json").read_text() == small_tokenizer_path.read_text()
    assert (out / "MODEL_CARD.md").exists()


def test_committed_fixture_is_self_consistent(fixture_dir):
    session = ContractSession(fixture_dir)
    msn = session.msn
    tokenizer = json.loads((fixture_dir / "tokenizer.json").read_text())
    assert msn["num_kv_heads"] != msn["num_attention_heads"]  # GQA for the engine's tests
    assert msn["vocab_size"] == len(tokenizer["model"]["vocab"])
    assert msn["training"]["method"] == "random-init"
    assert sum(path.stat().st_size for path in fixture_dir.iterdir()) < 4_000_000
    results = check_parity(session, onnx_causal_reference(session), prefix_length=5)
    assert max(results.values()) < TOLERANCE, results
    logits, keys, _ = session.run([1, 2, 3], [5, 6, 6], np.zeros((3, 3), np.float32), session.empty_cache())
    assert logits.shape == (3, msn["vocab_size"]) and np.isfinite(logits).all()
    assert keys[0].shape == (1, 3, msn["num_kv_heads"], msn["head_dim"])


def test_cli_exports_a_saved_checkpoint_with_its_training_record(small_tokenizer_path, tmp_path):
    from training.export import main

    run_dir = tmp_path / "run"
    checkpoint = run_dir / "hf"
    model = random_llama(400, seed=4)
    model.save_pretrained(checkpoint)
    (checkpoint / "training.json").write_text(json.dumps({"step": 7, "tokens_seen": 3584, "val_loss": 5.5}))
    (run_dir / "run.json").write_text(json.dumps({"noise": "msn", "span_length": 5, "train_data": "data/train_tok"}))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"corpus": "held-out manifest v1"}))
    out = tmp_path / "exported"
    main(["--checkpoint", str(checkpoint), "--tokenizer", str(small_tokenizer_path), "--out", str(out),
          "--name", "cli-test", "--training-json", str(extra)])
    msn = json.loads((out / "msn.json").read_text())
    assert msn["name"] == "cli-test"
    assert msn["training"] == {"method": "msn", "msn_span_length": 5, "tokens_seen": 3584, "step": 7,
                               "val_loss": 5.5, "corpus": "held-out manifest v1"}
    results = check_parity(ContractSession(out), torch_causal_reference(checkpoint), prefix_length=6)
    assert max(results.values()) < TOLERANCE, results


def test_bos_is_declared_only_when_the_tokenizer_prepends_it():
    from training.export import bos_token_prepended

    vocab = {"model": {"vocab": {"<s>": 1, "a": 2}}, "added_tokens": [{"id": 1, "content": "<s>"}]}
    assert bos_token_prepended(vocab, None) is None
    assert bos_token_prepended({**vocab, "post_processor": None}, 1) is None, "a config BOS the tokenizer never adds"
    template = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}
    assert bos_token_prepended({**vocab, "post_processor": template}, 1) == 1
    assert bos_token_prepended({**vocab, "post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel"}, template]}}, 1) == 1


def test_export_refuses_a_checkpoint_with_a_previous_token_path(tmp_path):
    """The graph has no previous-token input: an export would drop the path's weights silently."""
    from training.architectures import UnsupportedModelError, load_causal_lm
    from training.prev_token import PREV_TOKEN_FILE

    (tmp_path / PREV_TOKEN_FILE).write_bytes(b"")
    with pytest.raises(UnsupportedModelError, match="previous-token path"):
        load_causal_lm(tmp_path)


def test_export_refuses_a_model_with_a_previous_token_path(small_tokenizer_path, tmp_path):
    from training.architectures import UnsupportedModelError

    model = random_llama(400, seed=5)
    model.add_prev_token_path()
    with pytest.raises(UnsupportedModelError, match="previous-token path"):
        export_model_dir(model, small_tokenizer_path, tmp_path, "with-path", {"method": "baseline"})
