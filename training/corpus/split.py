"""Validation split by package: deterministic from the package name alone."""
from __future__ import annotations

import hashlib

VALIDATION_PERMILLE = 50  # ~5% of packages


def package_hash(package: str) -> int:
    return int(hashlib.sha256(package.encode("utf-8")).hexdigest()[:12], 16)


def is_validation_by_hash(package: str) -> bool:
    return package_hash(package) % 1000 < VALIDATION_PERMILLE


def validation_packages(languages_by_package: dict[str, set[str]]) -> set[str]:
    """Hash-chosen packages, plus, for any language left without one, its lowest-hash package.

    Every language must be measurable on held-out packages, even one with few packages (Go).
    """
    chosen = {package for package in languages_by_package if is_validation_by_hash(package)}
    covered = set().union(*(languages_by_package[p] for p in chosen)) if chosen else set()
    all_languages = set().union(*languages_by_package.values()) if languages_by_package else set()
    for language in sorted(all_languages - covered):
        candidates = [p for p, langs in languages_by_package.items() if language in langs]
        chosen.add(min(candidates, key=lambda p: (package_hash(p) % 1000, p)))
    return chosen
