"""Licence decisions: SPDX/Debian licence expressions, copyleft file headers, DEP-5 copyright files."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Normalised (lower-case) licence names we accept as permissive for training and redistribution.
PERMISSIVE_NAMES = {
    "mit", "expat", "x11", "isc", "0bsd", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-2", "bsd-3",
    "bsd-4-clause", "bsd-2-clause-freebsd", "bsd-3-clause-clear", "bsd-2-clause-patent",
    "apache", "apache-2", "apache-2.0", "apache2", "apache 2.0", "apache license 2.0",
    "psf", "psf-2", "psf-2.0", "python", "python-2.0", "python-2.0.1", "psfl",
    "zlib", "zlib/libpng", "libpng", "public-domain", "public domain", "pd", "cc0", "cc0-1.0",
    "unlicense", "blueoak-1.0.0", "bsl-1.0", "boost", "unicode-dfs-2016", "unicode-3.0",
    "hpnd", "wtfpl", "ncsa", "curl", "postgresql", "permissive", "mit-0", "mit-cmu", "afl-2.1",
    "go", "freebsd", "x11-style", "sgi-b-2.0", "openssl", "ssleay",
    # Zope Public License 2.x and the BSD-derived Repoze licence Debian calls "Pyramid".
    "zpl-2.1", "zope-2.1", "zpl-2.0", "zpl", "pyramid", "repoze",
}
PERMISSIVE_PREFIXES = ("bsd-", "mit-", "expat-", "apache-2.0-", "psf-", "python-")
FROM_TEXT = "(from text)"  # marks a licence named from its text, not from a short name
# Words that never make a licence permissive even when a prefix above matches.
COPYLEFT_MARKERS = ("gpl", "mpl", "epl", "cc-by", "cddl", "eupl", "osl", "artistic", "sleepycat")


def is_permissive_name(name: str) -> bool:
    """One licence name (no operators): permissive by our allow-list?"""
    normalised = name.strip().strip("()").strip().lower()
    # 'Apache-2.0 WITH LLVM-exception': exceptions only grant more, the base licence decides.
    normalised = re.split(r"\s+with\s+", normalised)[0].strip()
    if not normalised or normalised in ("unlicensed", "unknown", "proprietary") or normalised.startswith("see "):
        return False
    if any(marker in normalised for marker in COPYLEFT_MARKERS):
        return False
    return normalised in PERMISSIVE_NAMES or normalised.startswith(PERMISSIVE_PREFIXES)


def is_permissive_expression(expression: str) -> bool:
    """SPDX ('MIT OR Apache-2.0', '(MIT AND Zlib)') or Debian ('Expat or Apache-2.0', 'BSD-3-clause, and MIT').

    OR: any alternative may be chosen, so one permissive one suffices. AND: all must be permissive.
    Parentheses are flattened: nested mixes of AND/OR are rare in package metadata and the flattened
    reading is the stricter one whenever AND is present.
    """
    flat = expression.replace(FROM_TEXT, "").replace("(", " ").replace(")", " ").strip()
    if not flat:
        return False
    if re.search(r"\s(and|AND)\s|,\s*and\s", flat):
        parts = re.split(r"\s+(?:and|AND|or|OR)\s+|,\s*and\s+|,\s*or\s+", flat)
        return all(is_permissive_name(p) for p in parts if p.strip())
    parts = re.split(r"\s+(?:or|OR)\s+|,\s*or\s+|\s*/\s*(?=[A-Za-z])(?!libpng)", flat)
    return any(is_permissive_name(p) for p in parts if p.strip())


_COPYLEFT_HEADER = re.compile(
    r"GNU\s+(?:Lesser\s+|Library\s+|Affero\s+)?General\s+Public\s+Licen[cs]e"
    r"|\b(?:A|L)?GPL(?:v?[123](?:\.\d)?\+?)?\b"
    r"|Mozilla\s+Public\s+Licen[cs]e|\bMPL-?[12]\.\d"
    r"|Eclipse\s+Public\s+Licen[cs]e|\bEPL-[12]"
    r"|Creative\s+Commons\s+Attribution|\bCC-BY\b"
)
HEADER_CHARS = 4000


def copyleft_header(text: str) -> str | None:
    """The copyleft licence a file's header names (first few KB), or None."""
    match = _COPYLEFT_HEADER.search(text[:HEADER_CHARS])
    return match.group(0) if match else None


# ---------------------------------------------------------------- DEP-5 (debian/copyright) parsing


@dataclass(frozen=True)
class FilesStanza:
    patterns: tuple[str, ...]
    licence: str


@dataclass(frozen=True)
class PatternMatcher:
    """One (possibly shortened) Files pattern, compiled to match any suffix of an installed path."""
    regex: re.Pattern
    specificity: int
    stanza: FilesStanza


@dataclass(frozen=True)
class CopyrightFile:
    machine_readable: bool
    stanzas: tuple[FilesStanza, ...]
    text: str
    matchers: tuple[PatternMatcher, ...] = ()


def _paragraphs(text: str) -> list[dict[str, str]]:
    """RFC-822-style paragraphs: 'Field: value' with indented continuation lines."""
    paragraphs, current, field = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, field = {}, None
        elif line[0] in " \t" and field:
            current[field] += "\n" + line.strip()
        elif ":" in line and not line.startswith("#"):
            field, value = line.split(":", 1)
            field = field.strip().lower()
            current[field] = value.strip()
    if current:
        paragraphs.append(current)
    return paragraphs


