"""The floor of an unchanged re-capture's WARC bytes (``revisit_bytes.py --floor``): for the exchanges
a re-capture wrote, the smallest records that still conform to WARC 1.1 and ../shared/FORMATS.md.

Read from the re-capture's WARC: each exchange's ``request`` record, the ``revisit`` record that is
``WARC-Concurrent-To`` it, and for a 304 the ``metadata`` record holding the 304's head. Each
exchange is rebuilt with the same record ids, dates, URLs, digests, request block (as sent) and
response head (as received), one gzip member a record at level 9, and keeps:

- every record: ``WARC-Type``, ``WARC-Record-ID``, ``WARC-Date`` (microseconds, FORMATS.md),
  ``Content-Length``, ``WARC-Target-URI``, and ``Content-Type`` when the block is not empty;
- the revisit: ``WARC-Profile``, ``WARC-Payload-Digest``, ``WARC-Refers-To``,
  ``WARC-Refers-To-Target-URI``, ``WARC-Refers-To-Date``, and ``WARC-Concurrent-To`` its request
  (the link is needed once, WARC 1.1 5.7 makes it bidirectional);
- an identical-payload revisit's block is the response head, so it is a truncated response and
  WARC 1.1 6.7.2 says "a WARC-Truncated header with reason 'length' shall be used";
- a 304's head is the server-not-modified revisit's block (WARC 1.1 6.7.3: "if a content body is
  present, it should be interpreted the same as a 'response' record"), so no metadata record.

Dropped, being optional: block digests, ``WARC-IP-Address``, the metadata record, the space in
``application/http; msgtype=...``. Each saving is priced in that order (``STEPS``). ``BEYOND``
prices what would break a rule (FORMATS.md's, the brief's, or the exchange as sent), one at a time.
The floor records are written to a WARC file and read back with warcio (``verify_floor``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

VERSION = b"WARC/1.1"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_304 = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
HEAD_304 = b"http-status-line: "


class FloorError(Exception):
    """A record could not be read, or a floor record is not what WARC 1.1 and warcio accept."""


@dataclass(frozen=True, slots=True)
class Rec:
    """A WARC record: its named fields in order (Content-Length, computed from the block, last)."""

    fields: tuple[tuple[str, str], ...]
    block: bytes
    written: int = 0                 # bytes of its gzip member as written (0 for a rebuilt record)

    def get(self, name: str) -> str | None:
        return next((v for n, v in self.fields if n == name), None)

    def without(self, *names: str) -> Rec:
        return replace(self, fields=tuple((n, v) for n, v in self.fields if n not in names))

    def setting(self, name: str, value: str, before: str = "") -> Rec:
        """With ``name: value`` replacing the field of that name, or added before ``before`` (or last)."""
        if self.get(name) is not None:
            return replace(self, fields=tuple((n, value if n == name else v) for n, v in self.fields))
        fields = list(self.fields)
        at = next((i for i, (n, _) in enumerate(fields) if n == before), len(fields))
        return replace(self, fields=tuple(fields[:at] + [(name, value)] + fields[at:]))

    def serialized(self) -> bytes:
        head = [VERSION, *(f"{n}: {v}".encode() for n, v in self.fields), f"Content-Length: {len(self.block)}".encode()]
        return b"\r\n".join(head) + b"\r\n\r\n" + self.block + b"\r\n\r\n"

    def gz9(self) -> int:
        return len(gzip9(self.serialized()))


def gzip9(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def parse(record: bytes, written: int) -> Rec:
    head, sep, rest = record.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not sep or lines[0] != VERSION:
        raise FloorError(f"not a WARC/1.1 record: {record[:60]!r}")
    pairs = [line.decode().split(": ", 1) for line in lines[1:]]
    fields = tuple((n, v) for n, v in pairs if n != "Content-Length")
    length = int(dict(pairs)["Content-Length"])
    rec = Rec(fields, rest[:length], written)
    if rec.serialized() != record:       # fields in any other order, or other spacing, would be lost
        raise FloorError(f"record {rec.get('WARC-Record-ID')} does not read back byte for byte")
    return rec


@dataclass(frozen=True, slots=True)
class Exchange:
    """One unchanged resource of the re-capture as written: request, revisit, and a 304's head."""

    request: Rec
    revisit: Rec
    head_304: Rec | None = None

    @property
    def kind(self) -> str:
        return "304" if self.revisit.get("WARC-Profile") == PROFILE_304 else "identical payload"

    def records(self) -> list[Rec]:
        return [self.request, self.revisit, *([self.head_304] if self.head_304 else [])]


