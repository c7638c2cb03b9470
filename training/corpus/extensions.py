"""Which file extensions count as source code, and in which language."""

LANGUAGE_BY_EXTENSION = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescript",
    ".rs": "rust",
    ".go": "go",
}

LANGUAGES = ("python", "typescript", "javascript", "rust", "go")


def language_of(path: str) -> str | None:
    """The corpus language of a path, or None when it is not a source file we keep."""
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return LANGUAGE_BY_EXTENSION.get(path[dot:].lower())
