"""Evaluation tooling: metrics, deterministic cases, FIM prompting, and a real (memorised) tiny model end to end."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch
from training.code_model import CodeModel
from training.evaluate import (
    FimCompleter,
    OnnxModel,
    TorchModel,
    edit_similarity,
    interleave_by_language,
    levenshtein,
    log_softmax_loss,
    main,
    next_line_cases,
    validation_loss,
)
from training.export import export_model_dir
from training.model_config import make_config
from training.tokenizer import END_OF_TEXT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX


def test_levenshtein_and_edit_similarity():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3 and levenshtein("abc", "abc") == 0
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("abcd", "abcd") == 1.0
    assert edit_similarity("abcd", "abce") == pytest.approx(0.75)
    assert edit_similarity("", "xyz") == 0.0


def test_next_line_cases_are_deterministic_and_split_the_text(sample_code):
    records = [{"text": text, "path": f"f{i}.py", "language": "python"} for i, text in enumerate(sample_code)]
    cases = next_line_cases(records, count=6, per_file=2)
    assert cases == next_line_cases(records, count=6, per_file=2)
    assert len(cases) == 6
    for case in cases:
        original = next(r["text"] for r in records if r["path"] == case.source)
        assert case.prefix + case.target + "\n" + case.suffix == original
        assert case.prefix.endswith("\n") and "\n" not in case.target and len(case.target.strip()) >= 4


def test_log_softmax_loss_matches_torch():
    logits = np.random.default_rng(0).normal(size=(5, 11)).astype(np.float32)
    targets = [1, 0, 10, 3, 3]
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(targets), reduction="sum")
    assert log_softmax_loss(logits, targets) == pytest.approx(float(expected), rel=1e-5)


def fim_training_ids(tokenizer, case) -> list[int]:
    ids = {token: tokenizer.token_to_id(token) for token in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, END_OF_TEXT)}
    return ([ids[FIM_PREFIX]] + tokenizer.encode(case.prefix).ids + [ids[FIM_SUFFIX]] + tokenizer.encode(case.suffix).ids
            + [ids[FIM_MIDDLE]] + tokenizer.encode(case.target + "\n").ids + [ids[END_OF_TEXT]])


@pytest.fixture(scope="module")
def memorised(small_tokenizer, sample_code):
    """A tiny Llama trained until it reproduces two next-line FIM samples (a real model, not a stand-in)."""
    records = [{"text": text, "path": f"held_out_{i}.py", "language": lang}
               for i, (text, lang) in enumerate(zip(sample_code[:2], ["python", "python"]))]
    # The CLI's own selection (interleaved order, 2 per file), so the end-to-end test meets the same cases.
    cases = next_line_cases(interleave_by_language(records), count=2, per_file=2)
    torch.manual_seed(0)
    model = CodeModel(make_config("fixture", vocab_size=small_tokenizer.get_vocab_size()))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    batch = [torch.tensor([fim_training_ids(small_tokenizer, case)]) for case in cases]
    for _ in range(120):
        optimizer.zero_grad()
        loss = sum(model(ids, labels=ids).loss for ids in batch)
        loss.backward()
        optimizer.step()
    return model.eval(), records, cases


def test_memorised_model_completes_the_next_line(memorised, small_tokenizer):
    model, _, cases = memorised
    completer = FimCompleter(TorchModel(model), small_tokenizer, context=256)
    for case in cases:
        assert completer.complete(case.prefix, case.suffix, single_line=True, max_new_tokens=32) == case.target


def test_onnx_and_torch_greedy_agree(memorised, small_tokenizer, small_tokenizer_path, tmp_path):
    model, _, cases = memorised
    export_model_dir(model, small_tokenizer_path, tmp_path, "memorised", {"method": "baseline"})
    torch_completer = FimCompleter(TorchModel(model), small_tokenizer, context=256)
    onnx_completer = FimCompleter(OnnxModel(tmp_path), small_tokenizer, context=256)
    prompt = torch_completer.prompt(cases[0].prefix, cases[0].suffix, 16)
    never = lambda generated: False  # noqa: E731
    assert onnx_completer.model.greedy(prompt, 16, never) == torch_completer.model.greedy(prompt, 16, never)


def test_prompt_respects_the_context_budget(memorised, small_tokenizer):
    model, _, _ = memorised
    completer = FimCompleter(TorchModel(model), small_tokenizer, context=128)
    prefix, suffix = "x = 1\n" * 200 + "tail_of_prefix", "head_of_suffix\n" + "y = 2\n" * 200
    prompt = completer.prompt(prefix, suffix, max_new_tokens=16)
    assert len(prompt) == 128 - 16  # both sides long: the whole budget is used, nothing more
    text = small_tokenizer.decode(prompt, skip_special_tokens=False)
    assert text.startswith(FIM_PREFIX) and text.endswith(FIM_MIDDLE)
    assert f"tail_of_prefix{FIM_SUFFIX}head_of_suffix" in text


def test_validation_loss_is_low_on_memorised_text(memorised, small_tokenizer):
    model, _, cases = memorised
    torch_model = TorchModel(model)
    fim_text = small_tokenizer.decode(fim_training_ids(small_tokenizer, cases[0])[:-1], skip_special_tokens=False)
    trained = {"text": fim_text, "language": "python"}
    unseen = {"text": "zzqq 0x9f9f ~~ @@ ^^ unseen!!\n" * 3, "language": "other"}
    result = validation_loss(torch_model, small_tokenizer, [trained, unseen], context=128, max_tokens_per_language=10_000)
    assert set(result) == {"python", "other"}
    assert result["python"]["loss"] < 0.5 < result["other"]["loss"]
    assert result["python"]["bytes"] == len(fim_text.replace(FIM_PREFIX, "").replace(FIM_SUFFIX, "").replace(FIM_MIDDLE, "").encode())


def test_cli_end_to_end_on_an_exported_model(memorised, small_tokenizer_path, tmp_path):
    model, records, cases = memorised
    model_dir = tmp_path / "model"
    export_model_dir(model, small_tokenizer_path, model_dir, "memorised", {"method": "baseline"})
    val = tmp_path / "val.jsonl"
    val.write_text("".join(json.dumps(record) + "\n" for record in records))
    bench = tmp_path / "bench"
    bench.mkdir()
    with gzip.open(bench / "HumanEval-SingleLineInfilling.jsonl.gz", "wt") as out:
        for i, case in enumerate(cases):
            task = {"task_id": f"T/{i}", "prompt": case.prefix, "suffix": case.suffix, "canonical_solution": case.target + "\n"}
            out.write(json.dumps(task) + "\n")
    report = main(["--model", str(model_dir), "--val", str(val), "--humaneval-dir", str(bench),
                   "--next-line", "2", "--context", "256", "--out", str(tmp_path / "eval.json")])
    results = json.loads((tmp_path / "eval.json").read_text())["results"]
    assert results == json.loads(json.dumps(report["results"]))
    assert results["next-line"]["exact_match"] == 1.0 and results["next-line"]["count"] == 2
    assert results["he-single"]["exact_match"] == 1.0 and results["he-single"]["edit_similarity"] == 1.0
    assert "he-multi" not in results  # its file is absent
    assert results["loss"]["python"]["tokens"] > 0


def test_interleave_by_language_takes_languages_in_turn():
    records = [{"language": lang, "package": f"p{i % 3}", "path": f"{lang}{i}"} for lang in ("go", "python") for i in range(5)]
    records.append({"language": "rust", "package": "r", "path": "only.rs"})
    ordered = interleave_by_language(records)
    assert sorted(map(id, ordered)) == sorted(map(id, records))
    assert [r["language"] for r in ordered[:3]] == ["go", "python", "rust"]
    assert [r["language"] for r in ordered[3:5]] == ["go", "python"]
    assert interleave_by_language(list(reversed(records))) == ordered  # input order does not matter


def test_copy_cases_repeat_a_line_start_and_expect_its_rest():
    from training.evaluate import copy_cases

    text = "\n".join(["    result = compute_total(items, discount=rate)", "    log(result)", "    return result", "tail"])
    cases = copy_cases([{"text": text, "path": "a.py"}], 5, min_line_chars=20)
    assert len(cases) == 1
    prompt, target = cases[0]
    first = "    result = compute_total(items, discount=rate)"
    assert prompt.startswith(first + "\n    log(result)\n    return result\n")
    assert first == prompt.rsplit("\n", 1)[1] + target


def test_repo_headers_use_the_package_s_other_files_in_the_repo_layout(small_tokenizer):
    from training.evaluate import InfillCase, RepoHeaders

    records = [
        {"text": "def compute_total(items):\n    return sum(items)\n", "path": "pkg/total.py", "package": "pkg"},
        {"text": "x = compute_total([1, 2])\n", "path": "pkg/use.py", "package": "pkg"},
        {"text": "def compute_total(): pass\n", "path": "other/x.py", "package": "other"},
    ]
    headers = RepoHeaders(small_tokenizer, records)
    case = InfillCase("total = compute_total(items)\ny = ", "\n", "total", "python", "pkg/use.py", "pkg")
    text = small_tokenizer.decode(headers(case, 1000), skip_special_tokens=False)
    assert text.startswith("<|repo_name|>pkg\n<|file_sep|>pkg/total.py\ndef compute_total(items):")
    assert text.endswith("<|file_sep|>pkg/use.py\n")
    assert "other/x.py" not in text and "x = compute_total([1, 2])" not in text
