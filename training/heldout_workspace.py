"""Write one held-out package of the corpus's validation split to a folder, as the workspace a user
would have open: the bench (`npm run bench -- --workspace DIR`) then measures completions on code
the model never saw, with that package as the retrieval corpus and the repo-level context.

CLI: python -m training.heldout_workspace --package python3-marshmallow --out /tmp/ws-marshmallow
     python -m training.heldout_workspace --list        # the validation packages and their sizes
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Sequence

from training.data import read_records
from training.evaluate import DEFAULT_VAL


def safe_relative(path: str) -> PurePosixPath:
    """The record's path inside the folder, never outside it."""
    parts = [part for part in PurePosixPath(path).parts if part not in ("", ".", "..", "/")]
    return PurePosixPath(*parts)


def write_package(val: Path, package: str, out: Path) -> int:
    written = 0
    for record in read_records(val):
        if record.get("package") != package:
            continue
        target = out / safe_relative(record["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(record["text"], encoding="utf-8")
        written += 1
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--val", type=Path, default=DEFAULT_VAL)
    parser.add_argument("--package")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list or not args.package:
        sizes: Counter = Counter()
        for record in read_records(args.val):
            sizes[(record.get("package"), record.get("language"))] += len(record["text"])
        for (package, language), size in sorted(sizes.items()):
            print(f"{package}\t{language}\t{size / 1e6:.2f} MB")
        return
    if args.out is None:
        parser.error("--out is required with --package")
    count = write_package(args.val, args.package, args.out)
    print(f"wrote {count} files of {args.package} to {args.out}")


if __name__ == "__main__":
    main()
