"""`news`, watch rules, the feed and the secrets of notification URLs, piece by piece (the
whole path against the simulator is in test_alerts.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import feedparser
import pytest

from trio_enrich._errors import UsageError
from trio_enrich._help import shown_arguments
from trio_enrich.alerts.apprise_sender import destination, redact
from trio_enrich.cli.reading import run_light
from trio_enrich.read.feed import FEED_ID, atom_feed, headline, write_atomically
from trio_enrich.read.watch import parse_rules

from .helpers import copy_made_by_update, sql_rows


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy filled by one update (run 1: history), then three trades marked as first
    stored by a second run, as a later update would have."""
    db = copy_made_by_update(tmp_path_factory.mktemp("news") / "ct.db", 57, 80)
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("UPDATE trio_enrich_first_seen SET first_seen_at = "
                           "'2026-11-20T00:00:00Z'")  # fmt: skip
        connection.execute(
            "INSERT INTO trio_enrich_runs (run_id, command, pid, started_at, new_trades) "
            "VALUES (2, 'trio-enrich update', 1, '2026-12-01T00:00:00Z', 3)"
        )
        connection.execute(
            "UPDATE trio_enrich_first_seen SET run_id = 2, first_seen_at = "
            "'2026-12-01T00:00:05Z' WHERE tx_id IN (SELECT tx_id FROM trades ORDER BY "
            "pub_date DESC LIMIT 3)"
        )
    connection.close()
    return db


def _news(capsys: pytest.CaptureFixture[str], db: Path, *more: str) -> tuple[set[int], str]:
    code = run_light(["news", "--db", str(db), "--output", "json", "--limit", "0", *more])
    out = capsys.readouterr()
    assert code == 0, out.err
    return {row["tx_id"] for row in json.loads(out.out)}, out.err


def test_news_are_the_last_run_s_new_trades_and_say_which(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, said = _news(capsys, copy)
    assert found == {r[0] for r in sql_rows(copy, "SELECT tx_id FROM trio_enrich_first_seen "
                                              "WHERE run_id = 2")}  # fmt: skip
    assert len(found) == 3
    assert said == ("news: trades first stored by run 2 (update, started "
                    "2026-12-01T00:00:00Z): 3\n")  # fmt: skip


def test_the_first_fill_is_history_unless_asked_for_by_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = copy_made_by_update(tmp_path / "ct.db", 58, 30)
    found, said = _news(capsys, db)
    assert found == set()
    assert "run 1, filled an empty copy: its trades are history, not news" in said
    assert "--since-run 1 lists them" in said
    found, _ = _news(capsys, db, "--since-run", "1")
    assert len(found) == 30


def test_news_since_a_day_and_the_window_flags_refused_together(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, said = _news(capsys, copy, "--since", "2026-12-01")
    assert len(found) == 3
    assert said.startswith("news: trades first stored on or after 2026-12-01: 3")
    assert run_light(["news", "--db", str(copy), "--since", "2026-12-01", "--since-run", "2"]) == 2
    assert "give one" in capsys.readouterr().err


def test_a_copy_without_the_runs_ledger_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = copy_made_by_update(tmp_path / "ct.db", 59, 20)
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("DROP TABLE trio_enrich_runs")
    connection.close()
    found, said = _news(capsys, db)
    assert found == set()
    assert "no runs' ledger yet" in said


def test_watch_rules_any_rule_all_of_its_conditions(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (member, party), *_ = sql_rows(copy, "SELECT t.politician_id, p.party FROM trades t JOIN "
                                     "politicians p USING (politician_id) GROUP BY 1 ORDER BY "
                                     "COUNT(*) DESC")  # fmt: skip
    ticker = sql_rows(copy, "SELECT issuer_ticker FROM issuers WHERE issuer_ticker LIKE '%:%' "
                        "LIMIT 1")[0][0]  # fmt: skip
    every = ("--since-run", "1")

    def ids(query: str, *parameters: object) -> set[int]:
        return {r[0] for r in sql_rows(copy, query, *parameters)}

    found, _ = _news(capsys, copy, *every, "--watch", f"politician:{member.lower()}",
                     "--watch", f"ticker:{ticker.split(':')[0]}")  # fmt: skip
    assert found == ids(
        "SELECT tx_id FROM trades t JOIN issuers i USING (issuer_id) WHERE t.politician_id = ? "
        "OR i.issuer_ticker = ?", member, ticker,
    )  # fmt: skip
    found, _ = _news(capsys, copy, *every, "--watch", f"party:{party},min-value:15001,late")
    assert found == ids(
        "SELECT tx_id FROM trades t JOIN politicians p USING (politician_id) WHERE p.party = ? "
        "AND t.value >= 15001 AND t.reporting_gap > 45", party,
    )  # fmt: skip
    found, _ = _news(capsys, copy, *every, "--watch", "politician:Z999999")
    assert found == set()


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("senator:X", "'senator' is not one of: politician, ticker"),
        ("party:green", "party 'green' is not one of: democrat, republican, other"),
        ("committee:zzzz", "'zzzz' is not a committee code"),
        ("issuer:abc", "issuer takes a whole number, not 'abc'"),
        ("min-value:", "min-value needs a value"),
        ("late:yes", "late takes no value"),
    ],
)
def test_a_watch_rule_that_cannot_be_read_is_named_with_its_fault(rule: str, words: str) -> None:
    with pytest.raises(UsageError, match="watch rule") as raised:
        parse_rules([rule])
    assert words in str(raised.value)


def test_a_rules_file_skips_blank_lines_and_comments() -> None:
    rules = parse_rules(["# mine", "", "politician:P000197", "  ticker:NVDA , late  "])
    assert [rule.conditions for rule in rules] == [
        (("politician", "P000197"),), (("ticker", "NVDA"), ("late", ""))]  # fmt: skip


def test_the_feed_is_atom_with_each_trade_s_page_times_and_filing(tmp_path: Path) -> None:
    rows = [
        {"tx_id": 2, "pub_date": "2026-11-02T11:47:00Z", "tx_date": "2026-10-14",
         "politician": "Eve <Evans>", "party": "democrat", "tx_type": "sell", "issuer": "A&B",
         "ticker": "AB:US", "bracket": "15k-50k", "reporting_gap": 19, "late": False,
         "url": "https://www.capitoltrades.com/trades/2", "filing_url": "https://f/2.pdf",
         "first_seen_at": "2026-12-07T00:52:10Z"},
        {"tx_id": 1, "pub_date": "2026-11-01T10:00:00Z", "tx_date": "2026-08-01",
         "politician": "Al Bo", "party": "other", "tx_type": "buy", "issuer": "C",
         "ticker": None, "bracket": None, "reporting_gap": 92, "late": True,
         "url": "https://www.capitoltrades.com/trades/1", "filing_url": None,
         "first_seen_at": None},
    ]  # fmt: skip
    path = tmp_path / "feed.xml"
    write_atomically(path, atom_feed(rows, "2026-12-07T01:00:00Z"))
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.id == FEED_ID
    assert parsed.feed.updated == "2026-12-07T00:52:10Z"
    first, second = parsed.entries
    assert first.id == first.link == "https://www.capitoltrades.com/trades/2"
    assert first.title == "Eve <Evans> (D) sold A&B (AB:US), 15k-50k"
    assert (first.published, first.updated) == ("2026-11-02T11:47:00Z", "2026-12-07T00:52:10Z")
    assert [link.href for link in first.links if link.rel == "related"] == ["https://f/2.pdf"]
    assert first.summary == ("Traded 2026-10-14, published 2026-11-02 (19 days later); "
                             "filing: https://f/2.pdf")  # fmt: skip
    assert second.updated == second.published == "2026-11-01T10:00:00Z"  # never first seen
    assert second.title == headline(rows[1]) == "Al Bo (O) bought C"
    assert "92 days later; late" in second.summary


def test_a_feed_that_cannot_be_written_leaves_the_old_one_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"old")

    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full)
    with pytest.raises(UsageError, match=r"cannot write the feed .*No space left on device"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.xml"]  # no piece left beside it


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("json://user:hunter22@hooks.example.com:8443/path/s3cr3t", "json://user:****@hooks"
         ".example.com:8443/…"),
        ("tgram://123456789:AAbbCCddEEff/987654", "tgram://1...f/…"),
        ("ntfys://tk_abcdef123456@ntfy.example.com/mytopic", "ntfys://t...6@ntfy.example.com/…"),
    ],
)  # fmt: skip
def test_a_destination_is_shown_by_a_label_without_its_secrets(url: str, label: str) -> None:
    shown = destination(url)
    assert shown.label.startswith(label + " #")
    assert url not in repr(shown)
    for secret in ("hunter22", "s3cr3t", "AAbbCCddEEff", "abcdef123456"):
        assert secret not in shown.label


