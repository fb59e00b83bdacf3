"""Every package in the tree is in the distribution: pyproject finds packages by pattern,
so a new subpackage (studio/core, widgets/point_canvas, engines/gan ...) ships without
anyone listing it."""
from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_of_the_tree_is_found_by_pyproject():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set(find_packages(where=str(ROOT), include=conf["packages"]["find"]["include"]))
    tree = {".".join(p.parent.relative_to(ROOT).parts) for top in ("engines", "studio", "widgets")
            for p in (ROOT / top).rglob("__init__.py")}
    assert tree <= found, sorted(tree - found)
    assert not any(name.startswith("tests") for name in found)
