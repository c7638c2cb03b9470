"""The previous-token path (training/prev_token.py): W = 0 preserves the wrapped model, gradients reach W,
save/load keeps W, the KV-cache greedy of training.evaluate feeds the right previous tokens, and training
with --prev-token-path resumes exactly."""

from __future__ import annotations

import json

import numpy as np
import torch
from transformers import LlamaForCausalLM

from training.model_config import make_config
from training.prev_token import PREV_TOKEN_FILE, PrevTokenLM, load_causal_lm, previous_ids


def tiny_llama(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(make_config("fixture", vocab_size=400)).eval()


def test_previous_ids_shift_with_the_token_itself_at_position_0():
    ids = torch.tensor([[5, 6, 7, 8]])
    assert previous_ids(ids).tolist() == [[5, 5, 6, 7]]


def test_zero_w_preserves_the_logits_and_the_loss_of_the_wrapped_model():
    lm = tiny_llama()
    wrapped = PrevTokenLM(lm).eval()
    ids = torch.randint(8, 400, (2, 32), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        plain = lm(input_ids=ids, labels=ids)
        path = wrapped(input_ids=ids, labels=ids)
    assert torch.equal(plain.logits, path.logits)
    assert abs(plain.loss.item() - path.loss.item()) < 1e-6
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):  # the training precision too
        assert torch.equal(lm(input_ids=ids).logits, wrapped(input_ids=ids).logits)


def test_gradients_reach_w_and_a_nonzero_w_changes_the_output():
    wrapped = PrevTokenLM(tiny_llama()).train()
    ids = torch.randint(8, 400, (2, 32), generator=torch.Generator().manual_seed(2))
    wrapped(input_ids=ids, labels=ids).loss.backward()
    assert wrapped.prev_proj.weight.grad is not None and wrapped.prev_proj.weight.grad.abs().sum() > 0
    with torch.no_grad():
        before = wrapped(input_ids=ids).logits
        wrapped.prev_proj.weight.normal_(0, 0.1)
        after = wrapped(input_ids=ids).logits
    assert not torch.allclose(before, after)
    # position 0 sees the token itself as its previous token
    with torch.no_grad():
        explicit = wrapped(input_ids=ids, prev_input_ids=previous_ids(ids)).logits
    assert torch.equal(after, explicit)


def test_save_and_load_keep_w(tmp_path):
    wrapped = PrevTokenLM(tiny_llama())
    with torch.no_grad():
        wrapped.prev_proj.weight.normal_(0, 0.1)
    wrapped.save_pretrained(tmp_path / "hf")
    assert (tmp_path / "hf" / PREV_TOKEN_FILE).exists()
    loaded = load_causal_lm(tmp_path / "hf").eval()
    assert isinstance(loaded, PrevTokenLM)
    assert torch.equal(loaded.prev_proj.weight, wrapped.prev_proj.weight)
    ids = torch.randint(8, 400, (1, 20), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits, wrapped.eval()(input_ids=ids).logits, atol=1e-5)
    tiny_llama().save_pretrained(tmp_path / "plain")
    assert not isinstance(load_causal_lm(tmp_path / "plain"), PrevTokenLM)


def test_cached_greedy_equals_greedy_without_cache():
    from training.evaluate import TorchModel

    wrapped = PrevTokenLM(tiny_llama())
    with torch.no_grad():
        wrapped.prev_proj.weight.normal_(0, 0.3)
    model = TorchModel(wrapped)
    prompt = [11, 12, 13, 14, 15, 16]
    cached = model.greedy(prompt, 8, lambda generated: False)
    ids = list(prompt)
    for _ in range(8):
        ids.append(int(model.logits(ids)[-1].argmax()))
    assert cached == ids[len(prompt):]


def test_training_with_the_path_resumes_exactly(tmp_path, small_tokenizer_path, code_texts):
    from training.data import tokenize_corpus
    from training.train import parse_args, train

    corpus = tmp_path / "train.jsonl"
    corpus.write_text("".join(json.dumps({"text": text}) + "\n" for text in code_texts))
    tokenize_corpus(corpus, small_tokenizer_path, tmp_path / "rows", seq_len=64, chunk_chars=200, records_per_shard=40)

    def run(run_dir, steps, *extra):
        return train(parse_args([
            "--run-dir", str(run_dir), "--train-data", str(tmp_path / "rows"), "--tokenizer", str(small_tokenizer_path),
            "--preset", "fixture", "--noise", "none", "--batch-size", "4", "--lr", "3e-3", "--warmup-steps", "2",
            "--max-tokens", str(8 * 4 * 64), "--log-every", "2", "--eval-every", "0", "--threads", "1",
            "--precision", "fp32", "--quiet", "--prev-token-path", "--max-steps", str(steps), *extra,
        ]))

    run(tmp_path / "straight", 6)
    run(tmp_path / "resumed", 3)
    run(tmp_path / "resumed", 6, "--resume")
    straight = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)["model"]
    resumed = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)["model"]
    assert "prev_proj.weight" in straight and straight["prev_proj.weight"].abs().sum() > 0  # W moved off zero
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    assert isinstance(load_causal_lm(tmp_path / "straight" / "hf"), PrevTokenLM)
