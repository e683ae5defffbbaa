"""The tree is the architecture: every module is named in docs/architecture.md, and imports
point down only (cli -> run -> edges -> steps -> config -> models, errors)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "aggregator"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")

# A module may import its own layer and the ones below it.
LAYERS = {"__main__": 5, "cli": 4, "run": 3, "edges": 2, "steps": 1, "config": 0.5}
BOTTOM = 0  # models, errors, the package's __init__ (its version)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def name_of(path: Path) -> str:
    """``steps/parse/xmlfeed.py`` for a module, ``steps/parse/`` for a package's __init__."""
    relative = path.relative_to(PACKAGE)
    if path.name == "__init__.py" and relative.parent != Path("."):
        return relative.parent.as_posix() + "/"
    return relative.as_posix()


def layer(module: str) -> float:
    """``module``: a dotted name under aggregator (``aggregator.run.feed``)."""
    parts = module.split(".")
    return LAYERS.get(parts[1], BOTTOM) if len(parts) > 1 else BOTTOM


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, package: str) -> list[str]:
    """Every aggregator module ``source`` (a module of ``package``) imports, relative imports
    resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            found += names
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if m == "aggregator" or m.startswith("aggregator.")]


@pytest.mark.parametrize("path", modules(), ids=name_of)
def test_every_module_is_named_in_the_architecture_doc(path: Path) -> None:
    name = name_of(path)
    folder, _, file = name.rstrip("/").rpartition("/")
    if name.endswith("/"):  # a package: its folder in the text
        named = name in DOC
    else:  # a module: its path, or its folder and its name in backticks
        named = f"`{name}`" in DOC or (f"{folder}/" in DOC and f"`{file}`" in DOC)
    assert named, f"docs/architecture.md does not name aggregator/{name}"


@pytest.mark.parametrize("path", modules(), ids=name_of)
def test_imports_point_down_only(path: Path) -> None:
    module = dotted(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    upward = [
        m for m in imports(path.read_text(encoding="utf-8"), package) if layer(m) > layer(module)
    ]
    assert not upward, f"aggregator/{name_of(path)} imports from a layer above it: {upward}"


def test_the_layer_check_sees_an_upward_import() -> None:
    """The check itself: a step importing the pipeline, relatively or not, is caught."""
    source = "from ..run.feed import Pipeline\nimport aggregator.cli\nfrom .. import models\n"
    found = imports(source, "aggregator.steps")
    assert found == ["aggregator.run.feed", "aggregator.cli", "aggregator.models"]
    assert [m for m in found if layer(m) > layer("aggregator.steps.x")] == found[:2]
