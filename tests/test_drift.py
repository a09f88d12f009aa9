"""Rot and drift verdicts between consecutive captures of a URL."""

from __future__ import annotations

import ast
from pathlib import Path

import archiver.watch.drift as drift_module
from archiver.watch.drift import MAX_DIFF_LINES, Change, Observation, Verdict, changes_over_time, judge, report

URL = "https://news.example.org/2026/11/river-flood"
ARTICLE = """River flood closes the old bridge

Heavy rain on Sunday raised the river by two metres. The council closed the old bridge at noon.

Residents on Mill Lane were asked to move their cars to higher ground.
Engineers will inspect the bridge on Tuesday."""


def seen(day: int, status: int | None = 200, *, text: str | None = ARTICLE, url: str = URL,
         location: str | None = None, failure: str | None = None, sha: str | None = None) -> Observation:
    return Observation(url=url, datetime=f"2026-11-{day:02d}T09:00:00.000000Z", capture_id=f"c{day:02d}",
                       status=status, failure=failure, location=location, text=text,
                       payload_sha256=sha if sha is not None else f"sha-{day}")


def test_first_capture_is_new() -> None:
    change = judge(None, seen(1))
    assert change == Change(url=URL, verdict=Verdict.NEW, before=None, after=seen(1), diff=(),
                            detail="first capture: HTTP 200")


def test_gone_on_first_sight_is_gone() -> None:
    change = judge(None, seen(1, 404, text=None))
    assert change.verdict is Verdict.GONE
    assert change.detail == "HTTP 404 on first sight"


def test_same_text_is_unchanged_even_when_the_payload_differs() -> None:
    change = judge(seen(1), seen(2))   # digests differ (a rotating ad), main text is the same
    assert change.verdict is Verdict.UNCHANGED
    assert change.diff == ()


def test_whitespace_only_change_is_unchanged() -> None:
    rewrapped = ARTICLE.replace("The council", "The\n   council").replace("\n\n", "\n\n\n  ") + "\n\n"
    change = judge(seen(1), seen(2, text=rewrapped))
    assert change.verdict is Verdict.UNCHANGED
    assert change.detail == "same main text"


def test_edited_sentence_is_changed_with_a_diff() -> None:
    edited = ARTICLE.replace("inspect the bridge on Tuesday", "inspect the bridge on Wednesday")
    change = judge(seen(1), seen(2, text=edited))
    assert change.verdict is Verdict.CHANGED
    assert change.detail == "text changed: 1 line removed, 1 added"
    assert "-Engineers will inspect the bridge on Tuesday." in change.diff
    assert "+Engineers will inspect the bridge on Wednesday." in change.diff
    assert not any("Heavy rain" in line for line in change.diff)   # no context lines


def test_sentence_edited_inside_a_paragraph_shows_only_that_sentence() -> None:
    edited = ARTICLE.replace("at noon", "at 11 a.m")
    change = judge(seen(1), seen(2, text=edited))
    assert "-The council closed the old bridge at noon." in change.diff
    assert "+The council closed the old bridge at 11 a.m." in change.diff
    assert not any("Heavy rain" in line for line in change.diff)


def test_added_paragraph_is_counted() -> None:
    change = judge(seen(1), seen(2, text=ARTICLE + "\n\nUpdate: the bridge reopened at 6 p.m."))
    assert change.verdict is Verdict.CHANGED
    assert change.detail == "text changed: 1 line added"


def test_long_diff_is_trimmed() -> None:
    before = "\n".join(f"Paragraph {i} as first published." for i in range(40))
    after = "\n".join(f"Paragraph {i} as later corrected." for i in range(40))
    change = judge(seen(1, text=before), seen(2, text=after))
    assert change.detail == "text changed: 40 lines removed, 40 added"
    assert len(change.diff) == MAX_DIFF_LINES
    assert change.diff[-1].startswith("... ") and change.diff[-1].endswith("more diff lines")


def test_without_text_the_payload_digest_decides() -> None:
    pdf_1, pdf_2 = seen(1, text=None, sha="aaa111"), seen(2, text=None, sha="aaa111")
    assert judge(pdf_1, pdf_2).verdict is Verdict.UNCHANGED
    changed = judge(pdf_1, seen(3, text=None, sha="bbb222"))
    assert changed.verdict is Verdict.CHANGED
    assert changed.detail == "payload changed: sha256 aaa111 -> bbb222"
    assert changed.diff == ()


def test_page_that_disappears_is_gone() -> None:
    assert judge(seen(1), seen(2, 404, text=None)).detail == "HTTP 404"
    assert judge(seen(1), seen(2, 410, text=None)).verdict is Verdict.GONE


def test_server_errors_and_no_response_are_gone_but_maybe_transient() -> None:
    error = judge(seen(1), seen(2, 503, text=None))
    assert (error.verdict, error.detail) == (Verdict.GONE, "HTTP 503 (may be transient)")
    refused = judge(seen(1), seen(2, None, text=None, failure="connection refused"))
    assert refused.verdict is Verdict.GONE
    assert refused.detail == "no response: connection refused (may be transient)"