_LICENCE_TEXT_SIGNATURES = (
    (re.compile(r"GNU\s+(?:Lesser\s+|Library\s+|Affero\s+)?General\s+Public", re.I), f"GPL-family {FROM_TEXT}"),
    (re.compile(r"Mozilla\s+Public", re.I), f"MPL {FROM_TEXT}"),
    (re.compile(r"Permission is hereby granted, free of charge", re.I), f"MIT {FROM_TEXT}"),
    (re.compile(r"Redistribution and use in source and binary forms", re.I), f"BSD {FROM_TEXT}"),
    (re.compile(r"Apache License,?\s+Version 2\.0", re.I), f"Apache-2.0 {FROM_TEXT}"),
)


def licence_from_text(text: str) -> str:
    """A licence name for a stanza that gives the licence text without a short name (copyleft first)."""
    for signature, name in _LICENCE_TEXT_SIGNATURES:
        if signature.search(text):
            return name
    return "unnamed"


def parse_copyright(text: str) -> CopyrightFile:
    paragraphs = _paragraphs(text)
    machine_readable = bool(paragraphs) and "format" in paragraphs[0] and any("files" in p for p in paragraphs)
    # Texts of stand-alone 'License:' paragraphs without a short name, for Files stanzas that
    # leave both the name and the text out (seen in python3-fastapi).
    unnamed_texts = [p["license"] for p in paragraphs
                     if "files" not in p and "license" in p and not p["license"].split("\n", 1)[0].strip()]
    stanzas = []
    for paragraph in paragraphs:
        if "files" in paragraph and "license" in paragraph:
            patterns = tuple(paragraph["files"].split())
            short_name, _, full_text = paragraph["license"].partition("\n")
            if not short_name.strip() and not full_text.strip() and len(unnamed_texts) == 1:
                full_text = unnamed_texts[0]
            stanzas.append(FilesStanza(patterns, short_name.strip() or licence_from_text(full_text)))
    return CopyrightFile(machine_readable, tuple(stanzas), text, _matchers(stanzas))


def _pattern_regex(pattern: str) -> re.Pattern:
    """DEP-5 glob -> regex: '*' matches anything including '/', '?' one character.

    The optional leading '(?:.*/)?' lets the pattern match any suffix of the installed path that
    starts at a folder boundary.
    """
    escaped = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"(?:.*/)?{escaped}", re.DOTALL)


def _literal_chars(pattern: str) -> int:
    return sum(1 for c in pattern if c not in "*?")


def _candidate_patterns(pattern: str):
    """The pattern, then with leading source-tree folders dropped ('src/pkg/x.py' -> 'pkg/x.py').

    Copyright files describe the source tree, installed files sit under other roots, so a
    pattern may match a suffix of the installed path. Never strip down to a bare wildcard.
    """
    parts = pattern.strip("/").split("/")
    for start in range(len(parts)):
        candidate = "/".join(parts[start:])
        if start > 0 and _literal_chars(candidate) == 0:
            break
        yield candidate


def _matchers(stanzas: list[FilesStanza]) -> tuple[PatternMatcher, ...]:
    """Stanzas for Debian's own packaging (debian/*) are left out: those files are never installed."""
    return tuple(PatternMatcher(_pattern_regex(candidate), _literal_chars(candidate), stanza)
                 for stanza in stanzas for pattern in stanza.patterns if not pattern.startswith("debian/")
                 for candidate in _candidate_patterns(pattern))


def stanza_for(copyright_file: CopyrightFile, installed_path: str) -> FilesStanza | None:
    """The most specific stanza matching an installed path (ties: the later one, as DEP-5 says).

    Specificity is the number of literal characters of the matching pattern, so 'lark/tools/x.py'
    beats 'lark/*', which beats '*'.
    """
    best, best_score = None, -1
    for matcher in copyright_file.matchers:
        if matcher.specificity >= best_score and matcher.regex.fullmatch(installed_path):
            best, best_score = matcher.stanza, matcher.specificity
    return best


# Free-form copyright files read by hand. CPython's names the GPL only for the readline library the
# C '_readline' module links against and for documentation; its Python sources are PSF-2.0.
# File headers are still checked one by one.
REVIEWED_FREE_FORM = {
    "libpython3.11-stdlib": "PSF-2.0",
    "libpython3.11-minimal": "PSF-2.0",
    "libpython3.11-testsuite": "PSF-2.0",
}

_PERMISSIVE_TEXT = re.compile(
    r"Permission is hereby granted|Redistribution and use in source and binary forms|"
    r"Apache License|\bMIT\b|\bBSD\b|Python Software Foundation|public domain|\bISC\b", re.I)


def file_licence(copyright_file: CopyrightFile, installed_path: str) -> tuple[str | None, str]:
    """(licence name if the file may be kept else None, the licence name or reason)."""
    if copyright_file.machine_readable:
        stanza = stanza_for(copyright_file, installed_path)
        if stanza is None:
            return None, "no-matching-stanza"
        return (stanza.licence if is_permissive_expression(stanza.licence) else None), stanza.licence
    # Free-form copyright: no file-level information, so any copyleft mention rules the package out.
    if copyleft_header(copyright_file.text.replace("\n", " ")) or re.search(r"\b(?:L|A)?GPL", copyright_file.text):
        return None, "free-form-copyright-mentions-copyleft"
    if _PERMISSIVE_TEXT.search(copyright_file.text):
        return "permissive (free-form copyright)", "free-form"
    return None, "free-form-copyright-unclear"
