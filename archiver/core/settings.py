"""Settings: capture options and the workspace settings file, built once and passed down.

Precedence: defaults < workspace file (``archiver.yaml``) < ``ARCHIVER_*`` environment < flags.
The file is read with a safe loader only; an unknown key or a value of the wrong type is an error
naming the file, the line and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .capture_options import MAX_SETTINGS_BYTES, MAX_TEXT, REPLAY_FIELDS, OptionError, parse_size, shown, text_problem
from .capture_options import CaptureOptions as CaptureOptions  # a Settings holds one: importable from here too
from .errors import SettingsError, UsageError
from .store_url import check_store_url
from .urls import check_queue_url

if TYPE_CHECKING:
    from .schedule_times import When

SETTINGS_FILE = "archiver.yaml"

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
                with open(path, "rb") as fh:
                    raw = fh.read(MAX_SETTINGS_BYTES * 10 + 1)
                if len(raw) > MAX_SETTINGS_BYTES * 10:
                    raise UsageError(f"schedule {self.name}: {path} is larger than {MAX_SETTINGS_BYTES * 10} bytes")
                lines = raw.decode("utf-8").splitlines()
            except OSError as exc:
                raise UsageError(f"schedule {self.name}: cannot read {path}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise UsageError(f"schedule {self.name}: {path} is not UTF-8 text") from None
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
    witness_file: Path | None = None       # outside the workspace: a record of each sealed capture's chain head
    public_url: str | None = None          # where ``archiver serve`` is published: citations name copies there
    serve_token: str | None = None         # ``archiver serve``: writing requests must carry it
    timestamp_authorities: tuple[str, ...] = ()   # RFC 3161 authorities asked for a token after each seal
    timestamp_roots: tuple[Path, ...] = ()        # PEM files of the roots a token's signer must chain to
    citation_style: str = "apa"   # archiver cite's style when --style is not given: a format or any CSL style (checked when citing)
    store: str | None = None      # capture --queue: the object store workers put their files in (distributed.store)
    queue: str | None = None      # a Redis URL: capture and run hand captures to workers (docs/distributed.md)

    @property
    def archived_url_template(self) -> str:
        """The template of an archived copy's URL in citations: ``replay_url`` when the user set their
        own, else ``{public_url}/{collection}/{timestamp}/{url}`` when ``public_url`` is set, else the
        default (``archiver serve`` on this machine, which answers it with the default collection)."""
        if self.public_url and self.replay_url == DEFAULT_REPLAY_URL:
            return self.public_url.replace("{", "{{").replace("}", "}}") + "/{collection}/{timestamp}/{url}"
        return self.replay_url


_CAPTURE_TYPES: dict[str, type | tuple[type, ...]] = {
    "depth": int, "exclude": list, "max_resources": int, "max_bytes": (int, str),
    "max_total_bytes": (int, str), "timeout": (int, float), "concurrency": int, "per_host": int,
    "user_agent": str, "ignore_robots": bool, "max_redirects": int, "compress_level": int, "dedup": bool,
    "conditional": bool, "allow_private": bool, "deny_private": bool, "insecure": bool, "browser": str, "browser_tabs": int,
}


def load_settings(workspace_root: Path) -> Settings:
    """Read ``archiver.yaml`` in the workspace, if present; defaults otherwise. SettingsError,
    naming the file, line and key, for anything malformed, of the wrong type or out of bounds."""
    path = workspace_root / SETTINGS_FILE
    if not path.exists():
        return Settings()
    return parse_settings(read_settings_text(path), workspace_root)


def read_settings_text(path: Path) -> str:
    """The settings file's text: at most MAX_SETTINGS_BYTES of UTF-8."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SETTINGS_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"cannot read it: {exc.strerror or exc}", path=str(path)) from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise SettingsError(f"larger than {MAX_SETTINGS_BYTES} bytes", path=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise SettingsError("not UTF-8 text", path=str(path), line=line) from None


