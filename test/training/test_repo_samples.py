"""Repo-level samples: layout, FIM orders, target parts, context choice, packing and pinned sources."""

from pathlib import Path

import numpy as np
import pytest

from training.corpus import sources
from training.data import pack_packages
from training.fim import DEFAULT_FIM_TOKENS
from training.noise import FLAG_TARGET
from training.repo_samples import (RepoIds, SourceFile, cursor_split, header_ids, identifiers, package_samples,
                                   past_indentation, pick_context, uniform_split, window_sample)

SPECIAL = RepoIds(prefix=1, suffix=2, middle=3, end_of_text=0, repo_name=5, file_sep=6)


def encode(text: str) -> list[int]:
    """One id per character (offset past the special ids), so layouts can be read back exactly."""
    return [100 + ord(c) for c in text]


def decode(ids) -> str:
    names = {1: "<P>", 2: "<S>", 3: "<M>", 0: "<E>", 5: "<R>", 6: "<F>"}
    return "".join(names[i] if i < 100 else chr(i - 100) for i in ids)


def test_header_is_qwen_repo_layout_with_the_current_path_last():
    ids = header_ids("pkg", [("a.py", "x = 1"), ("b.py", "y = 2")], "c.py", encode, SPECIAL)
    assert decode(ids) == "<R>pkg\n<F>a.py\nx = 1\n<F>b.py\ny = 2\n<F>c.py\n"


@pytest.mark.parametrize("seed", range(40))
def test_window_sample_orders_and_target_part(seed):
    rng = np.random.default_rng(seed)
    window = "def f(a):\n    return a + 1\n\nprint(f(2))\n"
    header = [5, 6]
    sample = window_sample(header, window, encode, SPECIAL, rng, fim_rate=0.6)
    text = decode(sample.ids[len(header):])
    target = decode(sample.ids[sample.target_start:sample.target_end])
    assert target.endswith("<E>")
    if not sample.is_fim:
        assert text == window + "<E>" and target == window[1:] + "<E>"
        return
    middle = target[:-3]
    if text.startswith("<P><S>"):  # SPM: suffix, then prefix right before the middle
        suffix, rest = text[len("<P><S>"):].split("<M>")
        prefix = rest[: len(rest) - len(middle) - 3]
    else:  # PSM
        prefix, rest = text[len("<P>"):].split("<S>")
        suffix = rest.split("<M>")[0]
    assert prefix + middle + suffix == window or (suffix == "" and window.startswith(prefix + middle))
    assert middle.strip()


def test_both_fim_orders_and_plain_occur():
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(200):
        sample = window_sample([], "abc\ndef\n", encode, SPECIAL, rng, fim_rate=0.6)
        kinds.add("plain" if not sample.is_fim else "spm" if sample.ids[:2] == [1, 2] else "psm")
    assert kinds == {"plain", "psm", "spm"}


def test_cursor_split_ends_the_middle_before_a_newline_and_never_blank():
    text = "one\n\n    two\nthree\n\nfour\n"
    line_ends = 0
    for seed in range(200):
        start, end = cursor_split(text, np.random.default_rng(seed))
        assert 0 <= start <= end <= len(text)
        assert end == len(text) or text[end] == "\n"
        assert text[start:end].strip() or not text[start:].strip()
        line_ends += text[start:start + 1] == "\n"
    assert 60 < line_ends < 170  # about half the cursors sit at a line's end, as in an editor


def test_line_end_share_sets_how_many_cursors_sit_at_a_line_end():
    text = "".join(f"value_{i} = compute({i})\n" for i in range(10))
    def share(line_end_share: float) -> float:
        ends = [cursor_split(text, np.random.default_rng(seed), line_end_share) for seed in range(400)]
        return sum(text[start:start + 1] == "\n" for start, _ in ends) / len(ends)
    # Some inside-the-line draws land on its end, and the last line's end moves the cursor to its start.
    low, third, high = share(0.0), share(0.33), share(1.0)
    assert low < 0.15 and high > 0.8 and low + 0.2 < third < high - 0.4


