"""Committee rosters: the 48 committee codes and what reading their listings has shown.

The site's only source of committee membership is the politicians listing filtered by a
committee (``/politicians?committee=<code>&page=N``): rendered cards, a ``totalCount`` and no
page count. :class:`Roll` keeps what the pages of every committee gave and says which pages are
still to read (page 1 of each; then, from page 1's card count and the ``totalCount``, the rest)
and whether every committee has been read completely: every page, one ``totalCount`` on all of
them, and that many distinct members. Memberships may be replaced only then. Sans-io.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .._model import PoliticianCard, PoliticianPage

__all__ = ["COMMITTEES", "CommitteeRead", "Roll", "chamber_of", "committees_path"]

#: Code -> label, as the site's committee filter lists them (the real capture of
#: ``/politicians?committee=ssfi`` carries the list). The one place the codes are kept.
COMMITTEES: dict[str, str] = {
    "hsag": "House - Agriculture",
    "hsap": "House - Appropriations",
    "hsas": "House - Armed Services",
    "hsbu": "House - Budget",
    "hscn": "House - Climate Crisis",
    "hsvc": "House - Coronavirus Pandemic",
    "hsed": "House - Education & Labor",
    "hsif": "House - Energy & Commerce",
    "hsso": "House - Ethics",
    "hsba": "House - Financial Services",
    "hsfa": "House - Foreign Affairs",
    "hshm": "House - Homeland Security",
    "hsha": "House - House Administration",
    "hlig": "Senate - Intelligence",
    "hsig": "House - Intelligence (Previous)",
    "hsju": "House - Judiciary",
    "hsmh": "House - Modernization of Congress",
    "hsii": "House - Natural Resources",
    "hsgo": "House - Oversight and Reform",
    "hsru": "House - Rules",
    "hssy": "House - Science, Space and Technology",
    "hssm": "House - Small business",
    "hszs": "House - Strategic Competition between US and CCP",
    "hspw": "House - Transportation & Infrastructure",
    "hsvr": "House - Veteran\u2019s Affairs",
    "hswm": "House - Ways & Means",
    "hsfd": "House - Weaponization of the Federal Government",
    "scnc": "Senate - International Narcotics Control",
    "slet": "Senate - Ethics",
    "slia": "Senate - Indian Affairs",
    "slin": "Senate - Intelligence",
    "spag": "Senate - Aging",
    "ssaf": "Senate - Agriculture, Nutrition & Forestry",
    "ssap": "Senate - Appropriations",
    "ssas": "Senate - Armed Services",
    "ssbk": "Senate - Banking, Housing & Urban Affairs",
    "ssbu": "Senate - Budget",
    "sscm": "Senate - Commerce, Science & Transportation",
    "sseg": "Senate - Energy & Natural Resources",
    "ssev": "Senate - Environment & Public Works",
    "ssfi": "Senate - Finance",
    "ssfr": "Senate - Foreign Relations",
    "ssga": "Senate - Homeland Security & Gov. Affairs",
    "sshr": "Senate - Health, Education, Labor & Pensions",
    "ssju": "Senate - Judiciary",
    "ssra": "Senate - Rules and Administration",
    "sssb": "Senate - Small Business & Entrepreneurship",
    "ssva": "Senate - Veteran\u2019s Affairs",
}


def chamber_of(code: str) -> str:
    """ "house" or "senate", by the committee's label (the code's letter misleads: hlig is the
    Senate's Intelligence committee)."""
    return "senate" if COMMITTEES[code].startswith("Senate") else "house"


def committees_path(code: str, page: int) -> str:
    return f"/politicians?committee={code}" + (f"&page={page}" if page > 1 else "")


@dataclass(slots=True)
class CommitteeRead:
    """The pages of one committee's listing read so far."""

    code: str
    pages: dict[int, tuple[PoliticianCard, ...]] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)  # page number -> its totalCount

    def add(self, page_number: int, page: PoliticianPage) -> None:
        """A page read (again: a page read twice counts as last read)."""
        self.pages[page_number] = page.politicians
        if page.total_count is None:
            self.counts.pop(page_number, None)
        else:
            self.counts[page_number] = page.total_count

    @property
    def totals(self) -> set[int]:
        return set(self.counts.values())

    @property
    def total(self) -> int | None:
        return max(self.totals) if self.counts else None

    @property
    def page_count(self) -> int | None:
        """How many pages the listing has, from page 1's cards and the count (None: unknown)."""
        first = self.pages.get(1)
        total = self.total
        if first is None or total is None:
            return None
        if total == 0:
            return 1
        if not first:
            return None  # members counted but none shown: the listing cannot be paged
        return math.ceil(total / len(first))

    def pages_to_read(self) -> list[int]:
        if 1 not in self.pages:
            return [1]
        count = self.page_count or 1
        return [page for page in range(2, count + 1) if page not in self.pages]

    def members(self) -> dict[str, PoliticianCard]:
        out: dict[str, PoliticianCard] = {}
        for number in sorted(self.pages):
            for card in self.pages[number]:
                out.setdefault(card.politician_id, card)
        return out

    def problem(self) -> str | None:
        """Why this committee is not read completely (None: it is)."""
        if 1 not in self.pages:
            return "page 1 not read"
        if not self.totals:
            return "no member count on its pages"
        if len(self.totals) > 1:
            counts = ", ".join(str(t) for t in sorted(self.totals))
            return f"its member count changed while it was read ({counts})"
        unread = self.pages_to_read()
        if unread:
            return f"{len(unread)} of {self.page_count} pages not read"
        found, total = len(self.members()), self.total
        if found != total:
            return f"{found} members on its pages, {total} counted"
        return None

    def reset(self) -> None:
        self.pages.clear()
        self.counts.clear()


@dataclass(slots=True)
class Roll:
    """What reading every committee's listing has shown."""

    reads: dict[str, CommitteeRead] = field(
        default_factory=lambda: {code: CommitteeRead(code) for code in COMMITTEES}
    )

    def pages_to_read(self) -> list[tuple[str, int]]:
        return [(code, page) for code, read in self.reads.items() for page in read.pages_to_read()]

    def add(self, code: str, page_number: int, page: PoliticianPage) -> None:
        self.reads[code].add(page_number, page)

    def problems(self) -> dict[str, str]:
        found = {code: read.problem() for code, read in self.reads.items()}
        return {code: problem for code, problem in found.items() if problem is not None}

    @property
    def complete(self) -> bool:
        return not self.problems()

    def start_over_inconsistent(self) -> list[str]:
        """Forget the committees whose pages were all read but disagree (a roster changed while
        it was read), so the next round reads them again; their codes."""
        again = [
            code
            for code, read in self.reads.items()
            if read.problem() is not None and 1 in read.pages and not read.pages_to_read()
        ]
        for code in again:
            self.reads[code].reset()
        return again

    def rosters(self) -> dict[str, tuple[PoliticianCard, ...]]:
        """Code -> its members' cards, in listing order."""
        return {code: tuple(read.members().values()) for code, read in self.reads.items()}
