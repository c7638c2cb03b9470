"""Writing the corpus: train/val JSONL, manifest, SOURCES table and the printed summary."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from .extensions import LANGUAGES
from .paths import EXTRACTED

MB = 1_000_000


def corpus_record(file: dict) -> dict:
    text = (EXTRACTED / file["file"]).read_bytes().decode("utf-8")
    return {"text": text, "path": file["path"], "package": file["package"], "version": file["version"],
            "source": file["source"], "language": file["language"], "license": file["licence"],
            "sha256": file["sha256"]}


def write_jsonl_and_manifest(chosen: list[dict], validation: set[str], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "train.jsonl").open("w") as train, (out_dir / "val.jsonl").open("w") as val, \
            (out_dir / "manifest.tsv").open("w") as manifest:
        manifest.write("source\tpackage\tversion\tlicence\tpath\tsha256\tsplit\n")
        for done, file in enumerate(chosen, 1):
            split = "val" if file["package"] in validation else "train"
            (val if split == "val" else train).write(json.dumps(corpus_record(file), ensure_ascii=False) + "\n")
            manifest.write("\t".join([file["source"], file["package"], file["version"], file["licence"],
                                      file["path"], file["sha256"], split]) + "\n")
            if done % 5000 == 0:
                print(f"[write] {done}/{len(chosen)} files", flush=True)


def sources_table(chosen: list[dict]) -> str:
    """model/SOURCES.tsv: one row per package behind the corpus."""
    rows: dict[tuple, dict] = {}
    for file in chosen:
        key = (file["package"], file["version"], file["source"])
        row = rows.setdefault(key, {"licences": Counter(), "bytes": 0, "files": 0})
        row["licences"][file["licence"]] += 1
        row["bytes"] += file["bytes"]
        row["files"] += 1
    lines = ["package\tversion\tlicence\tsource\tMB\tfiles"]
    for (package, version, source), row in sorted(rows.items()):
        licence = "; ".join(name for name, _ in row["licences"].most_common())
        lines.append(f"{package}\t{version}\t{licence}\t{source}\t{row['bytes'] / MB:.3f}\t{row['files']}")
    return "\n".join(lines) + "\n"


def summary(chosen: list[dict], validation: set[str], dropped: Counter, packages_seen: int) -> str:
    by_language_split: dict[tuple[str, str], int] = defaultdict(int)
    packages_by_split: dict[str, set] = defaultdict(set)
    for file in chosen:
        split = "val" if file["package"] in validation else "train"
        by_language_split[(file["language"], split)] += file["bytes"]
        packages_by_split[split].add(file["package"])
    total = sum(by_language_split.values())
    lines = [f"corpus: {len(chosen)} files, {total / MB:.1f} MB, "
             f"{len(packages_by_split['train'] | packages_by_split['val'])} packages used of {packages_seen} scanned",
             "language      train MB   val MB   total MB   share"]
    for language in LANGUAGES:
        train_mb = by_language_split[(language, "train")] / MB
        val_mb = by_language_split[(language, "val")] / MB
        lines.append(f"{language:<12} {train_mb:9.1f} {val_mb:8.2f} {train_mb + val_mb:10.1f}"
                     f" {(train_mb + val_mb) * MB / max(total, 1):7.1%}")
    for split in ("train", "val"):
        split_mb = sum(v for (_, s), v in by_language_split.items() if s == split) / MB
        lines.append(f"{split}: {split_mb:.1f} MB, {len(packages_by_split[split])} packages")
    lines.append(f"validation packages: {', '.join(sorted(packages_by_split['val']))}")
    lines.append("files dropped per reason:")
    lines += [f"  {reason:<22} {count}" for reason, count in dropped.most_common()]
    return "\n".join(lines) + "\n"
