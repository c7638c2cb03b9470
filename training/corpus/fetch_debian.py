"""Download Debian binary packages with `apt-get download` (cached .debs) and unpack them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .paths import DEBIAN_DEBS, EXTRACTED
from .sources import debian_download_spec

APT_UPDATED_STAMP = DEBIAN_DEBS / ".apt-updated"
BATCH_SIZE = 12
PARALLEL_BATCHES = 2  # a few parallel downloads at most


def ensure_apt_lists() -> None:
    """`apt-get update` once per cache, so a rerun does not hit the mirror again."""
    if APT_UPDATED_STAMP.exists():
        return
    print("[debian] apt-get update", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=900)
    APT_UPDATED_STAMP.touch()


def cached_deb(package: str) -> Path | None:
    matches = sorted(DEBIAN_DEBS.glob(f"{package}_*.deb"))
    return matches[-1] if matches else None


def download(packages: list[str]) -> None:
    """Download a batch; on failure retry one by one so a single missing name costs only itself."""
    result = subprocess.run(["apt-get", "download", "-qq", *map(debian_download_spec, packages)], cwd=DEBIAN_DEBS,
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0 and len(packages) > 1:
        for package in packages:
            if cached_deb(package) is None:
                subprocess.run(["apt-get", "download", "-qq", debian_download_spec(package)], cwd=DEBIAN_DEBS,
                               capture_output=True, text=True, timeout=1800)


def deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.strip()


def unpack(package: str) -> None:
    deb = cached_deb(package)
    if deb is None:
        raise RuntimeError("not downloaded")
    destination = EXTRACTED / "debian" / package
    meta_file = destination / "meta.json"
    if meta_file.exists():
        return
    destination.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(destination)], check=True)
    meta = {"package": package, "version": deb_field(deb, "Version"), "source": "debian",
            "source_package": deb_field(deb, "Source") or package, "license": "see copyright"}
    meta_file.write_text(json.dumps(meta))


LINKED_COPYRIGHT = "linked-copyright"  # copied next to meta.json when the doc folder is a symlink


def ensure_linked_copyright(package: str) -> None:
    """Some packages' doc folder links to a sibling package's (libpython3.11-stdlib ->
    libpython3.11-minimal); fetch that package's copyright so file-level licences stay checkable."""
    root = EXTRACTED / "debian" / package
    doc = root / "usr/share/doc" / package
    if not doc.is_symlink() or (root / LINKED_COPYRIGHT).exists():
        return
    owner = Path(doc.readlink()).name
    if cached_deb(owner) is None:
        download([owner])
    deb = cached_deb(owner)
    if deb is None:
        raise RuntimeError(f"copyright owner {owner} not downloadable")
    with tempfile.TemporaryDirectory(prefix="deb-copyright-") as temp:
        subprocess.run(["dpkg-deb", "-x", str(deb), temp], check=True)
        shutil.copyfile(Path(temp) / "usr/share/doc" / owner / "copyright", root / LINKED_COPYRIGHT)
    print(f"[debian] {package}: copyright taken from {owner}", flush=True)


def fetch_all(packages: list[str]) -> list[str]:
    """Download and unpack every package (resumable); returns the packages that failed."""
    DEBIAN_DEBS.mkdir(parents=True, exist_ok=True)
    ensure_apt_lists()
    missing = [p for p in packages if cached_deb(p) is None]
    batches = [missing[i:i + BATCH_SIZE] for i in range(0, len(missing), BATCH_SIZE)]
    with ThreadPoolExecutor(PARALLEL_BATCHES) as pool:
        for done, _ in enumerate(pool.map(download, batches), 1):
            print(f"[debian] downloaded batch {done}/{len(batches)}", flush=True)
    failed = []
    for done, package in enumerate(packages, 1):
        try:
            unpack(package)
            ensure_linked_copyright(package)
            print(f"[debian {done}/{len(packages)}] {package}: unpacked", flush=True)
        except Exception as error:
            failed.append(package)
            print(f"[debian {done}/{len(packages)}] {package}: FAILED {error}", file=sys.stderr, flush=True)
    return failed
