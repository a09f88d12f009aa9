"""Settings: capture options and the workspace settings file, built once and passed down.

Precedence: defaults < workspace file (``archiver.yaml``) < ``ARCHIVER_*`` environment < flags.
The file is read with a safe loader only; an unknown key or a value of the wrong type is an error
naming the file, the line and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import SettingsError, UsageError

if TYPE_CHECKING:
    from .due import When

SETTINGS_FILE = "archiver.yaml"
DEFAULT_USER_AGENT = f"archiver/{__version__} (+https://pypi.org/project/archiver/)"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024, "m": 10**6, "mb": 10**6,
          "mi": 2**20, "mib": 2**20, "g": 10**9, "gb": 10**9, "gi": 2**30, "gib": 2**30,
          "t": 10**12, "tb": 10**12, "ti": 2**40, "tib": 2**40}


def parse_size(text: str | int) -> int:
    """'100MB' -> 100000000, '2GiB' -> 2147483648, 512 -> 512."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise UsageError(f"size must not be negative: {text}")
        return text
    m = _SIZE.match(str(text))
    if not m or (m.group(2) or "").lower() not in _UNITS:
        raise UsageError(f"not a size: {text!r} (examples: 500000, 100MB, 2GiB)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """How one capture behaves. Defaults protect a laptop and a remote server alike."""

    depth: int = 1
    exclude: tuple[str, ...] = ()
    max_resources: int = 5000
    max_bytes: int = 200 * 10**6          # per resource
    max_total_bytes: int = 4 * 10**9      # per capture
    timeout: float = 30.0                 # seconds, whole exchange
    concurrency: int = 16
    per_host: int = 2
    user_agent: str = DEFAULT_USER_AGENT
    ignore_robots: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    cookies_file: str | None = None
    keep_secrets: bool = False
    max_redirects: int = 20
    compress_level: int = 6
    dedup: bool = True                    # identical payloads of a URL stored once (revisit records)
    allow_private: bool = False           # found URLs may reach private and link-local addresses
    deny_private: bool = False            # found URLs may not reach private addresses, even for a private seed
    insecure: bool = False                # archive over TLS even when the certificate cannot be verified

    def __post_init__(self) -> None:
        checks = [
            (self.depth >= 0, f"depth must be 0 or more, not {self.depth}"),
            (self.max_resources >= 1, f"max_resources must be 1 or more, not {self.max_resources}"),
            (self.max_bytes >= 1, f"max_bytes must be 1 or more, not {self.max_bytes}"),
            (self.max_total_bytes >= 1, f"max_total_bytes must be 1 or more, not {self.max_total_bytes}"),
            (self.timeout > 0, f"timeout must be positive, not {self.timeout}"),
            (self.concurrency >= 1, f"concurrency must be 1 or more, not {self.concurrency}"),
            (self.per_host >= 1, f"per_host must be 1 or more, not {self.per_host}"),
            (0 <= self.compress_level <= 9, f"compress_level must be 0-9, not {self.compress_level}"),
            (not (self.allow_private and self.deny_private), "--allow-private and --deny-private exclude each other"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        for pattern in self.exclude:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise UsageError(f"--exclude {pattern!r} is not a valid regular expression: {exc}") from None

    def public(self) -> dict[str, Any]:
        """The options as recorded in a manifest or warcinfo: secrets reduced to header names."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "headers":
                value = [name for name, _ in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class Operator:
    """Who captures: recorded in every manifest (provenance)."""

    name: str = ""
    contact: str = ""


DEFAULT_REPLAY_URL = "http://localhost:8080/{collection}/{timestamp}/{url}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """URLs to capture again and again: when, and with which capture options."""

    name: str
    urls: tuple[str, ...]
    when: When
    options: CaptureOptions
    urls_file: str | None = None     # one URL a line, relative to the workspace

    def all_urls(self, workspace_root: Path) -> list[str]:
        urls = list(self.urls)
        if self.urls_file:
            path = workspace_root / self.urls_file
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise UsageError(f"schedule {self.name}: cannot read {path}: {exc.strerror}") from None
            urls += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        return urls


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about a workspace."""

    operator: Operator = field(default_factory=Operator)
    capture: CaptureOptions = field(default_factory=CaptureOptions)
    replay_url: str = DEFAULT_REPLAY_URL   # the archived copy's URL: {collection} {timestamp} {url} {capture_id}
    collection: str = "archive"            # the pywb collection name that replay_url uses
    schedules: tuple[Schedule, ...] = ()


_CAPTURE_TYPES: dict[str, type | tuple[type, ...]] = {
    "depth": int, "exclude": list, "max_resources": int, "max_bytes": (int, str),
    "max_total_bytes": (int, str), "timeout": (int, float), "concurrency": int, "per_host": int,
    "user_agent": str, "ignore_robots": bool, "max_redirects": int, "compress_level": int, "dedup": bool,
    "allow_private": bool, "deny_private": bool, "insecure": bool,
}


def load_settings(workspace_root: Path) -> Settings:
    """Read ``archiver.yaml`` in the workspace, if present; defaults otherwise."""
    path = workspace_root / SETTINGS_FILE
    if not path.exists():
        return Settings()
    import yaml

    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SettingsError(f"malformed YAML: {getattr(exc, 'problem', exc)}", path=str(path),
                            line=mark.line + 1 if mark else None) from None
    if data is None:
        return Settings()
    lines = _key_lines(node)
    if not isinstance(data, dict):
        raise SettingsError("the settings file must be a mapping of keys to values", path=str(path), line=1)
    return _build(data, lines, str(path))


def _key_lines(node: Any, prefix: str = "") -> dict[str, int]:
    """Map 'a.b' key paths to 1-based line numbers, for error messages."""
    import yaml

    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            out[key] = key_node.start_mark.line + 1
            out.update(_key_lines(value_node, key + "."))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[f"{prefix}{i}"] = item.start_mark.line + 1
            out.update(_key_lines(item, f"{prefix}{i}."))
    return out


def _build(data: dict[str, Any], lines: dict[str, int], path: str) -> Settings:
    def fail(key: str, message: str) -> SettingsError:
        return SettingsError(f"{key}: {message}", path=path, line=lines.get(key), key=key)

    known = {"operator", "capture", "replay_url", "collection", "schedules"}
    for key in data:
        if key not in known:
            raise fail(str(key), f"unknown key (known: {', '.join(sorted(known))})")
    operator = Operator()
    if "operator" in data:
        op = data["operator"]
        if not isinstance(op, dict):
            raise fail("operator", "must be a mapping with name and contact")
        for key, value in op.items():
            if key not in ("name", "contact"):
                raise fail(f"operator.{key}", "unknown key (known: contact, name)")
            if not isinstance(value, str):
                raise fail(f"operator.{key}", f"must be text, not {type(value).__name__}")
        operator = Operator(**op)
    capture = _capture_options(data["capture"], CaptureOptions(), "capture", fail) if "capture" in data \
        else CaptureOptions()
    schedules = _schedules(data["schedules"], capture, fail) if "schedules" in data else ()
    extra: dict[str, str] = {}
    for key in ("replay_url", "collection"):
        if key in data:
            if not isinstance(data[key], str) or not data[key].strip():
                raise fail(key, "must be non-empty text")
            extra[key] = data[key].strip()
    if "replay_url" in extra and "{url}" not in extra["replay_url"]:
        raise fail("replay_url", "must contain {url} (and usually {timestamp})")
    return Settings(operator=operator, capture=capture, schedules=schedules, **extra)


Fail = Callable[[str, str], SettingsError]


def _capture_options(raw: Any, base: CaptureOptions, prefix: str, fail: Fail) -> CaptureOptions:
    if not isinstance(raw, dict):
        raise fail(prefix, "must be a mapping of capture options")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{prefix}.{key}"
        expected = _CAPTURE_TYPES.get(key)
        if expected is None:
            raise fail(full, f"unknown key (known: {', '.join(sorted(_CAPTURE_TYPES))})")
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
            raise fail(full, f"has the wrong type {type(value).__name__}")
        if key in ("max_bytes", "max_total_bytes"):
            try:
                value = parse_size(value)
            except UsageError as exc:
                raise fail(full, str(exc)) from None
        values[key] = tuple(value) if isinstance(value, list) else value
    try:
        return replace(base, **values)
    except UsageError as exc:
        raise fail(prefix, str(exc)) from None


_SCHEDULE_KEYS = {"name", "urls", "urls_file", "every", "cron", "timezone", "capture"}


def _schedules(raw: Any, base: CaptureOptions, fail: Fail) -> tuple[Schedule, ...]:
    from .due import When, parse_interval

    if not isinstance(raw, list):
        raise fail("schedules", "must be a list of schedules")
    out: list[Schedule] = []
    for i, entry in enumerate(raw):
        where = f"schedules.{i}"
        if not isinstance(entry, dict):
            raise fail(where, "must be a mapping with name, urls and every or cron")
        for key in entry:
            if key not in _SCHEDULE_KEYS:
                raise fail(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(_SCHEDULE_KEYS))})")
        name = entry.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name):
            raise fail(f"{where}.name", "must be 1-64 letters, digits, '.', '_' or '-'")
        if name in {s.name for s in out}:
            raise fail(f"{where}.name", f"another schedule is named {name!r}")
        urls = entry.get("urls", [])
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise fail(f"{where}.urls", "must be a list of URLs")
        urls_file = entry.get("urls_file")
        if urls_file is not None and not isinstance(urls_file, str):
            raise fail(f"{where}.urls_file", "must be a file name")
        if not urls and not urls_file:
            raise fail(where, "needs urls or urls_file")
        if ("every" in entry) == ("cron" in entry):
            raise fail(where, "needs exactly one of every or cron")
        try:
            when = When(every=parse_interval(str(entry["every"])) if "every" in entry else None,
                        cron=str(entry["cron"]) if "cron" in entry else None,
                        timezone=str(entry.get("timezone", "UTC")))
        except UsageError as exc:
            key = "every" if "every" in entry else "cron"
            raise fail(f"{where}.{key}", str(exc)) from None
        options = _capture_options(entry["capture"], base, f"{where}.capture", fail) if "capture" in entry else base
        out.append(Schedule(name=name, urls=tuple(urls), urls_file=urls_file, when=when, options=options))
    return tuple(out)
