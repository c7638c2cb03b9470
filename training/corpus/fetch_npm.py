"""Download npm packages with `npm pack` (cached tarballs) and unpack their source files."""
from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .extensions import language_of
from .paths import EXTRACTED, NPM_TARBALLS, safe_name

INDEX_FILE = NPM_TARBALLS / "index.tsv"  # spec \t name \t version \t tarball
PARALLEL_DOWNLOADS = 3  # be gentle with the registry
_index_lock = threading.Lock()


def package_name_of(spec: str) -> str:
    """'react@18.3.1' -> 'react', '@types/node' -> '@types/node', '@a/b@1' -> '@a/b'."""
    at = spec.rfind("@")
    return spec[:at] if at > 0 else spec


def read_index() -> dict[str, tuple[str, str, str]]:
    if not INDEX_FILE.exists():
        return {}
    entries = {}
    for line in INDEX_FILE.read_text().splitlines():
        spec, name, version, tarball = line.split("\t")
        entries[spec] = (name, version, tarball)
    return entries


def pack(spec: str) -> tuple[str, str, str]:
    """Run `npm pack` for one spec into the cache; returns (name, version, tarball file name)."""
    with tempfile.TemporaryDirectory(prefix="npm-pack-") as work_dir:
        result = subprocess.run(
            ["npm", "pack", spec, "--pack-destination", str(NPM_TARBALLS), "--json", "--silent"],
            cwd=work_dir, capture_output=True, text=True, timeout=600,
        )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "npm pack failed")
    info = json.loads(result.stdout)[0]
    return info["name"], info["version"], info["filename"]


def unpack(tarball: Path, destination: Path) -> int:
    """Extract package.json and source files only; returns how many files were written."""
    written = 0
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            # Tarballs have one top folder ('package/' usually, '@types' use the bare name).
            relative = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if relative != "package.json" and language_of(relative) is None:
                continue
            if relative.startswith("/") or ".." in relative.split("/"):
                continue
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            if source is None:
                continue
            target.write_bytes(source.read())
            written += 1
    return written


def licence_of(package_json: dict) -> str:
    """The declared licence: SPDX string, {'type': ...} object, or the legacy 'licenses' list."""
    declared = package_json.get("license")
    if isinstance(declared, dict):
        declared = declared.get("type")
    if not declared and isinstance(package_json.get("licenses"), list):
        types = [entry.get("type", "") for entry in package_json["licenses"] if isinstance(entry, dict)]
        declared = " OR ".join(t for t in types if t)
    return str(declared or "UNKNOWN")


def fetch_one(spec: str, index: dict) -> tuple[str, str]:
    if spec in index and (NPM_TARBALLS / index[spec][2]).exists():
        name, version, tarball = index[spec]
        status = "cached"
    else:
        name, version, tarball = pack(spec)
        with _index_lock, INDEX_FILE.open("a") as out:
            out.write(f"{spec}\t{name}\t{version}\t{tarball}\n")
        status = "downloaded"
    destination = EXTRACTED / "npm" / safe_name(name)
    meta_file = destination / "meta.json"
    if not meta_file.exists():
        unpack(NPM_TARBALLS / tarball, destination)
        package_json_file = destination / "package.json"
        package_json = json.loads(package_json_file.read_text(errors="replace")) if package_json_file.exists() else {}
        meta = {"package": name, "version": version, "source": "npm", "license": licence_of(package_json)}
        meta_file.write_text(json.dumps(meta))
    return spec, status


def fetch_all(specs: list[str]) -> list[str]:
    """Fetch and unpack every spec (resumable); returns the specs that failed."""
    NPM_TARBALLS.mkdir(parents=True, exist_ok=True)
    index = read_index()
    failed = []
    with ThreadPoolExecutor(PARALLEL_DOWNLOADS) as pool:
        futures = {pool.submit(fetch_one, spec, index): spec for spec in specs}
        for done, future in enumerate(futures, 1):
            spec = futures[future]
            try:
                _, status = future.result()
                print(f"[npm {done}/{len(specs)}] {spec}: {status}", flush=True)
            except Exception as error:  # one bad package must not stop the corpus
                failed.append(spec)
                print(f"[npm {done}/{len(specs)}] {spec}: FAILED {error}", file=sys.stderr, flush=True)
    return failed
