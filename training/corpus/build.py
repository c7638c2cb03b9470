"""Corpus pipeline entry point.

  python -m training.corpus.build fetch                 # download + unpack (cached, resumable)
  python -m training.corpus.build build --max-mb 100    # scan, filter, select, split, write
  python -m training.corpus.build all --max-mb 100      # both
  python -m training.corpus.build pin                   # pin the fetched versions (sources/pinned.tsv)
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import budget, fetch_debian, fetch_npm, near_dup, scan, sources, split, write
from .paths import DEFAULT_OUT, EXTRACTED, REPO_ROOT

MB = 1_000_000


def run_fetch() -> None:
    started = time.time()
    failures: dict[str, list[str]] = {}
    # npm and Debian hit different hosts, so they can download at the same time.
    debian = threading.Thread(target=lambda: failures.update(debian=fetch_debian.fetch_all(sources.debian_packages())))
    debian.start()
    failures["npm"] = fetch_npm.fetch_all(sources.npm_specs())
    debian.join()
    print(f"[fetch] done in {time.time() - started:.0f}s; failed: {failures}", flush=True)


def scan_all(workers: int) -> list[dict]:
    roots = scan.package_roots()
    scans = []
    with ProcessPoolExecutor(workers) as pool:
        for done, result in enumerate(pool.map(scan.scan_cached, roots), 1):
            scans.append(result)
            kept = sum(1 for f in result["files"] if not f["reason"])
            print(f"[scan {done}/{len(roots)}] {result['source']}:{result['package']} "
                  f"{kept}/{len(result['files'])} files kept", flush=True)
    return sorted(scans, key=lambda s: (s["source"], s["package"]))


def deduplicated_candidates(scans: list[dict], dropped: Counter) -> list[dict]:
    """Kept files of all packages, first occurrence of each normalised text only."""
    seen, candidates = set(), []
    for package_scan in scans:
        for file in package_scan["files"]:
            if file["reason"]:
                dropped[file["reason"]] += 1
            elif file["sha256"] in seen:
                dropped["duplicate"] += 1
            else:
                seen.add(file["sha256"])
                candidates.append({**file, "package": package_scan["package"],
                                   "version": package_scan["version"], "source": package_scan["source"]})
    return candidates


def file_signature(file: dict):
    return near_dup.signature((EXTRACTED / file["file"]).read_bytes().decode("utf-8"))


def without_near_duplicates(candidates: list[dict], threshold: float, workers: int, dropped: Counter) -> list[dict]:
    """Candidates minus near duplicates of an earlier candidate (training/corpus/near_dup.py)."""
    if threshold <= 0:
        return candidates
    with ProcessPoolExecutor(workers) as pool:
        signatures = list(pool.map(file_signature, candidates, chunksize=64))
    drop = near_dup.near_duplicates(signatures, threshold)
    dropped["near-duplicate"] += len(drop)
    print(f"[build] {len(drop)} near duplicates (estimated Jaccard >= {threshold} over word 5-grams)", flush=True)
    return [file for index, file in enumerate(candidates) if index not in drop]


def run_build(args: argparse.Namespace) -> None:
    started = time.time()
    out_dir = Path(args.out)
    if (out_dir / "READY").exists() and not args.force:
        sys.exit(f"{out_dir} holds a READY corpus in use; write to a new --out folder (or pass --force)")
    dropped: Counter = Counter()
    scans = scan_all(args.workers)
    candidates = deduplicated_candidates(scans, dropped)
    candidates = without_near_duplicates(candidates, args.near_dup_threshold, args.workers, dropped)
    available = sum(f["bytes"] for f in candidates)
    print(f"[build] {len(candidates)} candidate files, {available / MB:.1f} MB after filters", flush=True)

    chosen = budget.select(candidates, budget.parse_shares(args.shares), int(args.max_mb * MB))
    dropped["over-budget"] = len(candidates) - len(chosen)
    bytes_by_package: dict[str, Counter] = {}
    for file in chosen:
        bytes_by_package.setdefault(file["package"], Counter())[file["language"]] += file["bytes"]
    validation = split.validation_packages(bytes_by_package)

    write.write_jsonl_and_manifest(chosen, validation, out_dir)
    sources_tsv = write.sources_table(chosen)
    (out_dir / "SOURCES.tsv").write_text(sources_tsv)
    if args.sources_tsv:
        Path(args.sources_tsv).write_text(sources_tsv)
    report = write.summary(chosen, validation, dropped, len(scans))
    report += (f"built in {time.time() - started:.0f}s with --max-mb {args.max_mb} --shares {args.shares}"
               f" --near-dup-threshold {args.near_dup_threshold}\n")
    (out_dir / "summary.txt").write_text(report)
    print(report, flush=True)
    if args.ready:
        (out_dir / "READY").write_text(report)
        print(f"[build] wrote {out_dir / 'READY'}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["fetch", "build", "all", "pin"])
    parser.add_argument("--max-mb", type=float, default=100.0, help="total corpus size to select")
    parser.add_argument("--shares", default=",".join(f"{k}={v}" for k, v in budget.DEFAULT_SHARES.items()),
                        help="per-language share of --max-mb, e.g. python=0.35,typescript=0.2,...")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder")
    parser.add_argument("--workers", type=int, default=2, help="scan processes")
    parser.add_argument("--sources-tsv", default="",
                        help="where to also write the SOURCES table (it is always in --out); the shipped model's"
                             " model/SOURCES.tsv is written by its recipe, never by a rebuild")
    parser.add_argument("--near-dup-threshold", type=float, default=near_dup.DEFAULT_THRESHOLD,
                        help="drop files this similar to an earlier one (0: off; corpus v2 was built with 0)")
    parser.add_argument("--ready", action="store_true", help="write the READY marker when done")
    parser.add_argument("--force", action="store_true", help="overwrite a folder that has a READY marker")
    args = parser.parse_args(argv)
    if args.step == "pin":
        print(f"[pin] {sources.write_pins()} packages pinned in {sources.PINNED_FILE}", flush=True)
    if args.step in ("fetch", "all"):
        run_fetch()
    if args.step in ("build", "all"):
        run_build(args)


if __name__ == "__main__":
    main()
