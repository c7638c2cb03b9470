"""`npm run model -- msn-tune`: MSN fine-tuning of a tiny random checkpoint on a fixture repository, end to end
(samples, a few CPU steps through training/train.py, export, parity, install, lossless decoding), and the
noise spans of the collated batch of its samples."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from tokenizers import Tokenizer

from conftest import REPO_ROOT
from test_models import decodes_losslessly, run_cli, save_checkpoint
from training.msn_tune import pack_repo, read_repo
from training.noise import FLAG_TARGET, collate, segments_of_row

WORKSPACE = REPO_ROOT / "test" / "fixtures" / "sample-workspace"


def test_msn_tune_trains_a_few_steps_exports_and_installs_a_model_that_decodes_losslessly(tmp_path):
    base = save_checkpoint(tmp_path / "base", "qwen2")
    models_dir = tmp_path / "models"
    result = run_cli(["msn-tune", str(base), "--repo", str(WORKSPACE), "--holdout", "tests", "--tokens", "2048",
                      "--seq-len", "128", "--batch-size", "2", "--lr", "1e-3", "--threads", "1", "--quantize", "none",
                      "--out", str(models_dir)], {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "estimated training time:" in result.stdout and "tokens/s" in result.stdout
    assert "(repo-level samples)" in result.stdout
    folder = models_dir / "base-msn-sample-workspace"
    msn = json.loads((folder / "msn.json").read_text())
    assert msn["training"]["method"] == "msn" and msn["training"]["msn_span_length"] == 5
    assert msn["training"]["tokens_seen"] == 2048 and msn["training"]["step"] == 8
    info = json.loads((folder / "source.json").read_text())
    assert info["parity_max_abs_diff"]["pytorch"] < 1e-4
    assert [p.name for p in models_dir.iterdir()] == [folder.name]  # the run folder is gone
    listing = run_cli(["list", "--out", str(models_dir)], {})
    assert f"msn-tune of {base}" in listing.stdout
    decodes_losslessly(folder, tmp_path)


def test_the_files_of_the_repository_become_repo_level_samples_with_one_msn_span_each(tmp_path):
    files = read_repo(WORKSPACE, WORKSPACE / "tests")
    paths = {file.path for file in files}
    assert paths and not any(path.startswith("tests/") for path in paths)
    tokenizer_path = REPO_ROOT / "test" / "fixtures" / "tiny-model" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    ids, flags, layout = pack_repo(files, "sample-workspace", tokenizer, json.loads(tokenizer_path.read_text()), 256, 4096, 0)
    assert layout == "repo" and ids.shape[1] == 256 and ids.shape[0] * 256 >= 4096
    repo_name = tokenizer.token_to_id("<|repo_name|>")
    assert (ids == repo_name).sum() > 0  # the repo-level header
    batch = collate(ids[:8], flags[:8], "msn", 5, np.random.default_rng(3))
    inputs, labels = batch["input_ids"].numpy(), batch["labels"].numpy()
    assert (labels == ids[:8]).all()  # clean labels
    spans = 0
    for row in range(8):
        changed = np.flatnonzero(inputs[row] != labels[row])
        for segment in segments_of_row(flags[row]):
            inside = changed[(changed >= segment.start) & (changed < segment.end)]
            if len(inside) == 0:
                continue
            spans += 1
            assert inside.max() - inside.min() < 5  # one span of at most 5 tokens
            assert segment.target_start <= inside.min() and inside.max() < segment.target_end
            assert all(flags[row][i] & FLAG_TARGET for i in inside)
            earlier = set(labels[row][segment.start:inside.min()].tolist())
            assert all(int(inputs[row][i]) in earlier for i in inside)  # drawn from earlier tokens of the sample
    assert spans > 0  # (a row may hold only a header, and a drawn token may equal the one it replaces)


def test_msn_tune_refuses_a_folder_without_code(tmp_path):
    base = save_checkpoint(tmp_path / "base", "llama")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(["msn-tune", str(base), "--repo", str(empty), "--out", str(tmp_path / "m")], {})
    assert result.returncode == 2 and "has no code files to train on" in result.stderr