@dataclass(slots=True)
class Recapture:
    exchanges: list[Exchange] = field(default_factory=list)
    other_written: int = 0           # warcinfo, per-origin metadata, responses of changed resources
    others: int = 0


def exchanges(members: Iterable[tuple[bytes, int]]) -> Recapture:
    """Group the re-capture's records into exchanges (``members``: record bytes, member length)."""
    recs = [parse(record, length) for record, length in members]
    requests = {r.get("WARC-Record-ID"): r for r in recs if r.get("WARC-Type") == "request"}
    heads = {r.get("WARC-Concurrent-To"): r for r in recs
             if r.get("WARC-Type") == "metadata" and r.block.startswith(HEAD_304)}
    out, used = Recapture(), set()
    for r in recs:
        request = requests.get(r.get("WARC-Concurrent-To")) if r.get("WARC-Type") == "revisit" else None
        if request is not None:
            out.exchanges.append(Exchange(request, r, heads.get(r.get("WARC-Record-ID"))))
            used.update(id(x) for x in out.exchanges[-1].records())
    for r in recs:
        if id(r) not in used:
            out.other_written, out.others = out.other_written + r.written, out.others + 1
    return out


# --------------------------------------------------------------------------- from today's records to the floor

Parts = dict[str, Rec]           # "request", "revisit", and "metadata" while a 304's head is its own record
Step = Callable[[Parts], Parts]


def _each(kinds: tuple[str, ...], change: Callable[[Rec], Rec]) -> Step:
    return lambda p: {k: change(r) if k in kinds else r for k, r in p.items()}


def _head_into_revisit(p: Parts) -> Parts:
    if "metadata" not in p:
        return p
    fields = p["metadata"].block[len(HEAD_304):]
    status, _, lines = fields.partition(b"\r\n")           # the head as received: status line, header lines
    revisit = replace(p["revisit"], block=status + b"\r\n" + lines + b"\r\n")
    return {"request": p["request"], "revisit": revisit.setting("Content-Type", "application/http; msgtype=response")}


def _truncated(p: Parts) -> Parts:
    r = p["revisit"]
    if r.get("WARC-Profile") != PROFILE_IDENTICAL or not r.block:
        return p
    return p | {"revisit": r.setting("WARC-Truncated", "length", before="Content-Type")}


def _no_space(r: Rec) -> Rec:
    value = r.get("Content-Type")
    return r.setting("Content-Type", value.replace("; ", ";")) if value else r


STEPS: list[tuple[str, Step]] = [
    ("request: WARC-Block-Digest (optional)", _each(("request",), lambda r: r.without("WARC-Block-Digest"))),
    ("revisit: WARC-Block-Digest (optional)", _each(("revisit",), lambda r: r.without("WARC-Block-Digest"))),
    ("revisit: WARC-IP-Address (optional)", _each(("revisit",), lambda r: r.without("WARC-IP-Address"))),
    ("304 head as the revisit's block (6.7.3), no metadata record", _head_into_revisit),
    ("identical: + WARC-Truncated: length (6.7.2 'shall')", _truncated),
    ("Content-Type 'application/http;msgtype=...' (no space)", _each(("request", "revisit"), _no_space)),
]


def _seconds(r: Rec) -> Rec:
    date = r.get("WARC-Date") or ""
    return r.setting("WARC-Date", date.split(".")[0] + "Z") if "." in date else r


def _bare_request(r: Rec) -> Rec:
    lines = r.block.split(b"\r\n")
    kept = [lines[0], *(x for x in lines[1:] if x.lower().startswith(b"host:") or x.lower().startswith(b"if-"))]
    return replace(r, block=b"\r\n".join(kept) + b"\r\n\r\n")


