"""Training data: tokenizer training on the corpus, tokenization into packed rows, batch order.

Corpus records are JSON lines {"text", "path", "package", "language", ...}. Each document is cut
into chunks at line boundaries, each chunk becomes a FIM or plain sample (training/fim.py), and the
samples are packed back to back into rows of `seq_len` tokens (a sample that does not fit is
continued on the next row). Every token carries flags (training/noise.py) telling the collator where
samples start and which tokens are their target part.

Shards of `records_per_shard` records are written as ids_NNNNN.npy / flags_NNNNN.npy; a shard that
exists is skipped, so an interrupted run resumes where it stopped. Everything is seeded by
(seed, shard index), so a rerun gives the same arrays.

CLI:
  python -m training.data tokenizer --corpus training/data/corpus/train.jsonl --sample-mb 30 --out T.json
  python -m training.data tokenize --corpus training/data/corpus/train.jsonl --tokenizer T.json --out DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import multiprocessing
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from training.fim import DEFAULT_FIM_TOKENS, Sample, SpecialIds, chunk_text, make_sample
from training.noise import FLAG_SEGMENT_START, FLAG_TARGET
from training.repo_samples import RepoIds, SampleMix, SourceFile, package_samples
from training.tokenizer import FILE_SEP, REPO_NAME

SEQ_LEN = 512
CHUNK_CHARS = 1600  # ~500 tokens of code at ~3.3 characters per token: most samples fill one row
RECORDS_PER_SHARD = 2000
REPO_CONTEXT_CHARS = 2400  # most context a repo-level sample gets (with a 1600-char window: ~1,000 tokens)
LAYOUTS = ("file", "repo")


def read_records(corpus: Path) -> Iterator[dict]:
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def sample_texts(corpus: Path, max_bytes: int, seed: int) -> Iterator[str]:
    """A seeded random subset of the corpus texts of about `max_bytes` (for tokenizer training)."""
    sizes = [len(record["text"].encode("utf-8")) for record in read_records(corpus)]
    keep_probability = min(1.0, max_bytes / max(1, sum(sizes)))
    keep = np.random.default_rng(seed).random(len(sizes)) < keep_probability
    for index, record in enumerate(read_records(corpus)):
        if keep[index]:
            yield record["text"]


class RowPacker:
    """Packs samples back to back into rows of seq_len tokens with per-token flags."""

    def __init__(self, seq_len: int):
        self.seq_len = seq_len
        self.rows_ids: list[np.ndarray] = []
        self.rows_flags: list[np.ndarray] = []
        self._ids: list[int] = []
        self._flags: list[int] = []

    def add(self, sample: Sample) -> None:
        flags = [0] * len(sample.ids)
        for position in range(sample.target_start, sample.target_end):
            flags[position] |= FLAG_TARGET
        flags[0] |= FLAG_SEGMENT_START
        self._ids.extend(sample.ids)
        self._flags.extend(flags)
        while len(self._ids) >= self.seq_len:
            row_ids, self._ids = self._ids[: self.seq_len], self._ids[self.seq_len :]
            row_flags, self._flags = self._flags[: self.seq_len], self._flags[self.seq_len :]
            if self._flags:  # the rest of a cut sample starts the next row as its own segment
                self._flags[0] |= FLAG_SEGMENT_START
            self.rows_ids.append(np.asarray(row_ids, dtype=np.int32))
            self.rows_flags.append(np.asarray(row_flags, dtype=np.uint8))

    def arrays(self, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Complete rows as ([rows, seq_len] ids, flags); the trailing partial row is dropped."""
        dtype = np.uint16 if vocab_size <= 65536 else np.int32
        if not self.rows_ids:
            return np.zeros((0, self.seq_len), dtype), np.zeros((0, self.seq_len), np.uint8)
        return np.stack(self.rows_ids).astype(dtype), np.stack(self.rows_flags)


