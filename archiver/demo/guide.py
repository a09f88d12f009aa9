"""What the demo says at its end: where its workspace is, what its citations' URLs will answer, the
sample site's addresses while ``--serve`` keeps it up, and the next three commands to run."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from .server import Site

TRY_PATH = "/"          # the news site's front page: not part of the demo's capture, so a capture adds it


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """Where the demo's workspace is, whether it outlives the demo, whether the sample site does."""

    workspace: Path
    kept: bool
    serving: bool

    def command(self, *words: str) -> str:
        return " ".join(["archiver", "-w", shlex.quote(str(self.workspace)), *map(shlex.quote, words)])


def citation_note(plan: DemoPlan) -> str:
    """What the URLs in the demo's citations will answer, and for how long."""
    if plan.serving:
        live = "the live URLs cited above are the sample site's, up until you press Ctrl-C"
    else:
        live = ("the live URLs cited above are the sample site's, on loopback ports that stop answering when "
                "the demo ends (archiver demo --serve keeps the site up)")
    if plan.kept:
        copies = f"the archived copies answer while `{plan.command('serve')}` runs"
    else:
        copies = ("the archived copies named there go with the temporary workspace, removed when the demo ends "
                  "(archiver demo --keep keeps it)")
    return f"note: {live}; {copies}."


def workspace_line(plan: DemoPlan) -> str:
    if plan.kept:
        return f"workspace kept: {plan.workspace}"
    return f"workspace {plan.workspace} is removed when the demo ends (archiver demo --keep keeps it)"


def site_lines(site: Site) -> list[str]:
    """The sample site's hosts that answer, one line each."""
    lines = ["the sample site stays up until Ctrl-C:"]
    width = max(len(h.name) for h in site.hosts.values())
    lines += [f"  {h.name:<{width}}  {site.origin(h.name)}/" for h in site.hosts.values() if h.listening]
    return lines


def next_commands(plan: DemoPlan, site: Site, capture_id: str) -> list[tuple[str, str]]:
    """The next three commands a user would run, each with what it does."""
    try_url = site.url("news", TRY_PATH)
    if plan.serving:
        first = (plan.command("capture", try_url), "capture a page of the sample site yourself (another terminal)")
        last = ((plan.command("serve"), "browse, replay and cite what was archived") if plan.kept else
                ("archiver demo --keep --serve", "the same, keeping the workspace afterwards"))
        return [first, (plan.command("list"), "the captures in the demo's workspace"), last]
    if plan.kept:
        return [(plan.command("list"), "the captures in the demo's workspace"),
                (plan.command("show", capture_id), "every resource, failure and flag of the demo's capture"),
                (plan.command("serve"), "browse, replay and cite what was archived")]
    return [("archiver demo --keep", "run the demo again and keep its workspace to explore"),
            ("archiver demo --serve", "keep the sample site up to capture its pages yourself"),
            ("archiver -w ~/sources capture https://example.org/", "capture a page of your own into ~/sources")]


def next_text(commands: list[tuple[str, str]]) -> str:
    width = max(len(c) for c, _ in commands)
    return "\n".join(["next:", *(f"  {c:<{width}}  # {what}" for c, what in commands)])
