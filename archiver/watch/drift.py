"""Rot and drift: how a watched URL changed from one capture to the next. Pure: data in, verdicts out.

Each capture of a URL is an `Observation`; `judge` compares two consecutive ones and returns a
`Change` with a `Verdict`. The rules, in the order they are tried:

* An observation is *gone* when there was no response (``status is None``: DNS failure, refused,
  timeout) or the status is 400 or above. 404 and 410 are definite; 5xx and no response may be
  transient, and the detail says so ("HTTP 503 (may be transient)"). Other 4xx (401, 403, 429, 451)
  count as gone too: the reader cannot get the page.
* First sight (``before is None``): NEW, unless the URL is gone already; then GONE, so rot seen on
  the first capture sorts to the top of the report ("HTTP 404 on first sight").
* Gone now: UNCHANGED ("still gone") if it was gone before, else GONE.
* A redirect (3xx) now: UNCHANGED if it was a redirect to the same Location before, else MOVED,
  naming the target (also when it was gone before: a redirect is news, not a recovery).
* Gone before, a page (anything below 300) now: RECOVERED.
* A redirect before, a page now: CHANGED ("no longer redirects").
* Pages both times: UNCHANGED when the payload digests are equal, or when the extracted main texts
  are equal once whitespace is collapsed (the text is already free of boilerplate, so rotating ads
  and timestamps outside it do not count). Otherwise CHANGED, with a unified diff (no context, at
  most `MAX_DIFF_LINES` lines) of the text split into lines, long paragraphs broken after each
  sentence. With no text on either side (a PDF, an image) only the payload digests are compared.

Datetimes are ISO 8601 strings in one form (as the index stores them), so they sort as text, and
``since`` may be any prefix of that form, such as ``"2026-11-29"``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["MAX_DIFF_LINES", "SEVERITY", "Change", "Observation", "Verdict", "changes_over_time", "describe",
           "is_gone", "is_redirect", "judge", "report", "text_lines"]

MAX_DIFF_LINES = 20
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


class Verdict(StrEnum):
    """What happened to a URL between two captures, most severe first in `SEVERITY`."""

    NEW = "new"
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    GONE = "gone"
    MOVED = "moved"
    RECOVERED = "recovered"


SEVERITY = {verdict: rank for rank, verdict in enumerate(
    (Verdict.GONE, Verdict.MOVED, Verdict.CHANGED, Verdict.RECOVERED, Verdict.NEW, Verdict.UNCHANGED))}


@dataclass(frozen=True, slots=True)
class Observation:
    """One capture of one URL. ``status`` is None when nothing answered; ``failure`` then says why."""

    url: str
    datetime: str
    capture_id: str
    status: int | None
    failure: str | None = None
    location: str | None = None
    text: str | None = None
    payload_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """The verdict on ``after`` against the capture before it; ``diff`` is filled only for CHANGED text."""

    url: str
    verdict: Verdict
    before: Observation | None
    after: Observation
    diff: tuple[str, ...]
    detail: str


def is_gone(observation: Observation) -> bool:
    return observation.status is None or observation.status >= 400


def is_redirect(observation: Observation) -> bool:
    return observation.status is not None and 300 <= observation.status < 400


def describe(observation: Observation) -> str:
    """One short phrase for a status: "HTTP 404", "no response: connection refused (may be transient)"."""
    if observation.status is None:
        return f"no response: {observation.failure or 'unknown failure'} (may be transient)"
    if observation.status >= 500:
        return f"HTTP {observation.status} (may be transient)"
    if is_redirect(observation):
        return f"redirects to {observation.location or '(no Location)'}"
    return f"HTTP {observation.status}"


def judge(before: Observation | None, after: Observation) -> Change:
    """The verdict on ``after`` given the capture of the same URL just before it (None at first sight)."""
    if before is None:
        if is_gone(after):
            return _change(Verdict.GONE, None, after, f"{describe(after)} on first sight")
        return _change(Verdict.NEW, None, after, f"first capture: {describe(after)}")
    if is_gone(after):
        if is_gone(before):
            return _change(Verdict.UNCHANGED, before, after, _still_gone(before, after))
        return _change(Verdict.GONE, before, after, describe(after))
    if is_redirect(after):
        return _judge_redirect(before, after)
    if is_gone(before):
        return _change(Verdict.RECOVERED, before, after, f"{describe(after)} again (was {describe(before)})")
    if is_redirect(before):
        return _change(Verdict.CHANGED, before, after, f"no longer redirects (was to {before.location})")
    return _judge_content(before, after)


def report(history: dict[str, list[Observation]]) -> list[Change]:
    """The latest change of every URL, most severe first, then by URL."""
    latest = []
    for observations in history.values():
        ordered = _chronological(observations)
        if ordered:
            latest.append(judge(ordered[-2] if len(ordered) > 1 else None, ordered[-1]))
    return sorted(latest, key=lambda change: (SEVERITY[change.verdict], change.url))


def changes_over_time(history: dict[str, list[Observation]], since: str | None = None) -> list[Change]:
    """Every consecutive pair (the first capture against None) whose later capture is at or after
    ``since``, in order of time, then URL."""
    changes = [change for observations in history.values() for change in _pairs(_chronological(observations))]
    kept = [change for change in changes if since is None or change.after.datetime >= since]
    return sorted(kept, key=lambda change: (change.after.datetime, change.url, change.after.capture_id))


def _pairs(ordered: list[Observation]) -> Iterable[Change]:
    return (judge(ordered[i - 1] if i else None, after) for i, after in enumerate(ordered))


def _chronological(observations: list[Observation]) -> list[Observation]:
    return sorted(observations, key=lambda observation: (observation.datetime, observation.capture_id))


def _change(verdict: Verdict, before: Observation | None, after: Observation, detail: str,
            diff: tuple[str, ...] = ()) -> Change:
    return Change(url=after.url, verdict=verdict, before=before, after=after, diff=diff, detail=detail)


def _still_gone(before: Observation, after: Observation) -> str:
    now, then = describe(after), describe(before)
    return f"still gone: {now}" if now == then else f"still gone: {now}, was {then}"


def _judge_redirect(before: Observation, after: Observation) -> Change:
    if is_redirect(before) and _same_location(before.location, after.location):
        return _change(Verdict.UNCHANGED, before, after, f"still {describe(after)}")
    if is_redirect(before):
        return _change(Verdict.MOVED, before, after, f"now {describe(after)} (was to {before.location})")
    if is_gone(before):
        return _change(Verdict.MOVED, before, after, f"now {describe(after)} (was {describe(before)})")
    return _change(Verdict.MOVED, before, after, f"now {describe(after)}")


def _same_location(first: str | None, second: str | None) -> bool:
    return (first or "").strip() == (second or "").strip()


def _judge_content(before: Observation, after: Observation) -> Change:
    if before.payload_sha256 and before.payload_sha256 == after.payload_sha256:
        return _change(Verdict.UNCHANGED, before, after, "same payload")
    if before.text is None and after.text is None:
        if before.payload_sha256 is None or after.payload_sha256 is None:
            return _change(Verdict.UNCHANGED, before, after, "no text or payload digest to compare")
        return _change(Verdict.CHANGED, before, after,
                       f"payload changed: sha256 {before.payload_sha256[:12]} -> {after.payload_sha256[:12]}")
    if _flat(before.text) == _flat(after.text):
        return _change(Verdict.UNCHANGED, before, after, "same main text")
    old, new = text_lines(before.text or ""), text_lines(after.text or "")
    full = list(difflib.unified_diff(old, new, fromfile=before.datetime, tofile=after.datetime, n=0, lineterm=""))
    return _change(Verdict.CHANGED, before, after, _count_changes(full), _trim(full))


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def text_lines(text: str) -> list[str]:
    """The main text as comparable lines: whitespace collapsed, blank lines dropped, paragraphs broken
    after each sentence so a one-word edit shows one short line, not a whole paragraph."""
    flowing = [" ".join(line.split()) for line in text.splitlines()]
    return [sentence for line in flowing if line for sentence in _SENTENCE_END.split(line)]


def _count_changes(diff: list[str]) -> str:
    removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    if removed and added:
        return f"text changed: {_lines(removed)} removed, {added} added"
    return f"text changed: {_lines(removed)} removed" if removed else f"text changed: {_lines(added)} added"


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


def _trim(diff: list[str]) -> tuple[str, ...]:
    if len(diff) <= MAX_DIFF_LINES:
        return tuple(diff)
    kept = diff[: MAX_DIFF_LINES - 1]
    return (*kept, f"... {len(diff) - len(kept)} more diff lines")
