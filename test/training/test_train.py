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