def test_a_failure_s_words_lose_every_part_of_the_url() -> None:
    url = "json://user:hunter22@hooks.example.com/path/s3cr3t?token=abc123"
    words = redact(f"POST to {url} failed; token abc123; path /path/s3cr3t refused", url)
    for secret in ("hunter22", "s3cr3t", "abc123", "hooks.example.com"):
        assert secret not in words


def test_an_unknown_notification_url_is_named_by_its_scheme_only() -> None:
    with pytest.raises(UsageError) as raised:
        destination("nosuch://user:hunter22@example.com/s3cr3t")
    assert str(raised.value).startswith("--notify nosuch://…: not a notification URL")
    assert "hunter22" not in str(raised.value)


def test_the_runs_ledger_keeps_a_notification_url_by_its_scheme() -> None:
    assert shown_arguments(["update", "--notify", "tgram://1:AAbb/9", "--notify=json://h/s3",
                            "--db", "x.db"]) == [
        "update", "--notify", "tgram://…", "--notify=json://…", "--db", "x.db"]  # fmt: skip


def test_a_notification_url_left_without_its_flag_is_named_by_its_scheme(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from trio_enrich.cli import main

    assert main(["update", "--db", "x.db", "tgram://123:AAbbCCdd/9"]) == 2
    said = capsys.readouterr().err
    assert said == ("trio-enrich: error: unexpected argument 'tgram://…' (a notification URL: "
                    "--notify URL)\n")  # fmt: skip


def test_news_cut_by_the_limit_say_how_many_there_are_in_all(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_light(["news", "--db", str(copy), "--limit", "2", "--output", "json"]) == 0
    out = capsys.readouterr()
    assert len(json.loads(out.out)) == 2
    assert out.err.endswith(": 3 (2 shown: --limit 0 shows all)\n")
    assert run_light(["news", "--db", str(copy), "--limit", "3", "--output", "json"]) == 0
    assert capsys.readouterr().err.endswith(": 3\n")


def test_a_negative_reporting_gap_is_said_as_it_is() -> None:
    """A filing dated before its trade (a data-entry error on the form) is shown, not hidden."""
    from trio_enrich.read.feed import summary

    row = {"tx_date": "2026-11-04", "pub_date": "2026-11-01T00:00:00Z", "reporting_gap": -3,
           "late": False, "filing_url": None}  # fmt: skip
    assert summary(row) == "Traded 2026-11-04, published 2026-11-01 (3 days before)"
