"""The packages are layers, named in docs/architecture.md: a module imports only from its own package
and the packages below it. Every import form counts: ``from . import x``, ``from .pkg import x``,
``from .. import x``, ``import archiver.x``, ``from archiver.x import y``, imports inside functions and
under TYPE_CHECKING, and ``__init__.py`` files. The first tests show that each form is caught."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archiver"
DOC = PACKAGE.parent / "docs" / "architecture.md"
LAYERS = ["core", "net", "warc", "page", "fixity", "index", "browser", "capturing", "distributed", "citing", "watch", "rescue",
          "transfer", "demo", "serve", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
TOP = {"__init__", "__main__", "citeformats"}   # the public API, `python -m archiver` and the README's
                                                # `archiver.citeformats`: above every layer


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts)


def imports_of(name: str, source: str) -> set[str]:
    """Every archiver module or package ``source`` (the text of module ``name``) imports, as dotted
    names inside archiver ('' for archiver itself)."""
    parts = name.split(".")
    package = parts if parts[-1] == "__init__" else parts[:-1]
    if parts[-1] == "__init__":
        package = parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            if node.level - 1 > len(package):
                found.add("<outside archiver>")
                continue
            if node.module is None:
                found |= {".".join([*base, a.name]) for a in node.names}
            else:
                found.add(".".join([*base, *node.module.split(".")]))
        elif isinstance(node, ast.ImportFrom) and node.module and (node.module + ".").startswith("archiver."):
            module = node.module.removeprefix("archiver").removeprefix(".")
            found |= {f"{module}.{a.name}".strip(".") for a in node.names} if not module else {module}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("archiver").removeprefix(".") for a in node.names
                      if (a.name + ".").startswith("archiver.")}
    return found


def layer_of(module: str) -> str | None:
    head = module.split(".")[0]
    return head if head in RANK else None


def violations(name: str, source: str) -> list[str]:
    """What module ``name`` imports against the layers."""
    if name in TOP:
        return []
    mine = layer_of(name)
    if mine is None:
        return [f"{name} is in no layer"]
    wrong = []
    for target in sorted(imports_of(name, source)):
        theirs = layer_of(target)
        if target in ("", "__version__"):
            continue                              # the package itself: its version
        if theirs is None or RANK[theirs] > RANK[mine]:
            wrong.append(f"{name} imports {target}")
    return wrong


FORMS = {
    "from . import x": ("core.models", "from . import settings\nfrom ..net import fetch"),
    "from .pkg import x": ("core.models", "from ..capturing.run import capture"),
    "from .. import x": ("net.fetch", "from .. import cli"),
    "import archiver.x": ("core.models", "import archiver.fixity.verify"),
    "import archiver.x as y": ("net.fetch", "import archiver.index.store as store"),
    "from archiver.x import y": ("warc.reader", "from archiver.capturing import run"),
    "from archiver import x": ("warc.reader", "from archiver import cli"),
    "inside a function": ("page.links", "def f():\n    from ..transfer.importer import import_archive\n"),
    "under TYPE_CHECKING": ("page.links", "if TYPE_CHECKING:\n    from ..fixity.verify import VerifyReport\n"),
    "in an __init__.py": ("core.__init__", "from ..net.fetch import Fetcher"),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_import_form_is_caught(form: str) -> None:
    name, source = FORMS[form]
    assert violations(name, source), f"{form} was not caught"


def test_imports_inside_a_layer_and_downwards_pass() -> None:
    assert violations("capturing.run", "from ..fixity.seal import seal\nfrom .exchange import Fetched\n"
                                       "import archiver.core.errors\nfrom archiver.net import fetch") == []


def test_every_module_is_in_a_layer_and_every_layer_is_a_package() -> None:
    modules = [module_name(p) for p in PACKAGE.rglob("*.py")]
    assert not [m for m in modules if m not in TOP and layer_of(m) is None]
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(LAYERS)
    loose = [p.name for p in PACKAGE.glob("*.py") if p.stem not in TOP]
    assert len(loose) <= 3, loose


def test_imports_point_down() -> None:
    wrong = [v for path in PACKAGE.rglob("*.py") for v in violations(module_name(path), path.read_text())]
    assert not wrong, wrong


def test_no_module_is_over_500_lines() -> None:
    long = {module_name(p): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_the_architecture_doc_names_the_layers_in_order() -> None:
    text = DOC.read_text()
    table = re.findall(r"^\| *\d+ *\| *`([a-z_]+)/?` *\|", text, re.MULTILINE)
    assert table == LAYERS, table


def test_the_architecture_picture_shows_exactly_the_imports() -> None:
    drawn: dict[str, set[str]] = {}
    block = DOC.read_text().split("```mermaid", 1)[1].split("```", 1)[0]
    for line in block.splitlines():
        if "-->" in line:
            left, right = line.split("-->")
            drawn[left.strip()] = {n.strip() for n in right.split("&")}
    actual: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        mine = layer_of(name)
        for target in imports_of(name, path.read_text()):
            theirs = layer_of(target)
            if mine and theirs and theirs != mine:
                actual.setdefault(mine, set()).add(theirs)
    assert drawn == actual


def test_library_code_never_prints_or_exits() -> None:
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if name.startswith("cli.") or name == "__main__":
            continue
        tree = ast.parse(path.read_text())
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "print" not in calls, path
        assert "sys.exit" not in path.read_text(), path