def _empty_identical(r: Rec) -> Rec:
    if r.get("WARC-Profile") != PROFILE_IDENTICAL:
        return r
    return replace(r.without("WARC-Truncated", "Content-Type"), block=b"")


BEYOND: list[tuple[str, Step]] = [
    ("revisit: WARC-Refers-To-Target-URI (FORMATS.md asks it)",
     _each(("revisit",), lambda r: r.without("WARC-Refers-To-Target-URI"))),
    ("revisit: WARC-Refers-To-Date (FORMATS.md asks it)", _each(("revisit",), lambda r: r.without("WARC-Refers-To-Date"))),
    ("304 revisit: WARC-Payload-Digest (6.7.3 does not ask it)",
     _each(("revisit",), lambda r: r.without("WARC-Payload-Digest") if r.get("WARC-Profile") == PROFILE_304 else r)),
    ("revisit: WARC-Concurrent-To (the request-response link)", _each(("revisit",), lambda r: r.without("WARC-Concurrent-To"))),
    ("WARC-Date to the second (FORMATS.md: microseconds)", _each(("request", "revisit"), _seconds)),
    ("identical: empty block, no response head (6.7.2 allows)", _each(("revisit",), _empty_identical)),
    ("request block: only the request line, Host, If-* sent", _each(("request",), _bare_request)),
]


def size(p: Parts) -> int:
    return sum(r.gz9() for r in p.values())


@dataclass(frozen=True, slots=True)
class KindFigures:
    """Per exchange of one kind: bytes as written, the floor, and the saving of each step."""

    kind: str
    count: int
    url_chars: float
    written: dict[str, float]        # request, revisit, metadata: as written
    floor: dict[str, float]          # request, revisit
    floor_range: tuple[int, int]     # smallest and largest floor exchange
    savings: dict[str, float]        # step: bytes saved (negative: added)
    beyond: dict[str, float]         # each alone, from the floor


def as_written(ex: Exchange) -> Parts:
    return {"request": ex.request, "revisit": ex.revisit} | ({"metadata": ex.head_304} if ex.head_304 else {})


def floor_parts(ex: Exchange) -> Parts:
    p = as_written(ex)
    for _, step in STEPS:
        p = step(p)
    return p


def kind_figures(kind: str, group: list[Exchange]) -> KindFigures:
    n = len(group)
    written = {k: sum(r.written for e in group for r in [getattr(e, a)] if r) / n
               for k, a in (("request", "request"), ("revisit", "revisit"), ("metadata", "head_304"))}
    savings = {"gzip level 6 -> 9": 0.0} | {name: 0.0 for name, _ in STEPS}
    beyond = {name: 0.0 for name, _ in BEYOND} | {"all of the above": 0.0}
    floor = {"request": 0.0, "revisit": 0.0}
    totals = []
    for ex in group:
        p = as_written(ex)
        before = size(p)
        savings["gzip level 6 -> 9"] += sum(r.written for r in ex.records()) - before
        for name, step in STEPS:
            p = step(p)
            after = size(p)
            savings[name] += before - after
            before = after
        floor["request"] += p["request"].gz9()
        floor["revisit"] += p["revisit"].gz9()
        totals.append(before)
        everything = p
        for name, step in BEYOND:
            beyond[name] += before - size(step(p))
            everything = step(everything)
        beyond["all of the above"] += before - size(everything)
    url = sum(len(e.request.get("WARC-Target-URI") or "") for e in group) / n
    return KindFigures(kind, n, url, written, {k: v / n for k, v in floor.items()}, (min(totals), max(totals)),
                       {k: v / n for k, v in savings.items()}, {k: v / n for k, v in beyond.items()})


def figures(recapture: Recapture) -> list[KindFigures]:
    kinds: dict[str, list[Exchange]] = {}
    for ex in recapture.exchanges:
        kinds.setdefault(ex.kind, []).append(ex)
    return [kind_figures(k, g) for k, g in sorted(kinds.items())]


# --------------------------------------------------------------------------- checking the floor records


