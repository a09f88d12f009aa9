"""Does a manifest entry say what its WARC record says? Pure: entries and scanned records in,
one-line problems out. Full ``verify`` asks this of every resource of every capture it checks.

A resource entry must agree with the record at its offset on: record id, member length, type
(``response``, or ``revisit`` when the entry names the original that holds the payload), target
URL, WARC-Date (the same instant), HTTP status, the payload's sha256 (chunked framing removed) and
the WARC-Payload-Digest header; a revisit's WARC-Refers-To, when written, names the original the
entry names. Its main-text record (``text``) must be a ``conversion`` record with that id and length
that refers to the resource's record and whose block hashes to the entry's ``sha256``. Its request
record must be in the capture's files. The entry's file must be one of the capture's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from ..core.models import ArchivedResource, Manifest, TextRecord
from ..core.moments import parse_moment
from ..warc.reader import ScannedRecord

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def resource_problems(res: ArchivedResource, rec: ScannedRecord) -> Iterator[str]:
    """What ``res`` (a manifest resource) gets wrong about ``rec``, the record at its offset."""
    if rec.record_id != res.record_id or rec.length != res.length:
        yield (f"the record at offset {res.offset} is {rec.record_id} of {rec.length} bytes, "
               f"the manifest says {res.record_id} of {res.length}")
        return
    original = res.revisit_of
    if rec.type == "revisit":
        if original is None and res.payload_sha256 != EMPTY_SHA256:
            yield "the record is a revisit, but the manifest gives it a payload of its own and no original"
        elif original is not None and rec.refers_to and rec.refers_to != original.record_id:
            yield f"the revisit refers to {rec.refers_to}, the manifest says its original is {original.record_id}"
    elif rec.type != "response":
        yield f"the record is a {rec.type} record, the manifest lists it as a response"
    elif original is not None:
        yield "the record is a response, the manifest says it is a revisit"
    if (rec.target_uri or "").strip("<>") != res.url:
        yield f"the record's WARC-Target-URI is {rec.target_uri!r}, the manifest says {res.url!r}"
    if not _same_moment(rec.date, res.date):
        yield f"the record's WARC-Date is {rec.date!r}, the manifest says {res.date!r}"
    # a server-not-modified revisit (after a 304) has an empty block: the status is its original's
    not_modified = rec.type == "revisit" and rec.status is None and original is not None
    if rec.status != res.status and not not_modified:
        yield f"the record's HTTP status is {rec.status}, the manifest says {res.status}"
    if rec.entity_sha256 is not None and rec.entity_sha256 != res.payload_sha256:
        yield (f"manifest edited or record altered: the manifest's payload_sha256 is {res.payload_sha256}, "
               f"the archived payload hashes to {rec.entity_sha256}")
    declared = res.warc_payload_digest
    if declared is not None and declared != rec.payload_digest:
        yield f"the record's WARC-Payload-Digest is {rec.payload_digest!r}, the manifest says {declared!r}"


def text_problems(res: ArchivedResource, text: TextRecord, rec: ScannedRecord | None) -> Iterator[str]:
    """What ``text``, the entry's main-text conversion record, gets wrong about ``rec``."""
    if rec is None:
        yield f"no main-text record at offset {text.offset}"
        return
    if rec.record_id != text.record_id or rec.length != text.length:
        yield (f"the main-text record at offset {text.offset} is {rec.record_id} of {rec.length} bytes, "
               f"the manifest says {text.record_id} of {text.length}")
    elif rec.type != "conversion" or rec.refers_to != res.record_id:
        yield f"the main-text record is a {rec.type} record referring to {rec.refers_to}, not a conversion of this resource"
    elif rec.block_sha256 != text.sha256:
        yield f"the main text hashes to {rec.block_sha256}, the manifest says {text.sha256}"


def _same_moment(written: str | None, recorded: str) -> bool:
    if written == recorded:
        return True
    if written is None:
        return False
    try:
        return parse_moment(written) == parse_moment(recorded)
    except Exception:   # noqa: BLE001 - an unparseable date is a disagreement, whatever the parser raises
        return False


def member_named(manifest: Manifest, path: str, offset: int | None) -> tuple[str | None, str | None]:
    """(record id, URL) of the record whose gzip member starts at ``offset``, by the manifest: a
    response (or revisit), its page's main-text conversion record, or the request record written
    just before a response. (None, None) when the manifest does not place one there."""
    if not offset:
        return None, None                   # none, or offset 0: the file's warcinfo record
    ends: list[int] = []                    # where the known members of this file end
    in_file = [r for r in manifest.resources if r.warc == path]
    for res in in_file:
        if res.offset == offset:
            return res.record_id, res.url
        if res.text is not None and res.text.offset == offset:
            return res.text.record_id, res.url
        ends.append(res.offset + res.length)
        if res.text is not None:
            ends.append(res.text.offset + res.text.length)
    after = [r for r in in_file if r.offset > offset]
    if after:
        following = min(after, key=lambda r: r.offset)
        # members are contiguous: a request starts where the member before it ended (or after the warcinfo)
        before = [end for end in ends if end <= offset]
        if before and max(before) == offset or not before:
            return following.request_record_id, following.url
    return None, None
