"""The candidate package lists (one name per line) behind the corpus."""
from pathlib import Path

from .paths import SOURCE_LISTS_DIR

DEBIAN_LISTS = ("deb-python.txt", "deb-rust.txt", "deb-go.txt")


def read_list(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def npm_specs(lists_dir: Path = SOURCE_LISTS_DIR) -> list[str]:
    return read_list(lists_dir / "npm.txt")


def debian_packages(lists_dir: Path = SOURCE_LISTS_DIR) -> list[str]:
    return [name for list_name in DEBIAN_LISTS for name in read_list(lists_dir / list_name)]