def parse_settings(text: str, workspace_root: Path) -> Settings:
    """Settings from the text of ``workspace_root``'s settings file (checked as load_settings does)."""
    import yaml

    path = str(workspace_root / SETTINGS_FILE)
    try:
        _refuse_aliases(text, path)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SettingsError(f"malformed YAML: {getattr(exc, 'problem', exc)}", path=path,
                            line=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise SettingsError("malformed YAML: nested too deeply", path=path) from None
    except (ValueError, OverflowError) as exc:    # a timestamp that is no date, an integer of 5000 digits
        raise SettingsError(f"malformed YAML: a value cannot be read ({shown(str(exc), 120)})", path=path) from None
    if data is None:
        return Settings()
    lines = _key_lines(node)
    if not isinstance(data, dict):
        raise SettingsError("the settings file must be a mapping of keys to values", path=path, line=1)
    return _build(data, lines, path, workspace_root)


def _refuse_aliases(text: str, path: str) -> None:
    """Anchors and aliases (``&a``, ``*a``) make a small file a huge document: not in a settings file."""
    import yaml

    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
            raise SettingsError("YAML anchors and aliases (&name, *name) are not allowed", path=path,
                                line=token.start_mark.line + 1)


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


def _build(data: dict[str, Any], lines: dict[str, int], path: str, workspace_root: Path) -> Settings:
    def fail(key: str, message: str) -> SettingsError:
        return SettingsError(f"{key}: {message}", path=path, line=lines.get(key), key=key)

    known = {"operator", "capture", "replay_url", "collection", "schedules", "witness", "public_url", "serve_token",
             "timestamp_authority", "timestamp_roots", "citation_style", "store", "queue"}
    for key in data:
        if key not in known:
            raise fail(shown(key) if not isinstance(key, str) else key, f"unknown key (known: {', '.join(sorted(known))})")
    operator = _operator(data["operator"], fail) if "operator" in data else Operator()
    capture = _capture_options(data["capture"], CaptureOptions(), "capture", fail) if "capture" in data \
        else CaptureOptions()
    schedules = _schedules(data["schedules"], capture, fail) if "schedules" in data else ()
    extra: dict[str, Any] = {}
    if "replay_url" in data:
        extra["replay_url"] = _replay_url(data["replay_url"], fail)
    if "collection" in data:
        extra["collection"] = _collection(data["collection"], fail)
    if "witness" in data:
        extra["witness_file"] = _witness(data["witness"], workspace_root, fail)
    for key, check in (("public_url", check_public_url), ("serve_token", check_token), ("store", check_store_url),
                       ("queue", check_queue_url)):
        if key in data:
            if not isinstance(data[key], str):
                raise fail(key, f"must be text, not {type(data[key]).__name__}")
            try:
                extra[key] = check(data[key])
            except UsageError as exc:
                raise fail(key, str(exc)) from None
    if "timestamp_authority" in data:
        extra["timestamp_authorities"] = _authorities(data["timestamp_authority"], fail)
    if "timestamp_roots" in data:
        extra["timestamp_roots"] = _roots(data["timestamp_roots"], workspace_root, fail)
    if "citation_style" in data:
        extra["citation_style"] = _citation_style(data["citation_style"], fail)
    return Settings(operator=operator, capture=capture, schedules=schedules, **extra)


MAX_AUTHORITIES = 8          # timestamp authorities asked after each seal
MAX_ROOTS = 32               # root certificate files


def _one_or_many(value: Any, key: str, most: int, fail: Fail) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise fail(key, f"must be text or a list of text, not {shown(value)}")
    if len(items) > most:
        raise fail(key, f"lists {len(items)}; at most {most}")
    return [v.strip() for v in items]


def _authorities(value: Any, fail: Fail) -> tuple[str, ...]:
    urls: list[str] = []
    for url in _one_or_many(value, "timestamp_authority", MAX_AUTHORITIES, fail):
        try:
            url = check_authority_url(url)
        except UsageError as exc:
            raise fail("timestamp_authority", str(exc)) from None
        if url in urls:
            raise fail("timestamp_authority", f"{url} is listed twice")
        urls.append(url)
    return tuple(urls)


def check_authority_url(text: str) -> str:
    """An RFC 3161 authority's http(s) URL, without user name or fragment (it is written in every
    manifest: no secret may be in it); UsageError."""
    from urllib.parse import urlsplit

    problem = text_problem(text, MAX_PUBLIC_URL)
    if problem or not text.strip():
        raise UsageError(f"{shown(text)} {problem or 'is empty'}")
    try:
        parts = urlsplit(text.strip())
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or any(c.isspace() for c in text.strip()):
        raise UsageError(f"{shown(text)} is not an http(s) URL with a host, e.g. https://timestamp.example.org/tsr")
    if parts.username is not None or parts.fragment or "#" in text:
        raise UsageError(f"{shown(text)}: no user name, password or fragment (#): the URL is written in every manifest")
    return text.strip()


def _roots(value: Any, workspace_root: Path, fail: Fail) -> tuple[Path, ...]:
    """PEM files (relative ones to the workspace root); read when a token is checked."""
    paths = []
    for name in _one_or_many(value, "timestamp_roots", MAX_ROOTS, fail):
        problem = text_problem(name, MAX_TEXT["path"])
        if problem:
            raise fail("timestamp_roots", f"{shown(name)} {problem}")
        given = Path(name).expanduser()
        paths.append(given if given.is_absolute() else workspace_root / given)
    return tuple(paths)


def _operator(op: Any, fail: Fail) -> Operator:
    if not isinstance(op, dict):
        raise fail("operator", "must be a mapping with name and contact")
    for key, value in op.items():
        if key not in ("name", "contact"):
            raise fail(f"operator.{key}", "unknown key (known: contact, name)")
        if not isinstance(value, str):
            raise fail(f"operator.{key}", f"must be text, not {type(value).__name__}")
        problem = text_problem(value, MAX_TEXT["operator"])
        if problem:
            raise fail(f"operator.{key}", f"{shown(value)} {problem}")
    return Operator(**op)


def _replay_url(value: Any, fail: Fail) -> str:
    """A template whose fields are only REPLAY_FIELDS, without conversions or format specs."""
    import string

    if not isinstance(value, str) or not value.strip():
        raise fail("replay_url", "must be non-empty text")
    problem = text_problem(value, MAX_TEXT["replay_url"])
    if problem:
        raise fail("replay_url", f"{shown(value)} {problem}")
    try:
        parts = list(string.Formatter().parse(value.strip()))
    except ValueError as exc:
        raise fail("replay_url", f"{shown(value)} is not a template: {exc} (write a literal brace as {{{{ or }}}})") from None
    names = {name for _, name, _, _ in parts if name is not None}
    unknown = sorted(names - set(REPLAY_FIELDS))
    if unknown:
        raise fail("replay_url", f"unknown field {{{unknown[0]}}} (known: "
                                 f"{', '.join('{' + f + '}' for f in REPLAY_FIELDS)})")
    if any(spec or conversion for _, name, spec, conversion in parts if name is not None):
        raise fail("replay_url", "fields take no format or conversion: write {url}, not {url!r} or {url:>9}")
    if "url" not in names:
        raise fail("replay_url", "must contain {url} (and usually {timestamp})")
    return value.strip()


MAX_PUBLIC_URL = 2000
MIN_TOKEN, MAX_TOKEN = 8, 512
_TOKEN_CHARS = re.compile(r"[!#-+\--:<-\[\]-~]+")    # visible ASCII a cookie value carries: no space " , ; \\


def check_public_url(text: str) -> str:
    """An http(s) base URL (no user name, query or fragment), without its trailing slashes; UsageError."""
    from urllib.parse import urlsplit

    problem = text_problem(text, MAX_PUBLIC_URL)
    if problem or not text.strip():
        raise UsageError(f"{shown(text)} {problem or 'is empty'}")
    url = text.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise UsageError(f"{shown(text)} is not an http(s) URL with a host, e.g. https://archive.example.org")
    if any(c.isspace() for c in url):
        raise UsageError(f"{shown(text)} contains white space")
    if parts.username is not None or parts.query or parts.fragment or "?" in url or "#" in url:
        raise UsageError(f"{shown(text)} must be a base URL: no user name, query (?) or fragment (#)")
    return url


def check_token(text: str) -> str:
    """A server token: MIN_TOKEN to MAX_TOKEN visible ASCII characters that a cookie can carry; UsageError.
    The message never shows the token."""
    if not MIN_TOKEN <= len(text) <= MAX_TOKEN or not _TOKEN_CHARS.fullmatch(text):
        raise UsageError(f"the token must be {MIN_TOKEN} to {MAX_TOKEN} visible ASCII characters without space, "
                         "quotes, ',', ';' or backslash (e.g. python3 -c 'import secrets; print(secrets.token_urlsafe())')")
    return text


def _citation_style(value: Any, fail: Fail) -> str:
    """A style's name or a .csl file's path: text here; archiver cite checks that the style exists."""
    if not isinstance(value, str) or not value.strip() or len(value) > 4096 or any(ord(c) < 32 for c in value):
        raise fail("citation_style", f"must be a style name (apa, mla, chicago, bibtex, ...) or a .csl file's path, not {shown(value)}")
    return value.strip()


_COLLECTION = re.compile(r"[A-Za-z0-9._-]{1,100}")


def _collection(value: Any, fail: Fail) -> str:
    if not isinstance(value, str) or not _COLLECTION.fullmatch(value.strip()):
        raise fail("collection", f"must be 1-100 letters, digits, '.', '_' or '-', not {shown(value)}")
    return value.strip()


def _witness(value: Any, workspace_root: Path, fail: Fail) -> Path:
    """The witness file: a path outside the workspace (relative ones are relative to its root)."""
    if not isinstance(value, str) or not value.strip():
        raise fail("witness", f"must be a file name (text), not {shown(value)}")
    problem = text_problem(value, MAX_TEXT["path"])
    if problem:
        raise fail("witness", f"{shown(value)} {problem}")
    try:
        given = Path(value.strip()).expanduser()
        witness = (given if given.is_absolute() else workspace_root / given).resolve()
        root = workspace_root.resolve()
        is_dir = witness.is_dir()
    except (OSError, RuntimeError) as exc:        # ~nobody/..., a symlink loop
        raise fail("witness", f"{shown(value)} cannot be resolved: {exc}") from None
    if witness == root or witness.is_relative_to(root):
        raise fail("witness", f"{shown(value)} is inside the workspace; a witness must be outside it "
                              "(whoever can change the workspace could change it too)")
    if is_dir:
        raise fail("witness", f"{shown(value)} is a folder; name a file")
    return witness


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
        if key in ("max_bytes", "max_total_bytes") and isinstance(value, str | int):
            try:
                value = parse_size(value)
            except UsageError as exc:
                raise fail(full, str(exc)) from None
        values[key] = tuple(value) if isinstance(value, list) else value
    try:
        return replace(base, **values)
    except OptionError as exc:
        raise fail(f"{prefix}.{exc.option}", exc.problem) from None
    except UsageError as exc:
        raise fail(prefix, str(exc)) from None


_SCHEDULE_KEYS = {"name", "urls", "urls_file", "every", "cron", "timezone", "capture"}
SCHEDULE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_SCHEDULE_URLS = 10_000


def schedule_name_problem(name: object) -> str | None:
    """What is wrong with a schedule's name (None if nothing)."""
    if isinstance(name, str) and SCHEDULE_NAME.fullmatch(name):
        return None
    return f"must be 1-64 letters, digits, '.', '_' or '-', not {shown(name)}"


def _schedules(raw: Any, base: CaptureOptions, fail: Fail) -> tuple[Schedule, ...]:
    if not isinstance(raw, list):
        raise fail("schedules", "must be a list of schedules")
    out: list[Schedule] = []
    for i, entry in enumerate(raw):
        schedule = _schedule(entry, f"schedules.{i}", base, fail)
        if schedule.name in {s.name for s in out}:
            raise fail(f"schedules.{i}.name", f"another schedule is named {schedule.name!r}")
        out.append(schedule)
    return tuple(out)


def _schedule(entry: Any, where: str, base: CaptureOptions, fail: Fail) -> Schedule:
    if not isinstance(entry, dict):
        raise fail(where, "must be a mapping with name, urls and every or cron")
    for key in entry:
        if key not in _SCHEDULE_KEYS:
            raise fail(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(_SCHEDULE_KEYS))})")
    name = entry.get("name")
    problem = schedule_name_problem(name)
    if problem:
        raise fail(f"{where}.name", problem)
    urls = _schedule_urls(entry.get("urls", []), f"{where}.urls", fail)
    urls_file = entry.get("urls_file")
    if urls_file is not None:
        problem = "must be a file name" if not isinstance(urls_file, str) or not urls_file.strip() \
            else text_problem(urls_file, MAX_TEXT["path"])
        if problem:
            raise fail(f"{where}.urls_file", problem)
    if not urls and not urls_file:
        raise fail(where, "needs urls or urls_file")
    when = _when(entry, where, fail)
    options = _capture_options(entry["capture"], base, f"{where}.capture", fail) if "capture" in entry else base
    return Schedule(name=str(name), urls=urls, urls_file=urls_file, when=when, options=options)


