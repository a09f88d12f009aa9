"""Citation fields set by hand: ``archiver cite URL --set author='Jane Doe' --set date=2026-11-02``.

They are kept per URL in the workspace's ``citations.yaml`` (written atomically, under the
workspace lock), applied to every later citation of that URL, and never written into a manifest:
the sealed capture stays as it was archived, and ``reindex`` loses nothing. ``--set field=``
removes what was set, so the page's own value shows again.

::

    https://news.example/harbour:
      author: [Jane Doe, Bo Chen]
      date: '2026-11-02'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from ..core.errors import SettingsError, UsageError
from ..core.workspace import CITATIONS_FILE, Workspace, atomic_write
from ..page.dates import normalize_date
from ..page.metadata import KINDS
from .formats.data import CitationData, Name

# field -> the most characters a value may have
FIELDS = {"title": 1000, "author": 200, "date": 40, "site": 300, "publisher": 300, "language": 35, "kind": 20}
MAX_AUTHORS = 50
MAX_URLS = 100_000
MAX_FILE_BYTES = 16 * 2**20
SOURCE = f"set:{CITATIONS_FILE}"
_ISO_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
# the kinds of source (page/metadata.py) as CSL types (citing/formats/kinds.py)
CSL_TYPE = {"news-article": "article-newspaper", "blog-post": "post-weblog", "report": "report",
            "dataset": "dataset", "journal-article": "article-journal", "pdf-document": "document",
            "web-page": "webpage"}

Fields = dict[str, Any]        # field -> a str, or a list of str for author


@dataclass(frozen=True, slots=True)
class Changes:
    """What one ``archiver cite --set`` asks: fields to set, and fields to clear."""

    set: Fields
    cleared: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [*self.set, *self.cleared]


def parse_sets(values: list[str]) -> Changes:
    """``["author=Jane Doe", "author=Bo Chen", "date=2026-11-02", "title="]`` -> Changes; UsageError
    naming the value for an unknown field, a value too long, a date not in ISO 8601..."""
    fields: Fields = {}
    cleared: list[str] = []
    for raw in values:
        name, sep, value = raw.partition("=")
        name = name.strip().lower()
        if not sep or name not in FIELDS:
            raise UsageError(f"--set {_shown(raw)}: give FIELD=VALUE, FIELD one of {', '.join(FIELDS)}")
        value = " ".join(value.split())
        if not value:
            fields.pop(name, None)
            cleared.append(name)
            continue
        problem = _problem(name, value)
        if problem:
            raise UsageError(f"--set {name}={_shown(value)}: {problem}")
        if name == "author":
            authors = fields.setdefault("author", [])
            if len(authors) >= MAX_AUTHORS:
                raise UsageError(f"--set author: at most {MAX_AUTHORS} authors")
            authors.append(value)
        else:
            fields[name] = normalize_date(value) if name == "date" else value
        if name in cleared:
            cleared.remove(name)
    return Changes(fields, tuple(dict.fromkeys(cleared)))


def _shown(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def _problem(name: str, value: str) -> str | None:
    if len(value) > FIELDS[name]:
        return f"longer than {FIELDS[name]} characters"
    if _CONTROL.search(value):
        return "has a control character"
    if name == "date" and (not _ISO_DATE.match(value) or normalize_date(value) is None):
        return "not a date: give YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][+hh:mm]"
    if name == "kind" and value not in KINDS:
        return f"not a kind of source: one of {', '.join(KINDS)}"
    if name == "language" and not _LANGUAGE.match(value):
        return "not a language tag (en, en-GB, de)"
    return None


def load_overrides(workspace: Workspace) -> dict[str, Fields]:
    """URL -> the fields set for it; empty when there is no ``citations.yaml``. SettingsError (exit
    2) naming the file when it is not what ``--set`` writes."""
    import yaml

    path = workspace.citations_path
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"cannot be read: {exc.strerror or exc}", path=CITATIONS_FILE) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SettingsError(f"is over {MAX_FILE_BYTES // 2**20} MiB", path=CITATIONS_FILE)
    try:
        data = yaml.safe_load(raw.decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise SettingsError(f"is not YAML: {' '.join(str(exc).split())[:200]}", path=CITATIONS_FILE) from None
    if not isinstance(data, dict) or len(data) > MAX_URLS:
        raise SettingsError(f"is not a mapping of URLs to fields (at most {MAX_URLS})", path=CITATIONS_FILE)
    out: dict[str, Fields] = {}
    for url, fields in data.items():
        if not isinstance(url, str) or not isinstance(fields, dict):
            raise SettingsError("maps each URL to its fields", path=CITATIONS_FILE, key=str(url)[:100])
        out[url] = _checked(url, fields)
    return out


def _checked(url: str, fields: dict[Any, Any]) -> Fields:
    checked: Fields = {}
    for name, value in fields.items():
        if name == "date" and isinstance(value, date):      # written by hand without quotes
            value = value.isoformat()
        values = value if name == "author" and isinstance(value, list) else [value]
        if name not in FIELDS or not values or len(values) > MAX_AUTHORS or not all(
                isinstance(v, str) and v.strip() and _problem(name, v) is None for v in values):
            raise SettingsError(f"{url[:100]}: {str(name)[:40]} is not a field --set writes, or its value is not valid",
                                path=CITATIONS_FILE, key=str(name)[:40])
        checked[name] = list(values) if name == "author" else value
    return checked


def save_changes(workspace: Workspace, url: str, changes: Changes) -> Fields:
    """Apply ``changes`` to the fields kept for ``url`` (under the workspace lock, the file
    replaced atomically); returns the fields now kept for it."""
    import yaml

    with workspace.lock():
        overrides = load_overrides(workspace)
        fields = {k: v for k, v in overrides.get(url, {}).items() if k not in changes.names}
        fields.update(changes.set)
        if fields:
            overrides[url] = fields
        else:
            overrides.pop(url, None)
        header = ("# Citation fields set by hand (archiver cite URL --set field=value), applied to every\n"
                  "# citation of the URL. The sealed manifests are never changed; --set field= removes one.\n")
        body = yaml.safe_dump(overrides, allow_unicode=True, sort_keys=True, width=1000) if overrides else ""
        atomic_write(workspace.citations_path, (header + body).encode("utf-8"))
    return fields


def apply_overrides(item: CitationData, fields: Fields) -> CitationData:
    """``item`` with the fields set by hand in place of the page's own, their source ``set:citations.yaml``."""
    if not fields:
        return item
    changes: dict[str, Any] = {}
    sources = dict(item.sources)
    for name, value in fields.items():
        if name == "author":
            changes["authors"] = tuple(Name.parse(a) for a in value)
            sources["authors"] = SOURCE
        elif name == "date":
            from ..page.metadata import date_parts

            changes["issued"] = tuple(date_parts(value) or ())
            sources["published"] = SOURCE
        elif name == "kind":
            changes["kind"] = CSL_TYPE[value]
            sources["kind"] = SOURCE
        else:
            target = {"site": "site", "title": "title", "publisher": "publisher", "language": "language"}[name]
            changes[target] = value
            sources[{"site": "site_name"}.get(name, name)] = SOURCE
    return replace(item, **changes, sources=sources)