def rule_problems(parts: Parts) -> list[str]:
    """What WARC 1.1 and FORMATS.md ask of the floor's two records that they lack."""
    req, rev = parts["request"], parts["revisit"]
    out = []
    for r in (req, rev):
        missing = [n for n in ("WARC-Type", "WARC-Record-ID", "WARC-Date", "WARC-Target-URI") if not r.get(n)]
        missing += ["Content-Type"] if r.block and not r.get("Content-Type") else []
        out += [f"{r.get('WARC-Record-ID')}: no {n}" for n in missing]
    wanted = ["WARC-Profile", "WARC-Payload-Digest", "WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date"]
    out += [f"{rev.get('WARC-Record-ID')}: no {n}" for n in wanted if not rev.get(n)]
    if rev.get("WARC-Concurrent-To") != req.get("WARC-Record-ID") and req.get("WARC-Concurrent-To") != rev.get("WARC-Record-ID"):
        out.append(f"{rev.get('WARC-Record-ID')}: not linked to its request by WARC-Concurrent-To")
    if rev.get("WARC-Profile") == PROFILE_IDENTICAL and rev.block and rev.get("WARC-Truncated") != "length":
        out.append(f"{rev.get('WARC-Record-ID')}: a head-only identical-payload revisit without WARC-Truncated: length")
    if rev.get("WARC-Profile") == PROFILE_304 and not rev.block.startswith(b"HTTP/1.1 304"):
        out.append(f"{rev.get('WARC-Record-ID')}: a server-not-modified revisit without the 304 as its block")
    return out


def _check_record(record, rec: Rec, offset: int, length: int, it_offset: int, it_length: int) -> list[str]:
    rid = rec.get("WARC-Record-ID")
    got = record.rec_headers
    out = [] if (it_offset, it_length) == (offset, length) else [f"{rid}: warcio read it at {it_offset}+{it_length}"]
    for name, value in (*rec.fields, ("Content-Length", str(len(rec.block)))):
        if got.get_header(name) != value:
            out.append(f"{rid}: warcio read {name} as {got.get_header(name)!r}")
    if rec.block and record.http_headers is None:
        out.append(f"{rid}: warcio found no HTTP head in the block")
    elif rec.get("WARC-Type") == "revisit" and rec.block:
        http = record.http_headers
        if not (http.protocol.startswith("HTTP/1.") and http.get_statuscode().isdigit()):
            out.append(f"{rid}: warcio read no HTTP status line in the block ({http.protocol} {http.statusline})")
    elif rec.get("WARC-Type") == "request":
        request_line = rec.block.split(b"\r\n", 1)[0].decode()
        if f"{record.http_headers.protocol} {record.http_headers.statusline}" != request_line:
            out.append(f"{rid}: warcio read the request line as {record.http_headers.statusline!r}")
        if not record.http_headers.get_header("Host"):
            out.append(f"{rid}: warcio read no Host in the request")
    return out


def _read_back(path: Path, recs: list[Rec], where: list[tuple[int, int]]) -> list[str]:
    problems = []
    with open(path, "rb") as fh:
        it, read = ArchiveIterator(fh, check_digests=True), 0
        for record, rec, (offset, length) in zip(it, recs, where, strict=False):
            record.content_stream().read()
            problems += _check_record(record, rec, offset, length, it.get_record_offset(), it.get_record_length())
            read += 1
        if read != len(recs):
            problems.append(f"warcio read {read} records of {len(recs)}")
        for rec, (offset, _) in zip(recs, where, strict=True):
            fh.seek(offset)
            alone = next(iter(ArchiveIterator(fh)), None)
            if alone is None or alone.rec_headers.get_header("WARC-Record-ID") != rec.get("WARC-Record-ID"):
                problems.append(f"{rec.get('WARC-Record-ID')}: not readable alone from offset {offset}")
    return problems


