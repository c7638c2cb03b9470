"""Validation split by package: deterministic from package names (and sizes) alone."""
from __future__ import annotations

import hashlib

VALIDATION_PERMILLE = 50  # ~5% of packages
MIN_LANGUAGE_SHARE = 0.03  # each language's validation part: at least this share of its bytes


def package_hash(package: str) -> int:
    return int(hashlib.sha256(package.encode("utf-8")).hexdigest()[:12], 16)


def hash_rank(package: str) -> tuple[int, str]:
    return package_hash(package) % 1000, package


def is_validation_by_hash(package: str) -> bool:
    return package_hash(package) % 1000 < VALIDATION_PERMILLE


def validation_packages(bytes_by_package: dict[str, dict[str, int]],
                        min_share: float = MIN_LANGUAGE_SHARE) -> set[str]:
    """Hash-chosen packages, topped up per language in hash order until its validation part
    holds at least `min_share` of its bytes (and one package), so every language's held-out loss is
    measured on a meaningful amount of text, even for languages with few or small packages.

    `bytes_by_package` maps package -> language -> selected bytes.
    """
    chosen = {package for package in bytes_by_package if is_validation_by_hash(package)}
    languages = sorted({language for sizes in bytes_by_package.values() for language in sizes})
    for language in languages:
        holders = sorted((p for p, sizes in bytes_by_package.items() if sizes.get(language)), key=hash_rank)
        total = sum(bytes_by_package[p][language] for p in holders)
        held_out = sum(bytes_by_package[p][language] for p in holders if p in chosen)
        for package in holders:
            if held_out >= min_share * total and held_out > 0:
                break
            if package not in chosen:
                chosen.add(package)
                held_out += bytes_by_package[package][language]
    return chosen