def pack_texts(
    texts: Iterable[str],
    tokenizer,
    seed: Sequence[int],
    seq_len: int = SEQ_LEN,
    chunk_chars: int = CHUNK_CHARS,
    fim_rate: float = 0.5,
    fim_tokens: Sequence[str] = DEFAULT_FIM_TOKENS,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk, FIM-transform, tokenize and pack `texts` deterministically for `seed`."""
    rng = np.random.default_rng(list(seed))
    special = SpecialIds.from_tokenizer(tokenizer, fim_tokens)

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False).ids if text else []

    packer = RowPacker(seq_len)
    for text in texts:
        for chunk in chunk_text(text, chunk_chars):
            packer.add(make_sample(chunk, encode, special, rng, fim_rate))
    return packer.arrays(tokenizer.get_vocab_size())


def pack_packages(
    packages: Iterable[tuple[str, list[SourceFile]]],
    tokenizer,
    seed: Sequence[int],
    seq_len: int,
    chunk_chars: int,
    fim_rate: float,
    fim_tokens: Sequence[str],
    context_chars: int = REPO_CONTEXT_CHARS,
    mix: SampleMix = SampleMix(),
) -> tuple[np.ndarray, np.ndarray]:
    """Repo-level samples (training/repo_samples.py) of each package, packed deterministically for `seed`."""
    rng = np.random.default_rng(list(seed))
    special = RepoIds.from_tokenizer(tokenizer, [*fim_tokens, REPO_NAME, FILE_SEP])

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False).ids if text else []

    samples: list[Sample] = []
    for name, files in packages:
        samples += package_samples(name, files, encode, special, rng, chunk_chars, context_chars, fim_rate, mix)
    packer = RowPacker(seq_len)
    for index in rng.permutation(len(samples)):  # mix packages inside rows
        packer.add(samples[index])
    return packer.arrays(tokenizer.get_vocab_size())


def package_groups(corpus: Path, seed: int, max_records: int | None,
                   max_package_chars: int | None = None) -> list[tuple[str, list[SourceFile]]]:
    """The corpus's files grouped by package (files in corpus order), packages in a seeded order. A package
    over `max_package_chars` keeps a seeded subset of its files (in corpus order), so one huge package
    (a language's standard library) does not fill a quarter of the rows."""
    groups: dict[str, list[SourceFile]] = {}
    for record in read_records(corpus):
        groups.setdefault(record["package"], []).append(SourceFile(record["path"], record["text"]))
    names = sorted(groups)
    order = np.random.default_rng([seed, 1]).permutation(len(names))
    chosen, records = [], 0
    for index in order:
        if max_records is not None and records >= max_records:
            break
        files = groups[names[index]]
        if max_package_chars is not None and sum(len(f.text) for f in files) > max_package_chars:
            files = _files_within(files, max_package_chars, np.random.default_rng([seed, 2, int(index)]))
        chosen.append((names[index], files))
        records += len(files)
    return chosen


def _files_within(files: list[SourceFile], max_chars: int, rng: np.random.Generator) -> list[SourceFile]:
    kept, used = set(), 0
    for position in rng.permutation(len(files)):
        if used + len(files[position].text) <= max_chars:
            kept.add(int(position))
            used += len(files[position].text)
    return [file for position, file in enumerate(files) if position in kept]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shard_contents(corpus: Path, layout: str, records_per_shard: int, max_records: int | None, seed: int,
                    max_package_chars: int | None) -> Iterator[list]:
    """The corpus cut into shards: whole packages of about `records_per_shard` files (repo layout) or
    `records_per_shard` texts (file layout)."""
    shard: list = []
    if layout == "repo":
        files_in_shard = 0
        for name, files in package_groups(corpus, seed, max_records, max_package_chars):
            shard.append((name, files))
            files_in_shard += len(files)
            if files_in_shard >= records_per_shard:
                yield shard
                shard, files_in_shard = [], 0
    else:
        for count, record in enumerate(read_records(corpus)):
            if max_records is not None and count >= max_records:
                break
            shard.append(record["text"])
            if len(shard) == records_per_shard:
                yield shard
                shard = []
    if shard:
        yield shard


_worker_tokenizers: dict[str, object] = {}


def _pack_shard(tokenizer_path: str, out_dir: Path, layout: str, seed: int, seq_len: int, chunk_chars: int,
                fim_rate: float, fim_tokens: tuple[str, ...], mix: SampleMix, item: tuple[int, list]) -> tuple[int, str]:
    """Packs one shard into ids_/flags_NNNNN.npy (kept if both exist); returns (rows, status)."""
    shard_index, contents = item
    ids_path = out_dir / f"ids_{shard_index:05d}.npy"
    flags_path = out_dir / f"flags_{shard_index:05d}.npy"
    if ids_path.exists() and flags_path.exists():
        return np.load(ids_path, mmap_mode="r").shape[0], "kept"
    if tokenizer_path not in _worker_tokenizers:
        from tokenizers import Tokenizer
        _worker_tokenizers[tokenizer_path] = Tokenizer.from_file(tokenizer_path)
    tokenizer = _worker_tokenizers[tokenizer_path]
    if layout == "repo":
        ids, flags = pack_packages(contents, tokenizer, (seed, shard_index), seq_len, chunk_chars, fim_rate, fim_tokens,
                                   mix=mix)
    else:
        ids, flags = pack_texts(contents, tokenizer, (seed, shard_index), seq_len, chunk_chars, fim_rate, fim_tokens)
    np.save(flags_path.with_suffix(".tmp.npy"), flags)
    np.save(ids_path.with_suffix(".tmp.npy"), ids)
    flags_path.with_suffix(".tmp.npy").rename(flags_path)
    ids_path.with_suffix(".tmp.npy").rename(ids_path)
    return ids.shape[0], "wrote"


def tokenize_corpus(
    corpus: Path,
    tokenizer_path: Path,
    out_dir: Path,
    seed: int = 0,
    seq_len: int = SEQ_LEN,
    chunk_chars: int = CHUNK_CHARS,
    fim_rate: float = 0.5,
    records_per_shard: int = RECORDS_PER_SHARD,
    max_records: int | None = None,
    fim_tokens: Sequence[str] = DEFAULT_FIM_TOKENS,
    layout: str = "file",
    workers: int = 1,
    max_package_mb: float | None = None,
    mix: SampleMix = SampleMix(),
) -> dict:
    """Write packed shards of `corpus` to `out_dir` (existing shards are kept) and a meta.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = dict(
        corpus=str(corpus), tokenizer_sha256=file_sha256(tokenizer_path), seed=seed, seq_len=seq_len,
        chunk_chars=chunk_chars, fim_rate=fim_rate, records_per_shard=records_per_shard, max_records=max_records,
        fim_tokens=list(fim_tokens),
    )
    if layout != "file":  # older shard folders have no layout entry and are file-level
        settings["layout"] = layout
    if max_package_mb is not None:
        settings["max_package_mb"] = max_package_mb
    if mix != SampleMix():  # folders made with the default mix have no entry
        # indent_share and snap_indentation came later: folders made before them keep the settings they were made with.
        settings["mix"] = {k: v for k, v in dataclasses.asdict(mix).items() if k not in ("indent_share", "snap_indentation") or v}
    meta_path = out_dir / "meta.json"
    if meta_path.exists():
        previous = json.loads(meta_path.read_text())
        if previous.get("settings") != settings:
            raise SystemExit(f"{out_dir} holds shards made with other settings; use another --out")
    meta_path.write_text(json.dumps({"settings": settings, "complete": False}, indent=1))

    started = time.time()
    max_package_chars = None if max_package_mb is None else int(max_package_mb * 1e6)
    shards = list(_shard_contents(corpus, layout, records_per_shard, max_records, seed, max_package_chars))
    pack = functools.partial(_pack_shard, str(tokenizer_path), out_dir, layout, seed, seq_len, chunk_chars, fim_rate,
                             tuple(fim_tokens), mix)
    total_rows = 0
    # Each shard is seeded by (seed, shard index) alone, so the arrays do not depend on the worker count.
    with multiprocessing.get_context("fork").Pool(max(1, workers)) as pool:
        for shard_index, (rows, status) in enumerate(pool.imap(pack, enumerate(shards))):
            total_rows += rows
            print(f"shard {shard_index:5d} {status}: {rows} rows, total {total_rows * seq_len / 1e6:.2f}M tokens,"
                  f" {time.time() - started:.0f}s", flush=True)
    shard_index = len(shards)
    meta = {"settings": settings, "complete": True, "shards": shard_index, "rows": total_rows, "tokens": total_rows * seq_len}
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


class PackedRows:
    """All shards of a tokenized directory as two in-memory arrays [rows, seq_len]."""

    def __init__(self, directory: Path):
        ids_files = sorted(Path(directory).glob("ids_*.npy"))
        if not ids_files:
            raise FileNotFoundError(f"no ids_*.npy shards in {directory}")
        self.ids = np.concatenate([np.load(path) for path in ids_files])
        self.flags = np.concatenate([np.load(path.with_name(path.name.replace("ids_", "flags_"))) for path in ids_files])
        self.seq_len = self.ids.shape[1]

    def __len__(self) -> int:
        return self.ids.shape[0]


def epoch_order(rows: int, seed: int, epoch: int) -> np.ndarray:
    """The seeded permutation of row indices used in `epoch`."""
    return np.random.default_rng([seed, epoch]).permutation(rows)


class BatchCursor:
    """Where training is in the data: a position in the seeded order of rows, epoch after epoch.

    Its state (epoch, offset) is saved in checkpoints, so a resumed run reads the same rows next.
    A global batch of `world * batch` consecutive rows is split between DDP ranks.
    """

    def __init__(self, rows: int, seed: int, epoch: int = 0, offset: int = 0):
        self.rows, self.seed, self.epoch, self.offset = rows, seed, epoch, offset
        self._order = epoch_order(rows, seed, epoch)

    def next_global_batch(self, size: int) -> np.ndarray:
        if size > self.rows:
            raise ValueError(f"batch of {size} rows but only {self.rows} rows of data")
        if self.offset + size > self.rows:  # drop the epoch's tail so every batch is full
            self.epoch += 1
            self.offset = 0
            self._order = epoch_order(self.rows, self.seed, self.epoch)
        batch = self._order[self.offset : self.offset + size]
        self.offset += size
        return batch

    def state(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset}


def train_tokenizer_on_corpus(corpus: Path, sample_mb: float, vocab_size: int, out: Path, seed: int = 0) -> None:
    from training.tokenizer import train_tokenizer

    started = time.time()
    tokenizer = train_tokenizer(sample_texts(corpus, int(sample_mb * 1e6), seed), vocab_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out))
    print(f"wrote {out}: vocab {tokenizer.get_vocab_size()} in {time.time() - started:.0f}s", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    tok = commands.add_parser("tokenizer", help="train the byte-level BPE on a sample of the corpus")
    tok.add_argument("--corpus", type=Path, required=True)
    tok.add_argument("--sample-mb", type=float, default=30)
    tok.add_argument("--vocab", type=int, default=8192)
    tok.add_argument("--seed", type=int, default=0)
    tok.add_argument("--out", type=Path, required=True)

    pack = commands.add_parser("tokenize", help="tokenize + FIM + pack the corpus into .npy shards")
    pack.add_argument("--corpus", type=Path, required=True)
    pack.add_argument("--tokenizer", type=Path, required=True)
    pack.add_argument("--out", type=Path, required=True)
    pack.add_argument("--seed", type=int, default=0)
    pack.add_argument("--seq-len", type=int, default=SEQ_LEN)
    pack.add_argument("--chunk-chars", type=int, default=CHUNK_CHARS)
    pack.add_argument("--fim-rate", type=float, default=0.5)
    pack.add_argument("--records-per-shard", type=int, default=RECORDS_PER_SHARD)
    pack.add_argument("--max-records", type=int, default=None)
    pack.add_argument("--layout", choices=LAYOUTS, default="file",
                      help="file: each file alone; repo: repo-level samples with context from the same package")
    pack.add_argument("--max-package-mb", type=float, default=None,
                      help="repo layout: a bigger package keeps a seeded subset of its files of this size")
    pack.add_argument("--line-end-share", type=float, default=SampleMix.line_end_share,
                      help="repo layout: cursor-like FIM splits at a line's end (the rest inside the line)")
    pack.add_argument("--near-copy-share", type=float, default=SampleMix.near_copy_share,
                      help="repo layout: samples whose last context chunk is a near copy of the window")
    pack.add_argument("--indent-share", type=float, default=SampleMix.indent_share,
                      help="repo layout: cursor-like FIM splits right after a line's indentation")
    pack.add_argument("--snap-indentation", action="store_true",
                      help="repo layout: uniform FIM splits inside a line's leading whitespace move to its end")
    pack.add_argument("--workers", type=int, default=1, help="processes packing shards (the arrays do not depend on it)")
    pack.add_argument(
        "--fim-tokens", default=",".join(DEFAULT_FIM_TOKENS),
        help="prefix,suffix,middle,end-of-text token strings of the tokenizer (for other models' tokenizers)",
    )

    args = parser.parse_args(argv)
    if args.command == "tokenizer":
        train_tokenizer_on_corpus(args.corpus, args.sample_mb, args.vocab, args.out, args.seed)
    else:
        meta = tokenize_corpus(
            args.corpus, args.tokenizer, args.out, args.seed, args.seq_len, args.chunk_chars, args.fim_rate,
            args.records_per_shard, args.max_records, args.fim_tokens.split(","), args.layout, args.workers,
            args.max_package_mb, SampleMix(args.line_end_share, args.near_copy_share, args.indent_share, args.snap_indentation),
        )
        print(json.dumps(meta), flush=True)


if __name__ == "__main__":
    main()
