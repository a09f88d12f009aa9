"""The layers point one way: a module imports only from layers below its own."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "archiver"
LAYERS = [
    {"errors", "models", "codec", "yamlemit", "importbounds", "interrupts"},
    {"workspace", "urls", "httpwire", "content", "robots", "chain", "signing", "timeparse",
     "citeformats.data", "due", "drift", "netsafety", "waczunpack", "witness"},
    {"settings", "fetch", "links", "crawl", "warcscan", "metadata", "maintext", "surt", "citeformats.csl", "trustcheck"},
    {"warc", "requests_plan", "manifest", "fidelity", "entrycheck", "citeformats.bibtex", "citeformats.ris",
     "citeformats.robust", "citeformats.markdown", "citeformats.styles"},
    {"exchange_work", "seal", "index"},
    {"capturing", "verifying", "citing", "cdxj"},
    {"runner", "reporting", "bagexport", "importing"},
    {"waczexport"},
    {"progress"},
    {"summary"},
    {"demo.run", "demo.sample", "demo.server"},
    {"commands"},
    {"cli"},
    {"__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def imports_of(path: Path) -> set[str]:
    name = module_name(path)
    package = name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if node.module is None:
                found |= {".".join([*base, a.name]) for a in node.names}
            else:
                found.add(target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("archiver."):
            found.add(node.module.removeprefix("archiver."))
    return {f for f in found if f}


def test_every_module_has_a_layer() -> None:
    modules = {module_name(p) for p in PACKAGE.rglob("*.py") if p.stem != "__init__"}
    assert modules == set(RANK), f"unplaced: {modules - set(RANK)}, gone: {set(RANK) - modules}"


def test_imports_point_down() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path.stem == "__init__":
            continue
        me = module_name(path)
        for target in imports_of(path):
            if target in RANK and RANK[target] >= RANK[me] and not (me.startswith("demo") and target.startswith("demo")):
                wrong.append(f"{me} imports {target}")
    assert not wrong, wrong


def test_library_code_never_prints_or_exits() -> None:
    for path in PACKAGE.rglob("*.py"):
        if module_name(path) in ("cli", "commands", "__main__"):
            continue
        tree = ast.parse(path.read_text())
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "print" not in calls, path
        assert "sys.exit" not in path.read_text(), path
