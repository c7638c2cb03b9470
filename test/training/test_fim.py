"""FIM transformation (PSM layout, target parts), chunking and row packing."""

from __future__ import annotations

import numpy as np

from training.data import RowPacker, pack_texts
from training.fim import SpecialIds, chunk_text, fim_sample, make_sample, plain_sample, split_points
from training.noise import FLAG_SEGMENT_START, FLAG_TARGET


def encoder(tokenizer):
    return lambda text: tokenizer.encode(text, add_special_tokens=False).ids


def test_psm_layout_and_target_is_the_middle_with_end_of_text(small_tokenizer):
    special = SpecialIds.from_tokenizer(small_tokenizer)
    encode = encoder(small_tokenizer)
    sample = fim_sample("def add(a, b):\n", "    return a + b\n", "\n\nprint(add(1, 2))\n", encode, special)
    ids = sample.ids
    assert ids[0] == special.prefix and ids.count(special.prefix) == 1
    suffix_at, middle_at = ids.index(special.suffix), ids.index(special.middle)
    assert 0 < suffix_at < middle_at and ids[-1] == special.end_of_text
    assert small_tokenizer.decode(ids[1:suffix_at]) == "def add(a, b):\n"
    assert small_tokenizer.decode(ids[suffix_at + 1 : middle_at]) == "\n\nprint(add(1, 2))\n"
    assert (sample.target_start, sample.target_end) == (middle_at + 1, len(ids))
    assert small_tokenizer.decode(ids[sample.target_start : -1]) == "    return a + b\n"


def test_plain_sample_is_text_then_end_of_text_with_target_after_first_token(small_tokenizer):
    special = SpecialIds.from_tokenizer(small_tokenizer)
    sample = plain_sample("import os\n", encoder(small_tokenizer), special)
    assert sample.ids[-1] == special.end_of_text and special.prefix not in sample.ids
    assert small_tokenizer.decode(sample.ids[:-1]) == "import os\n"
    assert (sample.target_start, sample.target_end) == (1, len(sample.ids))


def test_fim_parts_reassemble_the_text_and_about_half_are_fim(small_tokenizer, sample_code):
    special = SpecialIds.from_tokenizer(small_tokenizer)
    rng = np.random.default_rng(0)
    fim_count, trials = 0, 400
    for trial in range(trials):
        text = sample_code[trial % len(sample_code)]
        sample = make_sample(text, encoder(small_tokenizer), special, rng, fim_rate=0.5)
        ids = sample.ids
        if sample.is_fim:
            fim_count += 1
            suffix_at, middle_at = ids.index(special.suffix), ids.index(special.middle)
            prefix = small_tokenizer.decode(ids[1:suffix_at])
            suffix = small_tokenizer.decode(ids[suffix_at + 1 : middle_at])
            middle = small_tokenizer.decode(ids[middle_at + 1 : -1])
            assert prefix + middle + suffix == text
        else:
            assert small_tokenizer.decode(ids[:-1]) == text
    assert 0.42 < fim_count / trials < 0.58


def test_split_points_cover_the_whole_range_uniformly():
    rng = np.random.default_rng(2)
    points = np.array([split_points(9, rng) for _ in range(5000)])
    assert (points[:, 0] <= points[:, 1]).all()
    assert points.min() == 0 and points.max() == 9
    counts = np.bincount(points.ravel(), minlength=10)
    assert counts.min() > 0.6 * counts.mean()


def test_chunks_rejoin_to_the_text_and_respect_the_budget(sample_code):
    text = "".join(sample_code * 7) + "x" * 450 + "\n"
    chunks = chunk_text(text, 200)
    assert "".join(chunks) == text
    assert all(0 < len(chunk) <= 200 for chunk in chunks)


def test_packed_rows_hold_the_samples_back_to_back_with_flags(small_tokenizer, sample_code):
    ids, flags = pack_texts(sample_code * 8, small_tokenizer, seed=(0, 0), seq_len=32, chunk_chars=80)
    again_ids, _ = pack_texts(sample_code * 8, small_tokenizer, seed=(0, 0), seq_len=32, chunk_chars=80)
    assert ids.shape[1] == 32 and ids.shape[0] > 10 and np.array_equal(ids, again_ids)
    assert (flags[:, 0] & FLAG_SEGMENT_START).all()  # every row starts a segment
    eot = small_tokenizer.token_to_id("<|endoftext|>")
    stream, stream_flags = ids.ravel(), flags.ravel()
    # After each <|endoftext|> a new sample starts; the token before it is always target.
    for position in np.flatnonzero(stream[:-1] == eot):
        assert stream_flags[position + 1] & FLAG_SEGMENT_START
        assert stream_flags[position] & FLAG_TARGET


def test_packer_continues_a_long_sample_on_the_next_row():
    packer = RowPacker(8)
    from training.fim import Sample

    packer.add(Sample(ids=list(range(1, 21)), target_start=1, target_end=20, is_fim=False))
    ids, flags = packer.arrays(vocab_size=100)
    assert ids.tolist() == [list(range(1, 9)), list(range(9, 17))]
    assert flags[1, 0] & FLAG_SEGMENT_START and flags[1, 0] & FLAG_TARGET
    assert not flags[0, 0] & FLAG_TARGET