def test_gone_then_gone_is_unchanged_still_gone() -> None:
    change = judge(seen(1, 404, text=None), seen(2, 404, text=None))
    assert (change.verdict, change.detail) == (Verdict.UNCHANGED, "still gone: HTTP 404")
    dns = judge(seen(1, 404, text=None), seen(2, None, text=None, failure="DNS failure"))
    assert dns.verdict is Verdict.UNCHANGED
    assert dns.detail == "still gone: no response: DNS failure (may be transient), was HTTP 404"


def test_gone_then_ok_is_recovered() -> None:
    change = judge(seen(1, 503, text=None), seen(2))
    assert change.verdict is Verdict.RECOVERED
    assert change.detail == "HTTP 200 again (was HTTP 503 (may be transient))"


def test_redirect_to_a_new_target_is_moved() -> None:
    target = "https://news.example.org/archive/river-flood"
    change = judge(seen(1), seen(2, 301, text=None, location=target))
    assert change.verdict is Verdict.MOVED
    assert change.detail == f"now redirects to {target}"
    elsewhere = judge(seen(2, 301, text=None, location=target),
                      seen(3, 301, text=None, location="https://parked.example.com/"))
    assert elsewhere.verdict is Verdict.MOVED
    assert elsewhere.detail == f"now redirects to https://parked.example.com/ (was to {target})"


def test_same_redirect_is_unchanged() -> None:
    target = "https://news.example.org/archive/river-flood"
    change = judge(seen(1, 301, text=None, location=target), seen(2, 302, text=None, location=target))
    assert (change.verdict, change.detail) == (Verdict.UNCHANGED, f"still redirects to {target}")


def test_gone_then_redirect_is_moved_and_redirect_then_page_is_changed() -> None:
    target = "https://news.example.org/new-home"
    assert judge(seen(1, 404, text=None), seen(2, 301, text=None, location=target)).verdict is Verdict.MOVED
    back = judge(seen(1, 301, text=None, location=target), seen(2))
    assert (back.verdict, back.detail) == (Verdict.CHANGED, f"no longer redirects (was to {target})")


def history() -> dict[str, list[Observation]]:
    def at(url: str) -> str:
        return f"https://{url}.example.org/"
    return {
        at("steady"): [seen(3, url=at("steady")), seen(1, url=at("steady"))],   # out of order on purpose
        at("edited"): [seen(1, url=at("edited")), seen(3, url=at("edited"), text="Rewritten.")],
        at("dead"): [seen(1, url=at("dead")), seen(3, 404, url=at("dead"), text=None)],
        at("alsodead"): [seen(1, url=at("alsodead")), seen(2, None, url=at("alsodead"), text=None,
                                                           failure="timeout")],
        at("fresh"): [seen(3, url=at("fresh"))],
        at("moved"): [seen(1, url=at("moved")), seen(3, 301, url=at("moved"), text=None, location="https://x.org/")],
        at("back"): [seen(1, 500, url=at("back"), text=None), seen(3, url=at("back"))],
        at("empty"): [],
    }


def test_report_judges_the_latest_capture_most_severe_first() -> None:
    changes = report(history())
    assert [(c.verdict, c.url) for c in changes] == [
        (Verdict.GONE, "https://alsodead.example.org/"),
        (Verdict.GONE, "https://dead.example.org/"),
        (Verdict.MOVED, "https://moved.example.org/"),
        (Verdict.CHANGED, "https://edited.example.org/"),
        (Verdict.RECOVERED, "https://back.example.org/"),
        (Verdict.NEW, "https://fresh.example.org/"),
        (Verdict.UNCHANGED, "https://steady.example.org/"),
    ]
    steady = changes[-1]
    assert steady.before is not None and steady.before.capture_id == "c01" and steady.after.capture_id == "c03"


def test_changes_over_time_lists_every_pair_since_a_moment() -> None:
    everything = changes_over_time(history())
    assert len(everything) == 13   # 7 first sights + 6 later captures
    since = changes_over_time(history(), since="2026-11-03")
    assert all(c.after.datetime >= "2026-11-03" for c in since)
    assert [(c.url, c.verdict) for c in since] == [
        ("https://back.example.org/", Verdict.RECOVERED),
        ("https://dead.example.org/", Verdict.GONE),
        ("https://edited.example.org/", Verdict.CHANGED),
        ("https://fresh.example.org/", Verdict.NEW),
        ("https://moved.example.org/", Verdict.MOVED),
        ("https://steady.example.org/", Verdict.UNCHANGED),
    ]
    assert changes_over_time(history(), since="2026-11-02T09:00:00.000000Z")[0].detail == (
        "no response: timeout (may be transient)")


def test_module_is_pure_stdlib() -> None:
    tree = ast.parse(Path(drift_module.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported <= {"__future__", "collections", "dataclasses", "difflib", "enum", "re"}