def test_indent_share_puts_cursors_right_after_the_indentation():
    text = "".join(f"    value_{i} = compute({i})\n" for i in range(10))
    def at_indent(indent_share: float) -> float:
        starts = [cursor_split(text, np.random.default_rng(seed), 0.25, indent_share)[0] for seed in range(400)]
        return sum(text[start - 4:start] == "    " and text[start - 5:start - 4] in ("", "\n") for start in starts) / len(starts)
    # Inside-the-line draws land right after the indentation about 1 time in 24 here.
    assert at_indent(0.0) < 0.1 and 0.3 < at_indent(0.4) < 0.55
    same = [cursor_split(text, np.random.default_rng(seed), 0.25) for seed in range(50)]
    assert same == [cursor_split(text, np.random.default_rng(seed), 0.25, 0.0) for seed in range(50)]


def test_snap_indentation_moves_uniform_splits_out_of_the_leading_whitespace():
    text = "".join(f"        value_{i} = compute({i})\n" for i in range(10))
    assert past_indentation(text, 3) == 8 and past_indentation(text, 0) == 0, "inside moves, the line's start stays"
    assert past_indentation(text, 12) == 12, "after content nothing moves"
    def inside(snap: bool) -> int:
        starts = [uniform_split(text, np.random.default_rng(seed), snap)[0] for seed in range(300)]
        return sum(0 < start - (text.rfind("\n", 0, start) + 1) < 8 for start in starts)
    assert inside(False) > 30 and inside(True) == 0
    assert [uniform_split(text, np.random.default_rng(s)) for s in range(30)] == \
        [uniform_split(text, np.random.default_rng(s), False) for s in range(30)]


def test_end_of_file_samples_have_no_suffix():
    rng = np.random.default_rng(0)
    suffixes = []
    for _ in range(300):
        sample = window_sample([], "".join(f"line {i}\n" for i in range(40)), encode, SPECIAL, rng, fim_rate=1.0)
        text = decode(sample.ids)
        suffixes.append(text.split("<S>")[1].split("<M>")[0])
    empty = sum(not s for s in suffixes)
    assert 30 < empty < 100  # END_OF_FILE_SHARE of 300, and a few that end at the window's end


def test_context_prefers_chunks_sharing_identifiers_and_keeps_the_budget():
    window = identifiers("total = compute_total(items)\n")
    chunks = [("a.py", "unrelated_name = 3\n", identifiers("unrelated_name = 3")),
              ("b.py", "def compute_total(items):\n", identifiers("def compute_total(items):")),
              ("c.py", "x" * 500, identifiers("x" * 500))]
    assert pick_context(window, chunks, budget_chars=100) == [("b.py", "def compute_total(items):\n")]
    assert pick_context(window, chunks, budget_chars=5) == []


def test_package_samples_never_use_the_current_file_as_context():
    files = [SourceFile("a.py", "alpha_value = 1\n"), SourceFile("b.py", "print(alpha_value)\n")]
    rng = np.random.default_rng(0)
    for _ in range(20):
        for sample in package_samples("pkg", files, encode, SPECIAL, rng, 1600, 2400, 0.6):
            text = decode(sample.ids)
            current = text.rsplit("<F>", 1)[1].split("\n", 1)[0]
            assert f"<F>{current}\n" not in text.rsplit("<F>", 1)[0]


class CharTokenizer:
    """The parts of tokenizers.Tokenizer that packing uses."""

    names = {"<|fim_prefix|>": 1, "<|fim_suffix|>": 2, "<|fim_middle|>": 3, "<|endoftext|>": 0,
             "<|repo_name|>": 5, "<|file_sep|>": 6}

    def token_to_id(self, name):
        return self.names.get(name)

    def encode(self, text, add_special_tokens=False):
        return type("Encoding", (), {"ids": encode(text)})()

    def get_vocab_size(self):
        return 400


