"""Where the corpus pipeline keeps its downloads, extractions and outputs (all git-ignored)."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "training" / "data"
# The candidate package lists and the pinned versions live in the repository.
SOURCE_LISTS_DIR = Path(__file__).resolve().parent / "sources"

NPM_TARBALLS = DATA_DIR / "cache" / "npm"
DEBIAN_DEBS = DATA_DIR / "cache" / "debian"
EXTRACTED = DATA_DIR / "extracted"
SCANS = DATA_DIR / "scan"
DEFAULT_OUT = DATA_DIR / "corpus"


def safe_name(package: str) -> str:
    """A file-system friendly form of an npm/Debian package name (scoped npm names contain '/')."""
    return package.replace("/", "__").replace("@", "")
