"""One hostile WARC or WACZ never breaks a workspace (issue #11).

Every value from an imported file is bounded where it enters: a file with a value out of range is
refused with one line naming the file and the record, exit 2, and the workspace stays byte for byte
as it was. A sealed capture whose manifest holds odd values (an older archiver, a hand edit) never
stops a command: the index leaves out what it cannot hold and lists it. Hypothesis generates the
hostile files with correct digests, so that only the bounds can refuse them.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from archiver.cli.app import main
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.fixity.seal import seal_document
from archiver.index.store import Index

PAGE = "http://hostile.example/page"
IMAGE = "http://hostile.example/i.png"
BODY = b"<html><head><title>Harbour minutes</title></head><body><p>The council voted on dredging.</p></body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
DATE = "2024-05-06T07:08:09Z"
SETTINGS = settings(database=None, deadline=None, max_examples=80,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# -- building WARC and WACZ files, digests always right ------------------------------------------

def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()   # noqa: S324 - WARC's usual digest


def record(headers: dict[str, str], block: bytes) -> bytes:
    """One WARC record: the given headers (any value, as given), then Content-Length and the block
    digest unless the headers set them."""
    fields = {"WARC-Block-Digest": sha1_b32(block), "Content-Length": str(len(block)), **headers}
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def http_response(status_line: str, headers: dict[str, str], body: bytes) -> bytes:
    head = status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("utf-8") + body


def response(url: str, body: bytes, *, status_line: str = "HTTP/1.1 200 OK", http: dict[str, str] | None = None,
             warc: dict[str, str] | None = None) -> bytes:
    block = http_response(status_line, {"Content-Type": "text/html; charset=utf-8", **(http or {})}, body)
    headers = {"WARC-Type": "response", "WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>", "WARC-Date": DATE,
               "WARC-Target-URI": url, "WARC-IP-Address": "192.0.2.7", "Content-Type": "application/http; msgtype=response",
               "WARC-Payload-Digest": sha1_b32(body), **(warc or {})}
    return record(headers, block)


def warc_file(path: Path, records: list[bytes]) -> Path:
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    return path


def good_records() -> list[bytes]:
    return [response(PAGE, BODY), response(IMAGE, PNG, http={"Content-Type": "image/png"})]


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def wacz_file(path: Path, warc: bytes, *, pages: bytes | None = None, resource: dict[str, Any] | None = None,
              package: dict[str, Any] | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """A WACZ whose hashes are all right: ``resource`` overrides the WARC's entry in datapackage.json,
    ``package`` its top-level fields, ``extra`` adds members (any name)."""
    pages = pages if pages is not None else (b'{"format": "json-pages-1.0", "id": "pages"}\n'
                                             + json.dumps({"url": PAGE, "ts": DATE}).encode() + b"\n")
    members = {"archive/data.warc.gz": warc, "pages/pages.jsonl": pages}
    resources = [{"name": name.rsplit("/", 1)[-1], "path": name, "hash": digest(data), "bytes": len(data)}
                 for name, data in members.items()]
    resources[0].update(resource or {})
    datapackage = json.dumps({"profile": "data-package", "wacz_version": "1.1.1", "software": "hostile-test 1.0",
                              "resources": resources, **(package or {})}).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr("datapackage.json", datapackage)
        z.writestr("datapackage-digest.json", json.dumps({"path": "datapackage.json", "hash": digest(datapackage)}))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


# -- running archiver in-process and as a subprocess ---------------------------------------------

def run(*argv: str) -> tuple[int, str, str]:
    """archiver's CLI in this process: (exit code, stdout, stderr); any uncaught exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", "-w", str(ws), *args],
                          check=False, capture_output=True, text=True, timeout=120)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` but the derived state in ``.archiver/``, with its sha256."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".archiver" not in p.relative_to(root).parts}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding one good imported capture, copied for each example."""
    root = tmp_path_factory.mktemp("base") / "ws"
    source = warc_file(root.parent / "good.warc.gz", good_records())
    code, _, err = run("-w", str(root), "import", str(source))
    assert code == 0, err
    return root


@contextlib.contextmanager
def workspace_copy(base: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(base, ws)
        yield ws


def import_and_check(ws: Path, source: Path, url: str = PAGE) -> tuple[int, str]:
    """Import ``source``; the properties that hold whatever it holds. Returns (exit code, stderr)."""
    before = snapshot(ws)
    code, out, err = run("-w", str(ws), "import", str(source))
    event("accepted" if code == 0 else "refused")
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("archiver: "), err
        assert source.name in lines[0] or repr(source.name)[1:-1] in lines[0], err
        assert snapshot(ws) == before, "a refused import changed the workspace"
        return code, err
    assert err == "", err
    every_command_works(ws, url)
    return code, err


def every_command_works(ws: Path, url: str = PAGE) -> None:
    code, out, err = run("-w", str(ws), "verify", "--workers", "1")
    assert code == 0, out + err
    for args in (["lookup", url], ["lookup", IMAGE, "--json"], ["search", "dredging"], ["reindex"],
                 ["export", "cdxj", "-o", str(ws.parent / "all.cdxj")], ["report"]):
        code, out, err = run("-w", str(ws), *args)
        assert code in (0, 1), (args, code, err)
        assert code == 0 or len(err.splitlines()) == 1, (args, err)
    lines = (ws.parent / "all.cdxj").read_text().splitlines()
    assert lines and all(len(line.split(" ", 2)) == 3 and json.loads(line.split(" ", 2)[2]) for line in lines)


# -- hostile values, field by field ---------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
CONTROL = st.builds(lambda a, c, b: a + c + b, TEXT, st.sampled_from(["\r", "\n", "\x00", "\x7f", "\x85", "\u2028"]),
                    TEXT)
LONG = st.integers(70_000, 120_000).map(lambda n: "http://hostile.example/" + "a" * n)
DATES = st.one_of(TEXT, st.sampled_from(["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00",
                                         "1989-12-31T23:59:59Z", "10000-01-01T00:00:00Z", "99991231235959",
                                         "2024-02-30T00:00:00Z", "Sun, 06 Nov 1994 08:49:37 GMT", DATE]),
                  st.integers(1, 20000).map(lambda y: f"{y:04d}-01-01T00:00:00Z"))
URLS = st.one_of(CONTROL, LONG, TEXT, st.sampled_from(["ftp://hostile.example/", "http:///nohost", "http://[::1/",
                                                       "http://hostile.example:99999/", "dns:hostile.example",
                                                       "http://exa mple/", "<http://hostile.example/page>", PAGE]))
NUMBERS = st.one_of(st.integers(-10**30, 10**30).map(str), TEXT, st.sampled_from(["+200", " 200", "2_00", "２００", "0200"]))
UUIDS = st.uuids().map(lambda u: f"<urn:uuid:{u}>")


def field(valid: st.SearchStrategy[str], *hostile: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value that is sometimes within bounds (so that imports are accepted too), mostly hostile."""
    return st.one_of(valid, *hostile)


WARC_FIELDS: dict[str, st.SearchStrategy[str]] = {
    "WARC-Date": field(st.sampled_from([DATE, "2024-05-06T07:08:09.123456Z", "1990-01-01T00:00:00Z"]), DATES),
    "WARC-Record-ID": field(UUIDS, TEXT, CONTROL, st.integers(500, 2000).map(lambda n: "<urn:x:" + "9" * n + ">")),
    "WARC-Target-URI": field(st.sampled_from(["http://hostile.example/page?b=2&a=1", "HTTP://Hostile.Example:80/page"]),
                             URLS),
    "WARC-IP-Address": field(st.sampled_from(["10.0.0.1", "2001:db8::1"]), TEXT,
                             st.sampled_from(["999.1.1.1", "::g", "fe80::1%eth0"])),
    "WARC-Payload-Digest": field(st.just(sha1_b32(BODY)), TEXT, st.builds(lambda junk: sha1_b32(BODY) + junk, TEXT)),
    "WARC-Truncated": field(st.sampled_from(["length", "TIME", "disconnect", "unspecified"]), TEXT),
    "WARC-Refers-To": field(UUIDS, TEXT, CONTROL),
    "WARC-Concurrent-To": field(UUIDS, TEXT, CONTROL),
}
HTTP_FIELDS: dict[str, st.SearchStrategy[str]] = {
    "Content-Type": field(st.sampled_from(["text/html", "application/octet-stream"]), TEXT, CONTROL,
                          st.integers(5000, 9000).map(lambda n: "text/html; x=" + "y" * n)),
    "Location": field(st.sampled_from(["http://hostile.example/", "/a"]), TEXT, CONTROL, LONG),
    "Content-Language": field(st.just("en"), TEXT, CONTROL),
}
STATUS = field(st.sampled_from(["200", "404", "999", "100"]), NUMBERS)


@st.composite
def hostile_warcs(draw: st.DrawFn) -> tuple[dict[str, str], str, dict[str, str]]:
    """(WARC header overrides, status line, HTTP header overrides) for the page's response: one
    field, or several at once."""
    names = draw(st.lists(st.sampled_from([*WARC_FIELDS, "status", *HTTP_FIELDS]), min_size=1, max_size=4,
                          unique=True))
    warc = {n: draw(WARC_FIELDS[n]) for n in names if n in WARC_FIELDS}
    http = {n: draw(HTTP_FIELDS[n]) for n in names if n in HTTP_FIELDS}
    status = f"HTTP/1.1 {draw(STATUS)} OK" if "status" in names else "HTTP/1.1 302 Found"
    if "Location" not in http and "status" not in names:
        http["Location"] = "/elsewhere"
    return warc, status, http


@SETTINGS
@given(hostile=hostile_warcs())
def test_hostile_warc_fields_are_refused_or_imported_safely(base: Path, hostile) -> None:
    warc, status, http = hostile
    with workspace_copy(base) as ws:
        source = warc_file(ws.parent / "hostile.warc.gz",
                           [response(PAGE, BODY, status_line=status, http=http, warc=warc), good_records()[1]])
        import_and_check(ws, source)


# -- hostile WACZ packages ------------------------------------------------------------------------

def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**80, 2**80), st.floats(), TEXT, CONTROL,
                        st.lists(st.integers(), max_size=3), st.dictionaries(TEXT, st.integers(), max_size=2))
PAGE_LINES = st.one_of(
    st.builds(lambda url: json.dumps({"url": url, "ts": DATE}).encode(), st.one_of(JSON_VALUES, LONG)),
    st.builds(lambda ts: json.dumps({"url": PAGE, "ts": ts}).encode(), st.one_of(JSON_VALUES, st.text(min_size=70))),
    st.sampled_from([b"not json", b"1" * 5000, b'{"url": ' + b"9" * 5000 + b"}", _deep(100_000),
                     b'{"url": [' * 3000, b"\xff\xfe", b"[]", b'"just a string"']),
)
RESOURCE_FIELDS = {
    "path": st.one_of(st.sampled_from(["../x.warc.gz", "/abs/data.warc.gz", "archive/../../x", "C:\\x", "~/x",
                                       "archive/a\nb.warc.gz", "archive/" + "x" * 2000]), JSON_VALUES),
    "hash": st.one_of(st.sampled_from(["md5:", "blake3:", "", "sha256:", "sha256:zz"]), JSON_VALUES),
    "bytes": st.one_of(st.integers(-2**80, 2**80), JSON_VALUES),
}


@st.composite
def hostile_waczs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pages", "resource", "member", "software", "hash-algorithm"]))
    if kind == "pages":
        return {"pages": b"\n".join(draw(st.lists(PAGE_LINES, min_size=1, max_size=3))) + b"\n"}
    if kind == "resource":
        field = draw(st.sampled_from(sorted(RESOURCE_FIELDS)))
        return {"resource": {field: draw(RESOURCE_FIELDS[field])}}
    if kind == "member":
        name = draw(st.one_of(st.sampled_from(["../x", "/etc/x", "a/../../x", "C:x", "\\\\host\\x", "a\nb", "x\x00y"]),
                              TEXT.filter(bool)))
        return {"extra": {name: b"x"}}
    if kind == "software":
        return {"package": {"software": draw(JSON_VALUES)}}
    algo = draw(st.sampled_from(["md5", "blake3", "sha1", "", "SHA256"]))
    return {"hash_algorithm": algo}


@SETTINGS
@given(hostile=hostile_waczs())
def test_hostile_wacz_packages_are_refused_or_imported_safely(base: Path, hostile: dict[str, Any]) -> None:
    warc = b"".join(gzip.compress(r) for r in good_records())
    with workspace_copy(base) as ws:
        algo = hostile.pop("hash_algorithm", None)
        if algo is not None:
            h = hashlib.new(algo.lower()) if algo.lower() in hashlib.algorithms_available else hashlib.sha256()
            h.update(warc)
            hostile["resource"] = {"hash": f"{algo}:{h.hexdigest()}" if algo else h.hexdigest()}
        source = wacz_file(ws.parent / "hostile.wacz", warc, **hostile)
        code, err = import_and_check(ws, source)
    if algo is not None and algo.lower() != "sha256":
        assert code == 2 and "algorithm" in err


# -- the case that was found: a status of twenty digits ---------------------------------------------

def test_a_status_of_twenty_digits_is_refused_and_every_command_still_works(base: Path) -> None:
    hostile = response(PAGE, BODY, status_line="HTTP/1.1 99999999999999999999 OK")
    record_id = hostile.split(b"WARC-Record-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()
    with workspace_copy(base) as ws:
        before = snapshot(ws)
        done = cli(ws, "import", str(warc_file(ws.parent / "status.warc.gz", [hostile])))
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.splitlines() == [
            f"archiver: status.warc.gz (record {record_id}): HTTP status '99999999999999999999' is not a "
            "three-digit number; nothing was imported"]
        assert snapshot(ws) == before
        for args in (["lookup", PAGE], ["search", "dredging"], ["reindex"], ["report"],
                     ["export", "cdxj", "-o", str(ws.parent / "x.cdxj")], ["cite", PAGE, "--style", "apa"]):
            done = cli(ws, *args)
            assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stderr)


# -- each bound, one at a time: the message names the file, the record and the value -------------

WARC_CASES = [
    ("WARC-Date", "0001-01-01T00:00:00+01:00", "WARC-Date '0001-01-01T00:00:00+01:00' is not a date"),
    ("WARC-Date", "1989-12-31T23:59:59Z", "WARC-Date 1989-12-31 is not between 1990 and 9999"),
    ("WARC-Date", "yesterday", "WARC-Date 'yesterday' is not a date"),
    ("WARC-Record-ID", "<urn:" + "x" * 600 + ">", "WARC-Record-ID is 606 characters long (at most 512)"),
    ("WARC-Record-ID", "<urn:uuid:a b>", "WARC-Record-ID holds characters other than printable ASCII"),
    ("WARC-Target-URI", "http://hostile.example/\x00", "WARC-Target-URI holds a control character"),
    ("WARC-Target-URI", "http://hostile.example/" + "a" * 70_000, "WARC-Target-URI is 70023 characters long"),
    ("WARC-Target-URI", "http://hostile.example:99999/", "is not an http(s) URL with a valid host and port"),
    ("WARC-IP-Address", "999.1.1.1", "WARC-IP-Address '999.1.1.1' is not an IP address"),
    ("WARC-Payload-Digest", "sha1 ABC", "WARC-Payload-Digest 'sha1 ABC' is not a labelled digest"),
    ("WARC-Truncated", "maybe", "WARC-Truncated 'maybe' is none of disconnect, length, time, unspecified"),
    ("Content-Length", "+", "Content-Length '+1"),
    ("status", "HTTP/1.1 -5 OK", "HTTP status '-5' is not a three-digit number"),
    ("status", "HTTP/1.1 099 OK", "HTTP status 99 is not between 100 and 999"),
    ("status", "HTTP/1.1 ２００ OK", "HTTP status '２００' is not a three-digit number"),
    ("Content-Type", "text/html; q=" + "x" * 5000, "Content-Type is 5013 characters long (at most 4096)"),
    ("Location", "http://hostile.example/\x00", "Location holds a control character"),
]


@pytest.mark.parametrize(("name", "value", "expected"), WARC_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(WARC_CASES)])
def test_each_hostile_warc_value_is_refused_naming_the_file_and_record(tmp_path: Path, name: str, value: str,
                                                                      expected: str) -> None:
    if name == "status":
        hostile = response(PAGE, BODY, status_line=value)
    elif name in ("Content-Type", "Location"):
        hostile = response(PAGE, BODY, status_line="HTTP/1.1 301 Moved", http={name: value})
    elif name == "Content-Length":
        hostile = response(PAGE, BODY).replace(b"Content-Length: ", b"Content-Length: +", 1)
    else:
        hostile = response(PAGE, BODY, warc={name: value})
    ws = tmp_path / "ws"
    code, out, err = run("-w", str(ws), "import", str(warc_file(tmp_path / "h.warc.gz", [hostile])))
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("archiver: h.warc.gz") and expected in err and err.rstrip().endswith("nothing was imported")
    if name not in ("WARC-Record-ID", "Content-Length"):
        assert "(record <urn:uuid:" in err
    assert snapshot(ws) == {}


WACZ_CASES: list[tuple[dict[str, Any], str]] = [
    ({"resource": {"hash": "md5:" + "0" * 32}}, "an unknown or unsafe algorithm"),
    ({"resource": {"hash": "blake3:" + "0" * 64}}, "an unknown or unsafe algorithm"),
    ({"resource": {"hash": "0" * 64}}, "an unknown or unsafe algorithm"),
    ({"resource": {"bytes": -1}}, "its size -1 is not a whole number"),
    ({"resource": {"bytes": 2**70}}, "is not a whole number from 0 to"),
    ({"resource": {"bytes": "12"}}, "its size '12' is not a whole number"),
    ({"resource": {"path": "../archive/data.warc.gz"}}, "datapackage.json lists an unsafe or missing path"),
    ({"extra": {"../x": b"x"}}, "the package holds a path that leaves it: '../x'"),
    ({"extra": {"/etc/x": b"x"}}, "the package holds a path that leaves it: '/etc/x'"),
    ({"extra": {"a\nb": b"x"}}, "the package holds a path that leaves it: 'a\\nb'"),
    ({"pages": b"not json\n"}, "pages/pages.jsonl line 1 is not JSON"),
    ({"pages": _deep(100_000) + b"\n"}, "pages/pages.jsonl line 1 is not JSON (or is nested too deeply)"),
    ({"pages": b'{"url": ' + b"9" * 5000 + b"}\n"}, "pages/pages.jsonl line 1 is not JSON"),
    ({"pages": b'{"url": 5}\n'}, "pages/pages.jsonl line 1: its url is not text: 5"),
    ({"pages": json.dumps({"url": "http://x/\r\nSet-Cookie: a"}).encode()}, "its url holds a control character"),
    ({"pages": json.dumps({"url": PAGE, "ts": "x" * 100}).encode()}, "its ts is 100 characters long"),
    ({"pages": json.dumps({"url": PAGE, "ts": 2**70}).encode()}, "its ts 1180591620717411303424 is not a whole"),
    ({"package": {"software": "a\x00b"}}, "datapackage.json 'software' holds a control character"),
]


@pytest.mark.parametrize(("hostile", "expected"), WACZ_CASES, ids=[str(i) for i in range(len(WACZ_CASES))])
def test_each_hostile_wacz_value_is_refused_naming_the_file(tmp_path: Path, hostile: dict[str, Any],
                                                           expected: str) -> None:
    warc = b"".join(gzip.compress(r) for r in good_records())
    ws = tmp_path / "ws"
    code, out, err = run("-w", str(ws), "import", str(wacz_file(tmp_path / "h.wacz", warc, **hostile)))
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("archiver: h.wacz: ") and expected in err, err
    assert snapshot(ws) == {}
    assert not (tmp_path / "x").exists() and not Path("/etc/x").exists()


# -- a sealed manifest with odd values: no command stops ------------------------------------------

def odd_resources(good: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources whose values are out of range or of the wrong type, each beside a good copy."""
    page = {k: v for k, v in good.items() if k not in ("metadata", "text")}
    changes: list[dict[str, Any]] = [
        {"status": 99999999999999999999}, {"status": -1}, {"offset": -5}, {"length": 2**70},
        {"url": "ftp://odd.example/"}, {"url": "http:///nohost"}, {"url": "http://odd.example/\n"},
        {"date": "0001-01-01T00:00:00Z"}, {"date": "not a date"}, {"warc": "/etc/passwd"},
        {"warc": "archive/../../outside.warc.gz"}, {"revisit_of": "garbage"}, {"revisit_of": {"capture_id": 5}},
        {"metadata": "a string"}, {"metadata": {"title": "not a mapping", "authors": {"value": 5}}},
        {"metadata": {"title": {"value": ["a", "list"]}, "authors": {"value": "not a list"}}},
        {"text": {"warc": "../../etc/passwd", "offset": 0, "length": 10}},
        {"text": {"warc": good["warc"], "offset": 0, "length": 2**40}}, {"text": "a string"},
        {"content_type": 12345}, {"location": "http://odd.example/" + "x" * 100_000}, {"warc_payload_digest": 5},
        {"warc_payload_digest": "no digest\r\nat all"}, {"role": "r" * 100}, {"record_id": "<" + "x" * 1000 + ">"},
    ]
    return [{**page, **change} for change in changes]


def seal_odd(ws: Workspace, good: dict[str, Any], capture_id: str) -> dict[str, Any]:
    ok = {**good, "url": "http://odd.example/ok"}
    odd = odd_resources(good)
    manifest = {**good_manifest(ws), "capture_id": capture_id, "sequence": None, "previous": None,
                "resources": [ok, *odd],
                "failures": [{"url": 5}, "a string", {"url": "http://odd.example/gone", "kind": "dns",
                                                      "reason": {"a": 1}, "role": "source"}]}
    seal_document(ws, manifest)
    return manifest


def good_manifest(ws: Workspace) -> dict[str, Any]:
    first = sorted(ws.manifests_dir.glob("*.yaml"))[0]
    return yaml.safe_load(first.read_text())


def hand_edit(ws: Workspace, capture_id: str, new_id: str, edit: Any) -> None:
    """A manifest written by hand next to the sealed ones (no checksum list: verify says so)."""
    text = ws.manifest_path(capture_id).read_text()
    ws.manifest_path(new_id).write_text(edit(text))


def test_a_sealed_capture_with_odd_values_never_stops_a_command(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    code, _, err = run("-w", str(ws.root), "import", str(warc_file(tmp_path / "good.warc.gz", good_records())))
    assert code == 0, err
    good = next(r for r in good_manifest(ws)["resources"] if r["url"] == PAGE)
    good_id = good_manifest(ws)["capture_id"]
    odd_id = "20250101T000000Z-0dd000"
    seal_odd(ws, good, odd_id)
    hand_edit(ws, odd_id, "20250101T000001Z-0dd001", lambda t: t.replace("http://odd.example/ok",
                                                                         '"http://odd.example/\\ud800"'))
    hand_edit(ws, good_id, "20250101T000002Z-0dd002", lambda t: t)                # its capture_id is not its name
    hand_edit(ws, odd_id, "20250101T000003Z-0dd003", lambda t: t.replace("status: 200", "status: '200'", 1))
    hand_edit(ws, good_id, "20250101T000004Z-0dd004",
              lambda t: t.replace(good_id, "20250101T000004Z-0dd004", 1).replace("sequence: 1", f"sequence: {2**70}")
              .replace("started: ", "started: '99999-01-01' #", 1))
    with sample_site() as site:
        article = site.url("news", ARTICLE_PATH)
        runs = {"capture": cli(ws.root, "capture", article, "--depth", "0", "--timeout", "10")}
    for args in (["lookup", PAGE], ["lookup", "http://odd.example/ok", "--json"], ["lookup", article],
                 ["search", "dredging"], ["reindex"], ["report"], ["report", "--json"],
                 ["export", "cdxj", "-o", str(tmp_path / "all.cdxj")], ["cite", PAGE, "--style", "apa"],
                 ["cite", odd_id, "--style", "bibtex"], ["cite", "http://odd.example/ok", "--style", "csl-json"],
                 ["cite", "20250101T000003Z-0dd003", "--style", "apa"]):
        runs[" ".join(args)] = cli(ws.root, *args)
    for name, done in runs.items():
        assert done.returncode in (0, 1), (name, done.returncode, done.stderr)
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr, (name, done.stderr)
        errors = [line for line in done.stderr.splitlines() if not line.startswith("warning: left out of the index")
                  and " --set " not in line]      # cite: what a page's markup lacks, and how to set it
        assert len(errors) <= 1, (name, done.stderr)
    for name in ("lookup " + PAGE, "lookup " + article, "search dredging",
                 "reindex", "report", "cite " + PAGE + " --style apa"):
        assert runs[name].returncode == 0, (name, runs[name].stderr)
    assert runs["capture"].returncode == 0, runs["capture"].stderr
    found = json.loads(runs["lookup http://odd.example/ok --json"].stdout)["mementos"]
    assert [m["capture_id"] for m in found] in ([odd_id], [])
    cdxj = (tmp_path / "all.cdxj").read_text().splitlines()
    assert cdxj and all(json.loads(line.split(" ", 2)[2])["status"] in ("200", "302") for line in cdxj)

    with Index.open(ws) as index:
        left = index.left_out()
    for name in ("reindex", "report", "report --json"):       # what the index left out is said, once each
        warned = [line for line in runs[name].stderr.splitlines() if line.startswith("warning: left out")]
        assert len(warned) == len(left) and all(cid in line for line, (cid, _, _) in zip(warned, left)), name
    whole = {cid: reason for cid, item, reason in left if item == "capture"}
    if odd_id not in whole:           # read_manifest took it: each odd value is left out on its own
        odd_items = [(item, reason) for cid, item, reason in left if cid == odd_id]
        assert len({i.split(" ")[0] for i, _ in odd_items if i.startswith("resources[")}) == len(odd_resources(good))
        assert ("failures[0]", "url is not text: 5") in odd_items and ("failures[1]", "not a mapping") in odd_items
    assert "is not its file name" in whole["20250101T000002Z-0dd002"]
    assert "cannot be read" in whole["20250101T000003Z-0dd003"]
    assert "invalid Unicode character escape" in whole["20250101T000001Z-0dd001"]       # libyaml refuses it
    assert any(cid == "20250101T000004Z-0dd004" and item == "started" for cid, item, _ in left)


def test_verify_ends_with_a_report_on_a_sealed_capture_with_odd_values(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    code, _, err = run("-w", str(ws.root), "import", str(warc_file(tmp_path / "good.warc.gz", good_records())))
    assert code == 0, err
    seal_odd(ws, next(r for r in good_manifest(ws)["resources"] if r["url"] == PAGE), "20250101T000000Z-0dd000")
    done = cli(ws.root, "verify", "--workers", "1")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert "NOT intact" in done.stdout
