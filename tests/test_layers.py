"""The package's layers, checked on the source: no module imports from a layer above its own.

Order (bottom to top)::

    errors, util -> physics -> model, descriptors -> data -> scores, inference -> study -> search -> experiment
    -> cli

``model`` and ``descriptors`` are peers and do not import each other; so are ``scores`` and
``inference``. Imports inside
functions count too; function-level imports of the package itself are allowed only where
listed in ``LAZY`` (with the reason), the rest import at the top of the module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "surrogate_hpo"

LAYERS = {"errors": 0, "util": 0, "physics": 1, "model": 2, "descriptors": 2, "data": 3, "scores": 4, "inference": 4,
          "study": 5,
          "search": 6, "experiment": 7, "cli": 8, "__main__": 9}

#: (importing module, imported module) pairs allowed inside a function, and why
LAZY = {
    ("surrogate_hpo.cli.study", "surrogate_hpo.experiment"): "--help and config errors return before torch/Ray load",
    ("surrogate_hpo.cli.study", "surrogate_hpo.study"): "idem",
    ("surrogate_hpo.cli.study", "surrogate_hpo.util.names"): "idem",
    ("surrogate_hpo.cli.study", "surrogate_hpo.errors"): "idem",
    ("surrogate_hpo.search", "surrogate_hpo.search.methods"): "parsing a search space does not load every method",
    ("surrogate_hpo.data.train_stream", "surrogate_hpo.data.streaming"): "Ray Data loads only when a study streams",
    ("surrogate_hpo.cli.predict", "surrogate_hpo.inference"): "--help and a missing key return before torch loads",
    ("surrogate_hpo.cli.predict", "surrogate_hpo.errors"): "idem",
    ("surrogate_hpo.cli.predict", "surrogate_hpo.util.atomic"): "idem",
    ("surrogate_hpo.cli.predict", "surrogate_hpo.util.json_safe"): "idem",
    ("surrogate_hpo", "surrogate_hpo.inference"): "import surrogate_hpo stays light; load_model loads torch on use",
    ("surrogate_hpo.study.comparison", "surrogate_hpo.study.plots"): "Hydra loads this callback at every start; "
                                                                   "pandas and matplotlib only when studies are compared",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def _imports(module: str, path: Path):
    """``(imported module, line, inside a function)`` for every import of the package."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inner = {id(c) for f in functions for c in ast.walk(f) if c is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_pkg else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] if node.module or not node.level else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("surrogate_hpo"):
                yield name, node.lineno, id(node) in inner


def test_no_module_imports_from_a_layer_above_its_own():
    bad = []
    for module, path in _modules():
        own = _layer(module)
        for target, line, _ in _imports(module, path):
            theirs = _layer(target)
            if own is None or theirs is None or own >= theirs and not _peers_cross(module, target):
                continue
            bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def _peers_cross(a: str, b: str) -> bool:
    if a.count(".") == 0 or b.count(".") == 0:
        return False
    pa, pb = a.split(".")[1], b.split(".")[1]
    return {pa, pb} in ({"model", "descriptors"}, {"scores", "inference"})


def test_peers_do_not_import_each_other():
    bad = [f"{m} imports {t}" for m, p in _modules() for t, _, _ in _imports(m, p) if _peers_cross(m, t)]
    assert not bad


def test_function_level_imports_of_the_package_are_listed():
    found = {(m, t) for m, p in _modules() for t, _, inside in _imports(m, p) if inside}
    assert found <= set(LAZY), f"imports inside functions not listed in LAZY: {sorted(found - set(LAZY))}"


@pytest.mark.parametrize("module, target", [("surrogate_hpo.study.context", "surrogate_hpo.search.space"),
                                            ("surrogate_hpo.data.prepared", "surrogate_hpo.study.config")])
def test_the_check_sees_an_upward_import(tmp_path, module, target):
    """The checker itself: a planted upward import is reported."""
    path = tmp_path / "m.py"
    path.write_text(f"from {target} import X\n")
    (found,) = list(_imports(module, path))
    assert found[0] == target and _layer(module) < _layer(target)
