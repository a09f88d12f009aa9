"""What a citation is made of, in one shape for every format, and the one mapping of the archived
copy that every format follows (docs/citations.md):

- the live URL is the URL cited (CSL ``URL``, BibLaTeX ``url``, RIS ``UR``);
- the capture time is the access date (CSL ``accessed``, BibLaTeX ``urldate``, RIS ``Y2``);
- the archived copy's URL is the location in the archive (CSL ``archive_location``, BibLaTeX
  ``addendum``, RIS ``AN``), the archive's name names the capture (CSL ``archive``, RIS ``DB``):
  ``archiver capture <id>``;
- a note carries the capture id and the payload sha256, so the copy can be found and checked
  without any server (CSL ``note``, BibLaTeX ``addendum``, RIS ``N1``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

_ORG_WORDS = re.compile(r"\b(inc|ltd|llc|council|university|agency|news|press|staff|team|office|ministry|"
                        r"department|association|society|foundation|committee|group|the|authority|board|"
                        r"institute|trust|service|services|museum|library|bureau|commission|corporation|company|"
                        r"government|police|hospital|school|college|centre|center|network|media|gazette|"
                        r"courier|times|journal|laboratory|partnership|union|federation|organi[sz]ation)\b",
                        re.IGNORECASE)
# words that belong to the family name before it (van der Berg, ap Rhys, de la Cruz): kept with it
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "ap", "ab", "bin",
              "ibn", "ter", "ten", "dos", "das", "do", "af", "zu", "zur", "op", "'t"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True, slots=True)
class Name:
    family: str | None = None
    given: str | None = None
    literal: str | None = None

    @classmethod
    def parse(cls, text: str) -> Name:
        """'Morwenna Treloar' -> family Treloar, given Morwenna; an organisation stays literal."""
        text = " ".join(text.split())
        if "," in text and text.count(",") == 1:
            family, given = (p.strip() for p in text.split(","))
            return cls(family=family, given=given)
        parts = text.split(" ")
        if len(parts) < 2 or len(parts) > 5 or _ORG_WORDS.search(text) or any(c.isdigit() for c in text):
            return cls(literal=text)
        if _CJK.search(text):                         # 山田 花子: family name first
            return cls(family=parts[0], given=" ".join(parts[1:]))
        start = len(parts) - 1                        # the family name, with the particles before it
        while start > 1 and parts[start - 1].lower() in _PARTICLES and parts[start - 1].islower():
            start -= 1
        return cls(family=" ".join(parts[start:]), given=" ".join(parts[:start]))


@dataclass(frozen=True, slots=True)
class CitationData:
    """A source as archived: what the page says about itself, and where its archived copy is."""

    url: str                          # the live URL
    title: str | None
    archived_url: str                 # from the replay_url template
    archived_at: datetime             # the capture time of the response (UTC)
    capture_id: str
    payload_sha256: str
    authors: tuple[Name, ...] = ()
    issued: tuple[int, ...] = ()      # date parts: year[, month[, day]]
    site: str | None = None
    publisher: str | None = None
    language: str | None = None
    description: str | None = None
    doi: str | None = None
    kind: str = "webpage"             # a CSL type: formats/kinds.py KINDS (article-newspaper, post-weblog, report, ...)
    sources: dict[str, str] = field(default_factory=dict)   # field -> vocabulary it came from

    @property
    def archive_name(self) -> str:
        """The archive as human styles print it: the capture and a short form of the payload sha256
        (its first 12 hex digits; the full digest is in the note and the machine formats)."""
        return f"archiver capture {self.capture_id}, sha256 {self.payload_sha256[:12]}"

    @property
    def archived_location(self) -> str:
        """Where in the archive, with the date: CSL ``archive_location``, which Chicago starts a
        sentence with (so it must not start with the URL, whose case a capital would break)."""
        return f"archived {self.archived_at:%Y-%m-%d} at {self.archived_url}"

    @property
    def shown_title(self) -> str:
        """The title, or for a source without one a description in square brackets (APA 7, MLA 9 and
        Chicago describe an untitled work so): its file name, else its host."""
        if self.title:
            return self.title
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(self.url)
        name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) or parts.hostname or self.url
        return f"[{' '.join(name.split())[:200]}]"

    @property
    def note(self) -> str:
        return (f"Archived copy: {self.archived_url} (archiver capture {self.capture_id}, "
                f"{self.archived_at:%Y-%m-%d %H:%M:%S} UTC; payload sha256 {self.payload_sha256})")

    @property
    def key(self) -> str:
        """A stable citation key: family name (or site), year, first title word."""
        who = self.authors[0].family or self.authors[0].literal if self.authors else self.site or "source"
        year = str(self.issued[0]) if self.issued else f"{self.archived_at:%Y}"
        word = next((w for w in re.findall(r"[^\W\d_]+", self.title or "") if len(w) > 3), "")
        return _ascii(f"{who}{year}{word}").lower() or "source"


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


def unique_keys(items: list[CitationData]) -> list[str]:
    """Citation keys, made unique within one bibliography by a, b, c... suffixes."""
    seen: dict[str, int] = {}
    keys = []
    for item in items:
        base = item.key
        n = seen.get(base, 0)
        seen[base] = n + 1
        keys.append(base if n == 0 else f"{base}{chr(ord('a') + n - 1)}")
    return keys


def in_reference_order(items: list[CitationData]) -> list[CitationData]:
    """Sources in the order a reference list puts them when no CSL style sorts them (BibLaTeX, RIS,
    CSL-JSON, Markdown, Robust Links): by first author (or title where there is none), then date,
    then title, case and accents aside; capture order only breaks ties."""
    def key(item: CitationData) -> tuple[str, tuple[int, ...], str]:
        first = item.authors[0] if item.authors else None
        who = (first.family or first.literal or "") if first else item.shown_title
        return (_fold(who), item.issued, _fold(item.shown_title))
    return sorted(items, key=key)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip("[]\"“‘'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
