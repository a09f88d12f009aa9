"""The public API is pinned: what researchers import stays importable, and is what it says."""

from __future__ import annotations

import inspect

import archiver

PINNED = ["ArchiverError", "CaptureOptions", "CaptureResult", "Settings", "Workspace", "__version__", "capture",
          "cite", "import_archive", "load_settings", "verify"]


def test_all_is_pinned_and_resolves() -> None:
    assert sorted(archiver.__all__) == sorted(PINNED)
    for name in PINNED:
        assert getattr(archiver, name) is not None, name


def test_functions_are_functions_even_after_their_modules_are_imported() -> None:
    import archiver.capturing.run  # noqa: F401
    import archiver.citing.citations  # noqa: F401
    import archiver.fixity.verify  # noqa: F401

    for name in ("capture", "cite", "verify", "import_archive", "load_settings"):
        assert inspect.isfunction(getattr(archiver, name)), name
    assert "workspace" in inspect.signature(archiver.verify).parameters


def test_the_readme_python_example_imports_as_shown() -> None:
    """Every import line of README.md's "Use it from Python" example runs as written."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## Use it from Python", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith(("from ", "import "))]
    assert any("archiver" in line for line in lines)
    scope: dict[str, object] = {}
    exec("\n".join(lines), scope)
    assert callable(scope["capture"]) and "apa" in scope["FORMATS"]