def test_packing_is_deterministic_and_flags_targets():
    packages = [("pkg", [SourceFile(f"m{i}.py", f"value_{i} = helper_{i % 3}()\n" * 30) for i in range(6)])]
    first = pack_packages(packages, CharTokenizer(), (0, 0), 128, 400, 0.6, DEFAULT_FIM_TOKENS)
    second = pack_packages(packages, CharTokenizer(), (0, 0), 128, 400, 0.6, DEFAULT_FIM_TOKENS)
    assert first[0].shape[1] == 128 and first[0].shape[0] > 0
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert 0 < (first[1] & FLAG_TARGET).mean() < 1


def test_pinned_versions_apply_to_npm_specs_and_debian_downloads(tmp_path: Path):
    (tmp_path / "npm.txt").write_text("left-pad\n@scope/thing\nfixed@1.0.0\n")
    pins = {("npm", "left-pad"): "1.3.0", ("npm", "@scope/thing"): "2.0.1", ("debian", "python3-six"): "1.16.0-4"}
    assert sources.npm_specs(tmp_path, pins) == ["left-pad@1.3.0", "@scope/thing@2.0.1", "fixed@1.0.0"]
    assert sources.debian_download_spec("python3-six", pins) == "python3-six=1.16.0-4"
    assert sources.debian_download_spec("python3-other", pins) == "python3-other"


def test_the_repository_pins_every_listed_package():
    pins = sources.pinned_versions()
    npm_names = [sources.npm_name_of(spec) for spec in sources.read_list(sources.SOURCE_LISTS_DIR / "npm.txt")]
    assert all(("npm", name) in pins for name in npm_names)
    assert all(("debian", name) in pins for name in sources.debian_packages())


def test_a_huge_package_keeps_a_seeded_subset_of_its_files_within_the_cap(tmp_path: Path):
    import json
    from training.data import package_groups
    records = [{"package": "big", "path": f"b{i}.py", "text": "x" * 100} for i in range(50)]
    records += [{"package": "small", "path": f"s{i}.py", "text": "y" * 100} for i in range(3)]
    corpus = tmp_path / "train.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    groups = dict(package_groups(corpus, seed=0, max_records=None, max_package_chars=1000))
    assert [f.path for f in groups["small"]] == ["s0.py", "s1.py", "s2.py"]
    big = [f.path for f in groups["big"]]
    assert len(big) == 10 and big == sorted(big, key=lambda p: int(p[1:-3]))  # within the cap, in corpus order
    assert big != [f"b{i}.py" for i in range(10)]  # a sample of the package, not its first files
    assert dict(package_groups(corpus, seed=0, max_records=None, max_package_chars=1000))["big"] == groups["big"]


def test_some_samples_carry_a_near_copy_of_the_window_as_the_last_context_chunk():
    from training.repo_samples import NEAR_COPY_SHARE, near_copy
    window = "".join(f"value_{i} = compute({i})\n" for i in range(20))
    copy = near_copy(window, np.random.default_rng(0))
    lines = copy.split("\n")
    assert 12 <= len(lines) < 20 and all(line + "\n" in window for line in lines)
    files = [SourceFile("a.py", window), SourceFile("b.py", "other = 1\n")]
    samples = package_samples("pkg", files, encode, SPECIAL, np.random.default_rng(1), window_chars=2000,
                              context_chars=0, fim_rate=0.0)
    assert len(samples) == 2
    with_copy = 0
    for seed in range(200):
        sample = package_samples("pkg", files, encode, SPECIAL, np.random.default_rng(seed), 2000, 0, 0.0)[0]
        with_copy += "<F>b.py\nvalue_" in decode(sample.ids)
    assert abs(with_copy / 200 - NEAR_COPY_SHARE) < 0.07
    from training.repo_samples import SampleMix
    doubled = sum("<F>b.py\nvalue_" in decode(package_samples("pkg", files, encode, SPECIAL, np.random.default_rng(seed),
                                                              2000, 0, 0.0, SampleMix(near_copy_share=0.3))[0].ids)
                  for seed in range(200))
    assert abs(doubled / 200 - 0.3) < 0.07
