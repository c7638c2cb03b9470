"""The previous-token path (training/prev_token.py, held by training/code_model.py): W = 0 preserves the model,
gradients reach W, save/load keeps W, the KV-cache greedy of training.evaluate feeds the right previous tokens,
and training with --prev-token-path resumes exactly."""

from __future__ import annotations

import json

import torch

from training.code_model import CodeModel
from training.model_config import make_config
from training.prev_token import PREV_TOKEN_FILE, previous_ids


def tiny_model(seed: int = 0, prev_token_path: bool = False) -> CodeModel:
    torch.manual_seed(seed)
    return CodeModel(make_config("fixture", vocab_size=400), prev_token_path=prev_token_path).eval()


def with_path(model: CodeModel) -> CodeModel:
    """A copy of `model` with the path added (W = 0)."""
    copy = tiny_model()
    copy.load_state_dict(model.state_dict())
    copy.add_prev_token_path()
    return copy.eval()


def test_previous_ids_shift_with_the_token_itself_at_position_0():
    ids = torch.tensor([[5, 6, 7, 8]])
    assert previous_ids(ids).tolist() == [[5, 5, 6, 7]]


def test_zero_w_preserves_the_logits_and_the_loss_of_the_model():
    plain_model = tiny_model()
    path_model = with_path(plain_model)
    assert path_model.prev_token_path and not plain_model.prev_token_path
    ids = torch.randint(8, 400, (2, 32), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        plain = plain_model(input_ids=ids, labels=ids)
        path = path_model(input_ids=ids, labels=ids)
    assert torch.equal(plain.logits, path.logits)
    assert abs(plain.loss.item() - path.loss.item()) < 1e-6
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):  # the training precision too
        assert torch.equal(plain_model(input_ids=ids).logits, path_model(input_ids=ids).logits)


def test_gradients_reach_w_and_a_nonzero_w_changes_the_output():
    model = tiny_model(prev_token_path=True).train()
    ids = torch.randint(8, 400, (2, 32), generator=torch.Generator().manual_seed(2))
    model(input_ids=ids, labels=ids).loss.backward()
    assert model.prev_proj.weight.grad is not None and model.prev_proj.weight.grad.abs().sum() > 0
    with torch.no_grad():
        before = model(input_ids=ids).logits
        model.prev_proj.weight.normal_(0, 0.1)
        after = model(input_ids=ids).logits
    assert not torch.allclose(before, after)
    # position 0 sees the token itself as its previous token
    with torch.no_grad():
        explicit = model(input_ids=ids, prev_input_ids=previous_ids(ids)).logits
    assert torch.equal(after, explicit)


def test_save_and_load_keep_w(tmp_path):
    model = tiny_model(prev_token_path=True)
    with torch.no_grad():
        model.prev_proj.weight.normal_(0, 0.1)
    model.save_pretrained(tmp_path / "hf")
    assert (tmp_path / "hf" / PREV_TOKEN_FILE).exists()
    loaded = CodeModel.from_pretrained(tmp_path / "hf").eval()
    assert loaded.prev_token_path
    assert torch.equal(loaded.prev_proj.weight, model.prev_proj.weight)
    ids = torch.randint(8, 400, (1, 20), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5)
    tiny_model().save_pretrained(tmp_path / "plain")
    assert not CodeModel.from_pretrained(tmp_path / "plain").prev_token_path


def test_cached_greedy_equals_greedy_without_cache():
    from training.evaluate import TorchModel

    path_model = tiny_model(prev_token_path=True)
    with torch.no_grad():
        path_model.prev_proj.weight.normal_(0, 0.3)
    model = TorchModel(path_model)
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
    assert CodeModel.from_pretrained(tmp_path / "straight" / "hf").prev_token_path
