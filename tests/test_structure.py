"""The package's structural rules (ARCHITECTURE.md), checked on the source."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "compress_lib"
MODULES = sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
PUBLIC = [p for p in MODULES if not p.name.startswith("_")]
NUMPY_ONLY = ["compress_lib", "compress_lib._checks", "compress_lib.config",
              "compress_lib.tables", "compress_lib.quantization", "compress_lib.losses",
              "compress_lib.data", "compress_lib.results"]
MAX_FUNCTION_LINES = 40
SHARED_PRIVATE = ("compress_lib._checks", "compress_lib._compat")  # private to the package


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _private_attributes(path: Path) -> list[str]:
    """`obj._name` accesses on anything but self/cls (dunders and IPython's public display
    protocol, `_repr_*_`, allowed)."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith(("__", "_repr_")):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if owner not in ("self", "cls"):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    return found


def test_private_library_apis_only_in_compat():
    found = [hit for p in MODULES if p.name != "_compat.py" for hit in _private_attributes(p)]
    assert not found, f"private attributes outside compress_lib/_compat.py: {found}"
    assert _private_attributes(PACKAGE / "_compat.py"), "the check itself must see _compat's"


def test_no_module_imports_another_modules_private_names():
    found = []
    for path in MODULES:
        for node in ast.walk(_tree(path)):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if module.startswith("compress_lib") and module not in SHARED_PRIVATE:
                found += [f"{path.name}: {module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and f"{module}.{a.name}" not in SHARED_PRIVATE]
    assert not found, found


@pytest.mark.parametrize("path", [*MODULES, *sorted((ROOT / "tools").glob("*.py"))],
                         ids=lambda p: p.name)
def test_functions_are_short(path):
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(_tree(path))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def _all_names(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]
    return None


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.name)
def test_every_module_lists_its_public_api(path):
    tree = _tree(path)
    names = _all_names(tree)
    assert names is not None, f"{path.name} has no __all__"
    defined = {n.name for n in tree.body
               if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if isinstance(t, ast.Name)}
    assert set(names) <= defined, f"{path.name}: __all__ names missing: {set(names) - defined}"
    public_defs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)
                   and not n.name.startswith("_")}
    assert public_defs <= set(names), \
        f"{path.name}: public but not in __all__ (make private or list): {public_defs - set(names)}"


def test_numpy_only_modules_do_not_import_tensorflow():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in NUMPY_ONLY)
            + "print(sorted(m for m in ('tensorflow', 'keras', 'tf_keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]", f"importing {NUMPY_ONLY} imported {out}"


def test_importing_the_package_sets_nothing():
    code = ("import os, sys\nbefore = dict(os.environ)\nimport compress_lib\n"
            "print(dict(os.environ) == before, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "True False"


def _imports(path: Path) -> set[str]:
    """compress_lib modules imported anywhere in a module (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("compress_lib"):
            if node.module == "compress_lib":
                names |= {a.name for a in node.names}
            else:
                names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("compress_lib.")}
    return names - {path.stem}


def test_module_imports_form_no_cycle():
    deps = {p.stem: _imports(p) for p in MODULES}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in sorted(deps.get(module, ())):
            visit(dep, (*path, module))
        done.add(module)

    for module in sorted(deps):
        visit(module, ())
    assert "graph" in deps["pruning"] and "_checks" in deps["graph"]
