"""Scan one unpacked package: decide keep/drop (and why) for every source file in it.

Scans are cached as JSON per package, so a rebuild only rescans what changed.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from . import filters, licences
from .extensions import language_of
from .fetch_debian import LINKED_COPYRIGHT
from .paths import EXTRACTED, SCANS

SCAN_VERSION = 5  # bump when a filter changes, to invalidate cached scans

_INSTALL_PREFIX = re.compile(
    r"^(?:usr/lib/python3/dist-packages/|usr/lib/python3\.\d+/|usr/share/cargo/registry/|"
    r"usr/share/gocode/src/|usr/lib/go-[\d.]+/src/|usr/lib/rustlib/src/rust/|usr/share/)")


def display_path(installed_path: str) -> str:
    """'usr/lib/python3/dist-packages/lark/lexer.py' -> 'lark/lexer.py'."""
    return _INSTALL_PREFIX.sub("", installed_path, count=1)


def find_copyright(root: Path, meta: dict) -> Path | None:
    if (root / LINKED_COPYRIGHT).is_file():
        return root / LINKED_COPYRIGHT
    for name in (meta["package"], meta.get("source_package", "")):
        candidate = root / "usr/share/doc" / name / "copyright"
        if name and candidate.is_file():
            return candidate
    found = sorted((root / "usr/share/doc").glob("*/copyright"))
    return found[0] if found else None


def source_files(root: Path):
    """(installed path relative to root, absolute path) of every regular source file, sorted."""
    for directory, folders, names in os.walk(root):
        folders.sort()
        for name in sorted(names):
            absolute = Path(directory) / name
            if absolute.is_symlink() or language_of(name) is None:
                continue
            yield absolute.relative_to(root).as_posix(), absolute


def scan_package(root: Path) -> dict:
    meta = json.loads((root / "meta.json").read_text())
    source, package = meta["source"], meta["package"]
    copyright_file, package_reason = None, None
    if source == "npm":
        if not licences.is_permissive_expression(meta["license"]):
            package_reason = "package-licence"
    else:
        copyright_path = find_copyright(root, meta)
        if copyright_path is None:
            package_reason = "no-copyright"
        else:
            copyright_file = licences.parse_copyright(copyright_path.read_text(errors="replace"))
            meta["license"] = "DEP-5" if copyright_file.machine_readable else "free-form"
            if not copyright_file.machine_readable and package in licences.REVIEWED_FREE_FORM:
                meta["license"], copyright_file = licences.REVIEWED_FREE_FORM[package], None

    records = []
    for installed, absolute in source_files(root):
        path = installed if source == "npm" else display_path(installed)
        record = {"file": absolute.relative_to(EXTRACTED).as_posix(), "path": path,
                  "language": language_of(path), "bytes": absolute.stat().st_size,
                  "licence": meta["license"], "reason": package_reason}
        records.append(record)
        if record["reason"]:
            continue
        record["reason"] = (filters.path_drop_reason(path, source, keep_declarations=package.startswith("@types/"))
                            or filters.size_drop_reason(record["bytes"]))
        if record["reason"]:
            continue
        if copyright_file is not None:
            licence, detail = licences.file_licence(copyright_file, installed)
            if licence is None:
                record["reason"], record["licence"] = "licence-stanza", detail
                continue
            record["licence"] = licence
        text, record["reason"] = filters.decode(absolute.read_bytes())
        if text is None:
            continue
        if licences.copyleft_header(text):
            record["reason"] = "copyleft-header"
            continue
        record["reason"] = filters.content_drop_reason(text)
        record["sha256"] = filters.content_hash(text)
        record["compiled"] = record["language"] == "javascript" and filters.looks_compiled(text)

    kept = [(r["path"], r["language"], r.get("compiled", False)) for r in records if not r["reason"]]
    duplicates_of_ts = filters.compiled_duplicates(kept)
    for record in records:
        if not record["reason"] and record["path"] in duplicates_of_ts:
            record["reason"] = "compiled-js-of-ts"
    return {"scan_version": SCAN_VERSION, "source": source, "package": package,
            "version": meta["version"], "package_licence": meta["license"], "files": records}


def scan_file_for(root: Path) -> Path:
    return SCANS / root.parent.name / f"{root.name}.json"


def scan_cached(root: Path) -> dict:
    """The package's scan, from cache when it is current."""
    cache = scan_file_for(root)
    if cache.exists():
        scan = json.loads(cache.read_text())
        if scan.get("scan_version") == SCAN_VERSION:
            return scan
    scan = scan_package(root)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(scan))
    return scan


def package_roots() -> list[Path]:
    """Every fully unpacked package (meta.json is written last)."""
    return sorted(p.parent for p in EXTRACTED.glob("*/*/meta.json"))


