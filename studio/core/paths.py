"""Where the repository's own files are: the bundled assets, the example configs and the docs.

One place, so moving a module between packages cannot silently point it at a wrong folder."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"