def _schedule_urls(urls: Any, where: str, fail: Fail) -> tuple[str, ...]:
    from .urls import canonical

    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise fail(where, "must be a list of URLs")
    if len(urls) > MAX_SCHEDULE_URLS:
        raise fail(where, f"has more than {MAX_SCHEDULE_URLS} URLs (use urls_file)")
    for i, url in enumerate(urls):
        try:
            canonical(url)
        except UsageError as exc:
            raise fail(f"{where}.{i}", str(exc)) from None
    return tuple(urls)


def _when(entry: dict[str, Any], where: str, fail: Fail) -> When:
    from .schedule_times import When, check_timezone, parse_interval

    if ("every" in entry) == ("cron" in entry):
        raise fail(where, "needs exactly one of every or cron")
    key = "every" if "every" in entry else "cron"
    for name in (key, "timezone"):
        if name in entry and not isinstance(entry[name], str):
            raise fail(f"{where}.{name}", f"must be text, not {type(entry[name]).__name__}")
    try:
        check_timezone(entry.get("timezone", "UTC"))
    except UsageError as exc:
        raise fail(f"{where}.timezone", str(exc)) from None
    try:
        return When(every=parse_interval(entry["every"]) if key == "every" else None,
                    cron=entry.get("cron"), timezone=entry.get("timezone", "UTC"),
                    spelled=" ".join(entry[key].split()))
    except UsageError as exc:
        raise fail(f"{where}.{key}", str(exc)) from None
