"""The house rules that a grep can check: layering, public Dagster API, module size, no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import fleet_assets

PACKAGE = Path(fleet_assets.__file__).parent
MAX_LINES = 350


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every fleet_assets module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m in MODULES}


def test_lib_never_imports_dagster_or_anything_above_it():
    for name, path in MODULES.items():
        if name.startswith("fleet_assets.lib"):
            text = path.read_text()
            assert "import dagster" not in text and "from dagster" not in text, name
            above = {m for m in _imports(path) if not m.startswith("fleet_assets.lib")}
            assert above <= {"fleet_assets"}, (name, above)


def test_public_dagster_api_only():
    offenders = [n for n, p in MODULES.items() if "dagster._" in p.read_text()]
    assert offenders == []


# Over the limit and known: each entry says who splits it. The list must shrink, never grow:
# a module that got back under the limit must leave it (the test fails until it does).
KNOWN_OVER: dict[str, str] = {}


def test_no_module_over_the_size_limit():
    sizes = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n for n, s in sizes.items() if s > MAX_LINES} == set(KNOWN_OVER)


def test_lib_has_no_import_cycle():
    graph = {n: {m for m in _imports(p) if m.startswith("fleet_assets.lib.") and m != n}
             for n, p in MODULES.items() if n.startswith("fleet_assets.lib.")}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_readme_layout_names_every_module():
    readme = (PACKAGE.parent / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    missing = sorted(
        str(p.relative_to(PACKAGE)) for n, p in MODULES.items()
        if p.name != "__init__.py" and ".sandbox" not in n and p.name not in layout)
    assert missing == []


TESTS = Path(__file__).parent

# Modules without a test file of their own, each with the reason (none today). Keep it short:
# a module that gets its own test file must leave the list (the test fails until it does).
NO_MODULE_TEST: dict[str, str] = {}


def _test_files_for(name: str) -> list[Path]:
    """``test_X.py`` or ``test_<package>_X.py`` anywhere under the tests: package-qualified
    names keep same-named modules apart (``cli/parse.py`` is ``test_cli_parse.py``)."""
    parts = name.split(".")
    wanted = {f"test_{parts[-1]}.py", f"test_{parts[-2]}_{parts[-1]}.py"}
    return [p for p in TESTS.rglob("test_*.py") if p.name in wanted]


def _covered_by_own_test(name: str) -> bool:
    """A test file named for the module; where two modules share a name (``lib/records.py``,
    ``assets/records.py``) the file must also import the module, so one cannot stand for both."""
    files = _test_files_for(name)
    if _BASENAMES.count(name.rsplit(".", 1)[-1]) == 1:
        return bool(files)
    return any(name in _imports(p) for p in files)


def _tested_modules() -> list[str]:
    return sorted(n for n, p in MODULES.items()
                  if p.name != "__init__.py" and not n.startswith("fleet_assets.sandbox"))


_BASENAMES = [n.rsplit(".", 1)[-1] for n in _tested_modules()]


def test_every_module_has_its_own_test_file():
    missing = [n for n in _tested_modules()
               if n not in NO_MODULE_TEST and not _covered_by_own_test(n)]
    assert missing == []


def test_the_exception_list_names_only_modules_still_without_a_test():
    stale = [n for n in NO_MODULE_TEST if n not in MODULES or _covered_by_own_test(n)]
    assert stale == []
