"""The committee roster (sans-io): the pages of a committee, what a page read again says,
and why a committee is incomplete, in words."""

from __future__ import annotations

from trio_enrich._model import PoliticianPage
from trio_enrich.site.roster import CommitteeRead, committees_path

# --- committees ----------------------------------------------------------------------------


def test_a_committee_page_path_names_its_page_from_page_2_only() -> None:
    assert committees_path("HSAG", 1) == "/politicians?committee=HSAG"
    assert committees_path("HSAG", 2) == "/politicians?committee=HSAG&page=2"


def test_a_page_read_again_without_a_count_drops_its_old_count() -> None:
    read = CommitteeRead("HSAG")
    read.add(1, PoliticianPage(politicians=(), total_count=30))
    read.add(2, PoliticianPage(politicians=(), total_count=31))
    read.add(2, PoliticianPage(politicians=(), total_count=None))
    assert read.counts == {1: 30}
    assert read.total == 30


def test_why_a_committee_is_not_complete_in_words() -> None:
    read = CommitteeRead("HSAG")
    assert read.problem() == "page 1 not read"
    read.add(1, PoliticianPage(politicians=(), total_count=None))
    assert read.problem() == "no member count on its pages"


def test_a_committee_whose_only_page_has_no_count_is_read_again() -> None:
    from trio_enrich.site.roster import Roll

    roll = Roll()
    code = next(iter(roll.reads))
    roll.add(code, 1, PoliticianPage(politicians=(), total_count=None))
    assert code in roll.start_over_inconsistent()  # all its pages read, yet not complete
    assert roll.reads[code].pages == {}
