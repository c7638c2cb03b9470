"""training/code_model.py, the project's own model: it computes what transformers' LlamaForCausalLM computes on
the same weights, reads and writes folders LlamaForCausalLM reads and writes, its cache path equals its causal
path, and a checkpoint.pt written when training ran LlamaForCausalLM (or the former previous-token wrapper)
resumes: same parameter names, same parameter order for the optimizer's state."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from training.code_model import CodeModel, load_causal_lm, unlike_own_model
from training.model_config import make_config


def pair(seed: int = 0, **overrides) -> tuple[LlamaForCausalLM, CodeModel]:
    torch.manual_seed(seed)
    hf = LlamaForCausalLM(make_config("fixture", vocab_size=400, initializer_range=0.3, **overrides)).eval()
    own = CodeModel(make_config("fixture", vocab_size=400, **overrides)).eval()
    own.load_state_dict(hf.state_dict())
    return hf, own


@pytest.mark.parametrize("overrides", [{}, {"tie_word_embeddings": False, "num_key_value_heads": 1}])
def test_logits_and_loss_equal_llama_for_causal_lm(overrides):
    hf, own = pair(1, **overrides)
    assert [name for name, _ in hf.named_parameters()] == [name for name, _ in own.named_parameters()]
    ids = torch.randint(0, 400, (3, 48), generator=torch.Generator().manual_seed(2))
    labels = ids.clone()
    labels[:, :5] = -100
    with torch.no_grad():
        expected, got = hf(input_ids=ids, labels=labels), own(input_ids=ids, labels=labels)
    assert (expected.logits - got.logits).abs().max() < 1e-4
    assert abs(expected.loss.item() - got.loss.item()) < 1e-5


def test_gradients_equal_llama_for_causal_lm():
    hf, own = pair(3)
    ids = torch.randint(0, 400, (2, 32), generator=torch.Generator().manual_seed(4))
    hf(input_ids=ids, labels=ids).loss.backward()
    own(input_ids=ids, labels=ids).loss.backward()
    own_parameters = dict(own.named_parameters())
    for name, parameter in hf.named_parameters():
        assert torch.allclose(parameter.grad, own_parameters[name].grad, atol=1e-5, rtol=1e-4), name


def test_folders_go_both_ways(tmp_path):
    hf, own = pair(5)
    own.save_pretrained(tmp_path / "own")
    hf.save_pretrained(tmp_path / "hf")
    read_by_hf = LlamaForCausalLM.from_pretrained(tmp_path / "own").eval()
    read_by_own = load_causal_lm(tmp_path / "hf")
    assert isinstance(read_by_own, CodeModel)
    ids = torch.randint(0, 400, (1, 20), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        reference = hf(input_ids=ids).logits
        assert torch.equal(read_by_hf(input_ids=ids).logits, reference)
        assert torch.allclose(read_by_own(input_ids=ids).logits, reference, atol=1e-4)
    assert not (tmp_path / "own" / "prev_token_path.safetensors").exists()


def test_other_shapes_load_as_their_own_class(tmp_path):
    config = make_config("fixture", vocab_size=400)
    config.attention_bias = True
    assert "biases" in unlike_own_model(config)
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    assert isinstance(load_causal_lm(tmp_path), LlamaForCausalLM)
    with pytest.raises(ValueError, match="model shape"):
        CodeModel(config)
    assert unlike_own_model(LlamaConfig(rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}))


def test_the_cache_path_equals_the_causal_path():
    _, own = pair(7)
    ids = torch.randint(0, 400, (1, 30), generator=torch.Generator().manual_seed(8))[0].tolist()
    with torch.no_grad():
        causal = own(input_ids=torch.tensor([ids])).logits[0]
        first, cache = own.extend(ids[:17])
        second, cache = own.extend(ids[17:], cache)
    assert cache.length == 30 and cache.last_token == ids[-1]
    assert (torch.cat((first, second)) - causal).abs().max() < 1e-4


def test_a_checkpoint_of_llama_for_causal_lm_resumes_with_its_optimizer_state():
    """The trainer's checkpoint.pt holds model.state_dict() and the optimizer's state indexed by parameter order."""
    from training.train import make_optimizers

    hf, _ = pair(9)
    ids = torch.randint(0, 400, (2, 16), generator=torch.Generator().manual_seed(10))
    for kind in ("adamw", "muon"):
        optimizers = make_optimizers(hf, kind, 1e-3, 0.1)
        hf(input_ids=ids, labels=ids).loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        own = CodeModel(make_config("fixture", vocab_size=400))
        own.load_state_dict(hf.state_dict())
        resumed = make_optimizers(own, kind, 1e-3, 0.1)
        for optimizer, saved in zip(resumed, optimizers):
            optimizer.load_state_dict(saved.state_dict())  # raises on a shape mismatch
        for optimizer, saved in zip(resumed, optimizers):
            for group, saved_group in zip(optimizer.param_groups, saved.param_groups):
                for parameter, saved_parameter in zip(group["params"], saved_group["params"]):
                    assert parameter.shape == saved_parameter.shape and torch.equal(parameter, saved_parameter)


def test_the_former_previous_token_wrapper_state_loads():
    _, own = pair(11)
    state = {f"lm.{name}": tensor for name, tensor in own.state_dict().items()}
    state["prev_proj.weight"] = torch.full((64, 64), 0.5)
    loaded = CodeModel(make_config("fixture", vocab_size=400), prev_token_path=True)
    loaded.load_state_dict(state)
    assert torch.equal(loaded.prev_proj.weight, state["prev_proj.weight"])
    assert torch.equal(loaded.model.embed_tokens.weight, own.model.embed_tokens.weight)
    assert [name for name, _ in loaded.named_parameters()][-1] == "prev_proj.weight"  # where the wrapper had it
