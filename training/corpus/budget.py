"""Choosing files to meet per-language size budgets, spread fairly across packages."""
from __future__ import annotations

import hashlib
from collections import defaultdict

DEFAULT_SHARES = {"python": 0.35, "typescript": 0.20, "javascript": 0.20, "rust": 0.125, "go": 0.125}


def parse_shares(spec: str) -> dict[str, float]:
    """'python=0.35,go=0.12' -> normalised shares summing to 1."""
    shares = {}
    for item in spec.split(","):
        language, value = item.split("=")
        shares[language.strip()] = float(value)
    total = sum(shares.values())
    return {language: value / total for language, value in shares.items()}


def water_level(sizes: list[int], budget: int) -> int:
    """The per-package cap c with sum(min(size, c)) ~= budget (every package gets up to c bytes).

    Small packages are taken whole, large ones are trimmed to the same cap, so no single big
    package (a language's standard library, say) crowds out the rest.
    """
    if sum(sizes) <= budget:
        return max(sizes, default=0)
    remaining, ordered = budget, sorted(sizes)
    for index, size in enumerate(ordered):
        share = remaining // (len(ordered) - index)
        if size >= share:
            return share
        remaining -= size
    return ordered[-1]


def file_order_key(path: str) -> str:
    """A deterministic, content-independent shuffle of a package's files."""
    return hashlib.sha256(path.encode()).hexdigest()


def select(files: list[dict], shares: dict[str, float], max_bytes: int) -> list[dict]:
    """Pick files (dicts with package, language, path, bytes) to fill each language's budget."""
    by_language_package: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in files:
        by_language_package[record["language"]][record["package"]].append(record)
    chosen = []
    for language, packages in sorted(by_language_package.items()):
        budget = int(max_bytes * shares.get(language, 0.0))
        totals = {package: sum(r["bytes"] for r in records) for package, records in packages.items()}
        cap = water_level(list(totals.values()), budget)
        for package in sorted(packages):
            taken = 0
            for record in sorted(packages[package], key=lambda r: file_order_key(r["path"])):
                if taken + record["bytes"] > cap:
                    continue  # a smaller later file may still fit under the cap
                chosen.append(record)
                taken += record["bytes"]
    return chosen
