"""A few steps of training lower the loss; a resumed run ends in exactly the state of a straight one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from training.data import tokenize_corpus
from training.train import cosine_with_warmup, parse_args, train


@pytest.fixture(scope="module")
def packed_dir(tmp_path_factory, code_texts, small_tokenizer_path) -> Path:
    root = tmp_path_factory.mktemp("packed")
    corpus = root / "train.jsonl"
    corpus.write_text("".join(json.dumps({"text": text}) + "\n" for text in code_texts))
    tokenize_corpus(corpus, small_tokenizer_path, root / "rows", seq_len=64, chunk_chars=200, records_per_shard=40)
    return root / "rows"


def test_packing_does_not_depend_on_the_worker_count(tmp_path, code_texts, small_tokenizer_path, packed_dir):
    corpus = tmp_path / "train.jsonl"
    corpus.write_text("".join(json.dumps({"text": text}) + "\n" for text in code_texts))
    meta = tokenize_corpus(corpus, small_tokenizer_path, tmp_path / "rows", seq_len=64, chunk_chars=200, records_per_shard=40,
                           workers=2)
    assert meta["shards"] > 1
    for name in sorted(p.name for p in packed_dir.glob("*_*.npy")):
        assert np.array_equal(np.load(packed_dir / name), np.load(tmp_path / "rows" / name)), name


def run_training(run_dir: Path, packed_dir: Path, tokenizer: Path, *extra: str) -> dict:
    args = parse_args([
        "--run-dir", str(run_dir), "--train-data", str(packed_dir), "--val-data", str(packed_dir),
        "--tokenizer", str(tokenizer), "--preset", "fixture", "--noise", "msn", "--batch-size", "4",
        "--lr", "3e-3", "--warmup-steps", "4", "--max-tokens", str(40 * 4 * 64), "--log-every", "5",
        "--eval-every", "0", "--val-rows", "8", "--threads", "1", "--precision", "fp32", "--quiet", *extra,
    ])
    return train(args)


def test_a_few_steps_lower_the_loss(tmp_path, packed_dir, small_tokenizer_path):
    progress = run_training(tmp_path / "run", packed_dir, small_tokenizer_path, "--max-steps", "40")
    losses = [json.loads(line)["loss"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]
    assert progress["step"] == 40 and progress["tokens_seen"] == 40 * 4 * 64
    assert losses[-1] < losses[0] - 1.0
    assert (tmp_path / "run" / "hf" / "tokenizer.json").exists()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["noise"] == "msn"


def test_resume_gives_the_same_state_as_a_straight_run(tmp_path, packed_dir, small_tokenizer_path):
    straight = run_training(tmp_path / "straight", packed_dir, small_tokenizer_path, "--max-steps", "8")
    run_training(tmp_path / "resumed", packed_dir, small_tokenizer_path, "--max-steps", "4")
    resumed = run_training(tmp_path / "resumed", packed_dir, small_tokenizer_path, "--max-steps", "8", "--resume")
    assert resumed["step"] == straight["step"] == 8
    assert resumed["data"] == straight["data"] and resumed["tokens_seen"] == straight["tokens_seen"]
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    for key, state in a["optimizer"]["state"].items():
        assert torch.equal(state["exp_avg"], b["optimizer"]["state"][key]["exp_avg"])
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]


def test_schedule_warms_up_then_decays_to_the_floor():
    values = [cosine_with_warmup(step, 10, 100, 0.1) for step in range(120)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(values[10:], values[11:]))
    assert values[100] == pytest.approx(0.1) and values[119] == pytest.approx(0.1)


# ---------------------------------------------------------------- copy-only rows, Muon (the copying experiments)


def test_copy_rows_repeat_a_span_of_another_row_and_are_seeded():
    from training.noise import FLAG_PADDING, FLAG_SEGMENT_START, FLAG_TARGET
    from training.train import with_copy_rows

    ids = np.arange(4 * 200).reshape(4, 200)  # every token distinct: a span's row and place are known
    flags = np.zeros((4, 200), dtype=np.uint8)
    flags[:, 0] = FLAG_SEGMENT_START
    flags[2, 150:] = FLAG_PADDING
    same_ids, same_flags = with_copy_rows(ids, flags, 0.0, np.random.default_rng(0))
    assert np.array_equal(same_ids, ids) and np.array_equal(same_flags, flags)

    new_ids, new_flags = with_copy_rows(ids, flags, 1.0, np.random.default_rng(7))
    again_ids, again_flags = with_copy_rows(ids, flags, 1.0, np.random.default_rng(7))
    assert np.array_equal(new_ids, again_ids) and np.array_equal(new_flags, again_flags)
    for row in range(4):
        tokens = new_ids[row]
        period = int(np.flatnonzero(tokens == tokens[0])[1])  # the pattern's tokens are distinct
        assert 8 <= period <= 64
        assert np.array_equal(tokens, np.resize(tokens[:period], 200))
        source, start = divmod(int(tokens[0]), 200)
        assert source != row
        assert np.array_equal(tokens[:period], ids[source, start : start + period])
        assert not (flags[source, start : start + period] & FLAG_PADDING).any()
        assert (new_flags[row] & FLAG_TARGET).all() and not (new_flags[row] & FLAG_PADDING).any()
        assert np.flatnonzero(new_flags[row] & FLAG_SEGMENT_START).tolist() == [0]

    shares = [with_copy_rows(ids, flags, 0.1, np.random.default_rng(seed))[0] for seed in range(400)]
    replaced = sum(int((batch != ids).any(axis=1).sum()) for batch in shares)
    assert 100 < replaced < 220  # about a tenth of 1,600 rows


def test_copy_rows_change_the_run_and_resume_exactly(tmp_path, packed_dir, small_tokenizer_path):
    plain = run_training(tmp_path / "plain", packed_dir, small_tokenizer_path, "--max-steps", "6")
    straight = run_training(tmp_path / "straight", packed_dir, small_tokenizer_path, "--max-steps", "6", "--copy-rows", "0.5")
    run_training(tmp_path / "resumed", packed_dir, small_tokenizer_path, "--max-steps", "3", "--copy-rows", "0.5")
    resumed = run_training(tmp_path / "resumed", packed_dir, small_tokenizer_path, "--max-steps", "6", "--copy-rows", "0.5",
                           "--resume")
    assert resumed["data"] == straight["data"] == plain["data"]  # the same rows are drawn; some are replaced
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    c = torch.load(tmp_path / "plain" / "checkpoint.pt", weights_only=False)
    assert all(torch.equal(tensor, b["model"][name]) for name, tensor in a["model"].items())
    assert not all(torch.equal(tensor, c["model"][name]) for name, tensor in a["model"].items())


def test_muon_trains_the_hidden_matrices_and_adamw_the_rest(small_tokenizer_path):
    from tokenizers import Tokenizer

    from training.train import build_model, make_optimizers

    args = parse_args(["--run-dir", "x", "--train-data", "x", "--preset", "fixture", "--max-tokens", "1"])
    model = build_model(args, Tokenizer.from_file(str(small_tokenizer_path)).get_vocab_size())
    adamw, muon = make_optimizers(model, "muon", 1e-3, 0.1)
    assert isinstance(adamw, torch.optim.AdamW) and isinstance(muon, torch.optim.Muon)
    in_muon = {id(p) for group in muon.param_groups for p in group["params"]}
    in_adamw = {id(p) for group in adamw.param_groups for p in group["params"]}
    names = {id(p): name for name, p in model.named_parameters()}
    assert in_muon.isdisjoint(in_adamw) and in_muon | in_adamw == set(names)
    assert all(".layers." in names[i] and "proj" in names[i] for i in in_muon)
    assert any("embed_tokens" in names[i] for i in in_adamw) and any("norm" in names[i] for i in in_adamw)
    assert muon.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    assert len(make_optimizers(model, "adamw", 1e-3, 0.1)) == 1


def test_muon_lowers_the_loss_and_resumes_exactly(tmp_path, packed_dir, small_tokenizer_path):
    progress = run_training(tmp_path / "long", packed_dir, small_tokenizer_path, "--max-steps", "30", "--optimizer", "muon")
    losses = [json.loads(line)["loss"] for line in (tmp_path / "long" / "log.jsonl").read_text().splitlines()
              if "loss" in json.loads(line)]
    assert progress["step"] == 30 and losses[-1] < losses[0] - 1.0

    straight = run_training(tmp_path / "straight", packed_dir, small_tokenizer_path, "--max-steps", "6", "--optimizer", "muon")
    run_training(tmp_path / "resumed", packed_dir, small_tokenizer_path, "--max-steps", "3", "--optimizer", "muon")
    resumed = run_training(tmp_path / "resumed", packed_dir, small_tokenizer_path, "--max-steps", "6", "--optimizer", "muon",
                           "--resume")
    assert resumed["step"] == straight["step"] == 6
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert all(torch.equal(tensor, b["model"][name]) for name, tensor in a["model"].items())
    assert len(a["muon"]["optimizer"]["state"]) > 0
    for key, state in a["muon"]["optimizer"]["state"].items():
        assert torch.equal(state["momentum_buffer"], b["muon"]["optimizer"]["state"][key]["momentum_buffer"])
    assert a["muon"]["scheduler"]["last_epoch"] == b["muon"]["scheduler"]["last_epoch"] == 6
    with pytest.raises(SystemExit, match="--optimizer adamw"):
        run_training(tmp_path / "resumed", packed_dir, small_tokenizer_path, "--max-steps", "7", "--resume")
