"""Near-duplicate detection of the corpus build (training/corpus/near_dup.py)."""

import numpy as np

from training.corpus.near_dup import near_duplicates, signature, similarity


def module(name: str, lines: int) -> str:
    return "".join(f"def {name}_{i}(value):\n    return value * {i} + offset_{i % 7}\n\n" for i in range(lines))


def test_a_lightly_edited_copy_is_near_and_other_code_is_not():
    original = module("scale", 60)
    edited = original.replace("def scale_17(value):\n    return value * 17 + offset_3\n", "def scale_17(value):\n    return 0\n")
    other = module("shift", 60).replace("value", "amount")
    assert similarity(signature(original), signature(edited)) >= 0.85
    assert similarity(signature(original), signature(other)) < 0.3


def test_the_later_copy_is_dropped_and_the_result_is_deterministic():
    original = module("scale", 60)
    texts = [original, module("other", 40).replace("value", "x"), original + "# trailing comment\n", "short"]
    sigs = [signature(t) for t in texts]
    assert near_duplicates(sigs) == {2}
    assert np.array_equal(signature(texts[0]), sigs[0])
    assert near_duplicates([signature(t) for t in texts]) == {2}


def test_tiny_and_empty_texts_have_signatures():
    assert signature("").shape == signature("a b").shape == signature(module("f", 3)).shape