def verify_floor(floors: list[Parts], warcio: Path) -> str:
    """Write the floor records, one level-9 gzip member each, to a WARC file; read it back with
    ``warcio check`` and warcio's ArchiveIterator (fields, HTTP heads, offsets and lengths), and
    each record alone from its offset (random access). Raises FloorError listing every problem."""
    problems = [p for parts in floors for p in rule_problems(parts)]
    recs = [r for parts in floors for r in (parts["request"], parts["revisit"])]
    with tempfile.TemporaryDirectory(prefix="revisit-floor-") as tmp:
        path, where, at = Path(tmp) / "floor.warc.gz", [], 0
        with open(path, "wb") as fh:
            for rec in recs:
                member = gzip9(rec.serialized())
                fh.write(member)
                where.append((at, len(member)))
                at += len(member)
        check = subprocess.run([str(warcio), "check", "-v", str(path)], capture_output=True, text=True)
        if check.returncode != 0:
            problems.append(f"warcio check exit {check.returncode}: {(check.stdout + check.stderr)[-500:]}")
        try:
            problems += _read_back(path, recs, where)
        except Exception as exc:            # warcio fails on some malformed records with its own errors
            problems.append(f"warcio could not read the floor records: {type(exc).__name__}: {exc}")
    if problems:
        raise FloorError(f"{len(problems)} problems with the floor records, e.g.:\n  " + "\n  ".join(problems[:20]))
    return (f"{len(recs):,} floor records ({at:,} bytes) checked: WARC 1.1 and FORMATS.md fields present; "
            f"warcio check exit 0; warcio read every field, HTTP head, offset and length back; each record read "
            f"alone from its offset")


# --------------------------------------------------------------------------- report


def _n(value: float) -> str:
    return f"{value:>12,.0f}" if value else f"{'-':>12}"


def report(kinds: list[KindFigures], recapture: Recapture, resources: int, verified: str) -> list[str]:
    row = "  {:<58}".format
    lines = ["floor: the smallest WARC 1.1 records for the same exchanges (bytes per exchange; today = as written, "
             "gzip level 6; floor = gzip level 9, one member a record)", "  " + verified]
    lines.append(row("") + "".join(f"{k.kind + f' ({k.count:,})':>24}" for k in kinds))
    lines.append(row("URL length (characters)") + "".join(f"{k.url_chars:>24,.0f}" for k in kinds))
    lines.append(row("") + "".join(f"{'today':>12}{'floor':>12}" for _ in kinds))
    for part in ("request", "revisit", "metadata"):
        label = "metadata record (the 304's head)" if part == "metadata" else f"{part} record"
        lines.append(row(label) + "".join(f"{_n(k.written[part])}{_n(k.floor.get(part, 0))}" for k in kinds))
    lines.append(row("= WARC per exchange") + "".join(
        f"{sum(k.written.values()):>12,.0f}{sum(k.floor.values()):>12,.0f}" for k in kinds))
    lines.append(row("  floor, smallest and largest exchange") + "".join(
        f"{'':>12}{f'{k.floor_range[0]:,}-{k.floor_range[1]:,}':>12}" for k in kinds))
    lines.append("  where the saving comes from (bytes per exchange, taken in this order; negative: added):")
    for name in kinds[0].savings:
        lines.append(row("  " + name) + "".join(f"{'':>12}{k.savings[name]:>12,.1f}" for k in kinds))
    lines.append("  beyond the floor, each alone (bytes it would save; each breaks the rule named):")
    for name in kinds[0].beyond:
        lines.append(row("  " + name) + "".join(f"{'':>12}{k.beyond[name]:>12,.1f}" for k in kinds))
    today = sum(k.count * sum(k.written.values()) for k in kinds)
    floor = sum(k.count * sum(k.floor.values()) for k in kinds)
    n = max(resources, 1)
    lines += [
        f"  whole re-capture, per resource ({resources:,}): today {(today + recapture.other_written) / n:,.0f} B, "
        f"floor {(floor + recapture.other_written) / n:,.0f} B (both with {recapture.other_written / n:,.1f} B of "
        f"the file's other {recapture.others} records: warcinfo, per-origin metadata)",
        f"  left of 1,000 B per resource for manifest and index at the floor: "
        f"{1000 - (floor + recapture.other_written) / n:,.0f} B",
    ]
    return lines


def warcio_command() -> Path:
    return Path(sys.executable).parent / "warcio"
