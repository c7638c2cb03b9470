"""The candidate package lists (one name per line) behind the corpus, and the versions pinned for them.

`sources/pinned.tsv` holds the exact version of every package the corpus is built from, so a fresh
clone fetches the same bytes; `build pin` rewrites it from what was fetched.
"""
import json
from pathlib import Path

from .paths import EXTRACTED, SOURCE_LISTS_DIR

PINNED_FILE = SOURCE_LISTS_DIR / "pinned.tsv"

DEBIAN_LISTS = ("deb-python.txt", "deb-rust.txt", "deb-go.txt")


def read_list(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def pinned_versions(path: Path = PINNED_FILE) -> dict[tuple[str, str], str]:
    """(source, package) -> version, from the pinned list (empty when there is none)."""
    if not path.exists():
        return {}
    pins = {}
    for line in read_list(path):
        source, package, version = line.split("\t")
        pins[(source, package)] = version
    return pins


def npm_name_of(spec: str) -> str:
    """`@scope/name@1.2` -> `@scope/name`; `name` -> `name`."""
    at = spec.rfind("@")
    return spec[:at] if at > 0 else spec


def npm_specs(lists_dir: Path = SOURCE_LISTS_DIR, pins: dict | None = None) -> list[str]:
    """The npm list, each name at its pinned version where one is pinned."""
    pins = pinned_versions() if pins is None else pins
    specs = []
    for spec in read_list(lists_dir / "npm.txt"):
        name = npm_name_of(spec)
        specs.append(f"{name}@{pins[('npm', name)]}" if ("npm", name) in pins else spec)
    return specs


def debian_download_spec(package: str, pins: dict | None = None) -> str:
    """`name=version` for apt-get download where the version is pinned, else the name."""
    pins = pinned_versions() if pins is None else pins
    version = pins.get(("debian", package))
    return f"{package}={version}" if version else package


def write_pins(extracted: Path = EXTRACTED, path: Path = PINNED_FILE) -> int:
    """Pin every fetched package (the meta.json of each unpacked package) at the version fetched."""
    rows = sorted({(m["source"], m["package"], m["version"])
                   for m in (json.loads(f.read_text()) for f in extracted.glob("*/*/meta.json"))})
    header = "# source\tpackage\tversion: the exact versions the corpus is built from (written by `build pin`)\n"
    path.write_text(header + "".join(f"{source}\t{package}\t{version}\n" for source, package, version in rows))
    return len(rows)


def debian_packages(lists_dir: Path = SOURCE_LISTS_DIR) -> list[str]:
    return [name for list_name in DEBIAN_LISTS for name in read_list(lists_dir / list_name)]
