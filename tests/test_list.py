"""`list`: each filter against SQL written here (not the command's own query), over a copy made
by `update` against the simulator; every output format read back with a standard reader."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

import trio_enrich
from trio_enrich.cli.reading import run_light

from .helpers import copy_made_by_update

# The day the copy is read on (--days counts back from it).
TODAY = dt.date(2026, 12, 6)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy made by `update` (trade pages in the object shape, which carry labels and
    committees), then one politician renamed with accents, as the site writes some names."""
    db = copy_made_by_update(tmp_path_factory.mktemp("list") / "ct.db", seed=33, trades=400)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE politicians SET first_name = 'José', last_name = 'Velázquez' "
            "WHERE politician_id = (SELECT politician_id FROM trades GROUP BY 1 ORDER BY 1 LIMIT 1)"
        )
    return db


def _sql(db: Path, query: str, *parameters: object) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(db)
    connection.create_function("fold_", 1, lambda t: None if t is None else _fold(str(t)))
    try:
        return connection.execute(query, parameters).fetchall()
    finally:
        connection.close()


def _ids(db: Path, where: str, *parameters: object) -> list[int]:
    """Trade ids under `where`, newest published first (ties: the larger id first)."""
    rows = _sql(
        db,
        "SELECT t.tx_id FROM trades t JOIN politicians p USING (politician_id) "
        "JOIN issuers i USING (issuer_id) LEFT JOIN assets a USING (asset_id) "
        f"WHERE {where} ORDER BY t.pub_date DESC, t.tx_id DESC",
        *parameters,
    )
    return [int(str(row[0])) for row in rows]


def _list(
    capsys: pytest.CaptureFixture[str], db: Path, kind: str, *flags: str
) -> list[dict[str, object]]:
    code = run_light(["list", kind, "--db", str(db), "--limit", "0", "--output", "json", *flags])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert isinstance(rows, list)
    return rows


def _listed_ids(capsys: pytest.CaptureFixture[str], db: Path, *flags: str) -> list[int]:
    return [int(str(row["tx_id"])) for row in _list(capsys, db, "trades", *flags)]


def _a(db: Path, query: str) -> str:
    """One value the copy holds, for a filter to look for."""
    return str(_sql(db, query)[0][0])


def _filters(db: Path) -> Iterator[tuple[list[str], str, tuple[object, ...]]]:
    """(flags, the same question in SQL over the inherited tables, its parameters)."""
    politician = _a(db, "SELECT politician_id FROM trades GROUP BY 1 ORDER BY COUNT(*) DESC")
    yield ["--politician", politician.lower()], "t.politician_id = ?", (politician,)
    # part of a name, in another case and without its accents
    yield ["--politician", "VELAZQ"], "fold_(p.last_name) LIKE '%velazq%'", ()
    yield ["--party", "democrat"], "p.party = 'democrat'", ()
    yield ["--party", "democrat", "--party", "Other"], "p.party IN ('democrat', 'other')", ()
    state = _a(db, "SELECT state_id FROM politicians GROUP BY 1 ORDER BY COUNT(*) DESC")
    yield ["--state", state.upper()], "p.state_id = ?", (state,)
    yield ["--chamber", "senate"], "t.chamber = 'senate'", ()
    yield ["--gender", "female"], "p.gender = 'female'", ()
    committee = _a(
        db, "SELECT committee FROM politician_committees GROUP BY 1 ORDER BY COUNT(*) DESC"
    )
    yield (
        ["--committee", committee],
        "t.politician_id IN (SELECT politician_id FROM politician_committees WHERE committee = ?)",
        (committee,),
    )
    issuer = int(_a(db, "SELECT issuer_id FROM trades GROUP BY 1 ORDER BY COUNT(*) DESC"))
    yield ["--issuer", str(issuer)], "t.issuer_id = ?", (issuer,)
    word = _a(db, "SELECT substr(issuer_name, 1, instr(issuer_name, ' ') - 1) FROM issuers")
    yield ["--issuer", word.upper()], "lower(i.issuer_name) LIKE lower(?)", (f"%{word}%",)
    ticker = _a(db, "SELECT issuer_ticker FROM issuers WHERE issuer_ticker LIKE '%:%'")
    yield ["--ticker", ticker.split(":")[0].lower()], "i.issuer_ticker = ?", (ticker,)
    yield ["--ticker", ticker], "i.issuer_ticker = ?", (ticker,)
    yield ["--sector", "energy"], "i.sector = 'energy'", ()
    yield (
        ["--market-cap", "mega"],
        "i.issuer_id IN (SELECT issuer_id FROM issuer_performance WHERE mcap >= 200e9 "
        "UNION SELECT issuer_id FROM trio_enrich_partial_performance WHERE mcap >= 200e9)",
        (),
    )
    yield (
        ["--market-cap", "large", "--market-cap", "mid"],
        "i.issuer_id IN (SELECT issuer_id FROM issuer_performance WHERE mcap >= 2e9 "
        "AND mcap < 200e9 UNION SELECT issuer_id FROM trio_enrich_partial_performance "
        "WHERE mcap >= 2e9 AND mcap < 200e9)",
        (),
    )
    issuer_state = _a(db, "SELECT state_id FROM issuers WHERE state_id IS NOT NULL")
    yield ["--issuer-state", issuer_state], "i.state_id = ?", (issuer_state,)
    yield ["--country", "US"], "i.country = 'us'", ()
    yield ["--tx-type", "sell"], "t.tx_type = 'sell'", ()
    yield ["--tx-type", "buy", "--tx-type", "exchange"], "t.tx_type IN ('buy', 'exchange')", ()
    yield ["--owner", "spouse"], "t.owner = 'spouse'", ()
    yield ["--asset-type", "stock-option"], "a.asset_type = 'stock-option'", ()
    label = _a(db, "SELECT label FROM trade_labels GROUP BY 1 ORDER BY COUNT(*) DESC")
    yield (
        ["--label", label],
        "t.tx_id IN (SELECT tx_id FROM trade_labels WHERE label = ?)",
        (label,),
    )
    yield ["--trade-size", "15k-50k"], "t.value BETWEEN 15001 AND 50000", ()
    yield (
        ["--trade-size", "1k-15k", "--trade-size", "1m-5m"],
        "(t.value BETWEEN 1001 AND 15000 OR t.value BETWEEN 1000001 AND 5000000)",
        (),
    )
    yield ["--min-value", "100000"], "t.value >= 100000", ()
    yield ["--max-value", "32500"], "t.value <= 32500", ()
    day = _a(db, "SELECT substr(pub_date, 1, 10) FROM trades ORDER BY pub_date LIMIT 1 OFFSET 200")
    yield ["--since", day], "substr(t.pub_date, 1, 10) >= ?", (day,)
    yield ["--until", day], "substr(t.pub_date, 1, 10) <= ?", (day,)
    yield ["--tx-since", day], "t.tx_date >= ?", (day,)
    yield ["--tx-until", day], "t.tx_date <= ?", (day,)
    yield (
        ["--days", "40"],
        "date(substr(t.pub_date, 1, 10)) >= date(?, '-40 days')",
        (TODAY.isoformat(),),
    )
    yield ["--min-gap", "30"], "t.reporting_gap >= 30", ()
    yield ["--max-gap", "10"], "t.reporting_gap <= 10", ()
    yield ["--late"], "t.reporting_gap > 45", ()
    yield (
        ["--party", "republican", "--tx-type", "buy", "--late"],
        "p.party = 'republican' AND t.tx_type = 'buy' AND t.reporting_gap > 45",
        (),
    )


def test_every_trade_filter_chooses_what_its_sql_chooses(
    copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trio_enrich.read.listing._today", lambda: TODAY)
    checked = 0
    for flags, where, parameters in _filters(copy):
        expected = _ids(copy, where, *parameters)
        assert expected, f"{flags}: the copy holds no such trade, the check proves nothing"
        assert _listed_ids(capsys, copy, *flags) == expected, flags
        checked += 1
    assert checked == 35
    everything = _listed_ids(capsys, copy)
    assert everything == _ids(copy, "1")


def _politician_ids(db: Path, where: str, key: str, direction: str) -> list[str]:
    rows = _sql(
        db,
        "SELECT p.politician_id FROM politicians p LEFT JOIN politician_stats s "
        f"USING (politician_id) WHERE {where} "
        f"ORDER BY COALESCE(s.{key}, 0) {direction}, p.politician_id {direction}",
    )
    return [str(row[0]) for row in rows]


def test_every_politician_filter_and_sort_chooses_what_its_sql_chooses(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committee = _a(
        copy, "SELECT committee FROM politician_committees GROUP BY 1 ORDER BY COUNT(*) DESC"
    )
    issuer = _a(copy, "SELECT issuer_id FROM trades GROUP BY 1 ORDER BY COUNT(*) DESC")
    members = "SELECT politician_id FROM politician_committees WHERE committee = "
    cases: list[tuple[list[str], str, str, str]] = [
        ([], "1", "volume", "DESC"),
        (["--name", "velazquez"], "fold_(p.last_name) = 'velazquez'", "volume", "DESC"),
        (["--party", "republican"], "p.party = 'republican'", "volume", "DESC"),
        (["--state", "CA"], "p.state_id = 'ca'", "volume", "DESC"),
        (["--chamber", "house"], "p.chamber = 'house'", "volume", "DESC"),
        (["--committee", committee], f"p.politician_id IN ({members}'{committee}')",
         "volume", "DESC"),
        (["--issuer", issuer],
         f"p.politician_id IN (SELECT politician_id FROM trades WHERE issuer_id = {issuer})",
         "volume", "DESC"),
        (["--sort-by", "trades"], "1", "count_trades", "DESC"),
        (["--sort-by", "issuers", "--asc"], "1", "count_issuers", "ASC"),
    ]  # fmt: skip
    for flags, where, key, direction in cases:
        expected = _politician_ids(copy, where, key, direction)
        assert expected, flags
        listed = [str(row["politician_id"]) for row in _list(capsys, copy, "politicians", *flags)]
        assert listed == expected, flags


def test_every_issuer_filter_chooses_what_its_sql_chooses(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    politician = _a(copy, "SELECT politician_id FROM trades GROUP BY 1 ORDER BY COUNT(*) DESC")
    ticker = _a(copy, "SELECT issuer_ticker FROM issuers WHERE issuer_ticker LIKE '%:%'")
    word = _a(copy, "SELECT substr(issuer_name, 1, instr(issuer_name, ' ') - 1) FROM issuers")
    mcap = (
        "COALESCE((SELECT mcap FROM issuer_performance f WHERE f.issuer_id = i.issuer_id), "
        "(SELECT mcap FROM trio_enrich_partial_performance h WHERE h.issuer_id = i.issuer_id))"
    )
    cases: list[tuple[list[str], str]] = [
        ([], "1"),
        (["--search", word.lower()], f"lower(i.issuer_name) LIKE lower('%{word}%')"),
        (["--search", ticker.split(":")[0]], f"i.issuer_ticker = '{ticker}'"),
        (["--sector", "financials"], "i.sector = 'financials'"),
        (["--market-cap", "mega"], f"{mcap} >= 200e9"),
        (["--state", "NY"], "i.state_id = 'ny'"),
        (["--country", "us"], "i.country = 'us'"),
        (
            ["--politician", politician],
            f"i.issuer_id IN (SELECT issuer_id FROM trades WHERE politician_id = '{politician}')",
        ),
    ]
    for flags, where in cases:
        rows = _sql(
            copy,
            "SELECT i.issuer_id FROM issuers i LEFT JOIN issuer_stats s USING (issuer_id) "
            f"WHERE {where} ORDER BY COALESCE(s.volume, 0) DESC, i.issuer_id DESC",
        )
        expected = [int(str(row[0])) for row in rows]
        assert expected, flags
        listed = [int(str(row["issuer_id"])) for row in _list(capsys, copy, "issuers", *flags)]
        assert listed == expected, flags


def test_trades_sort_by_each_key_either_way_and_stop_at_the_limit(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, column in (("published", "pub_date"), ("traded", "tx_date"),
                        ("reporting-gap", "reporting_gap"), ("value", "value")):  # fmt: skip
        for direction, flags in (("DESC", []), ("ASC", ["--asc"])):
            rows = _sql(copy, f"SELECT tx_id FROM trades ORDER BY {column} {direction}, "
                              f"tx_id {direction} LIMIT 7")  # fmt: skip
            expected = [int(str(row[0])) for row in rows]
            listed = _listed_ids(capsys, copy, "--sort-by", key, *flags)[:7]
            assert listed == expected, (key, direction)
    code = run_light(["list", "trades", "--db", str(copy), "--output", "json", "--limit", "3"])
    assert code == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    code = run_light(["list", "trades", "--db", str(copy), "--output", "json"])
    assert code == 0
    assert len(json.loads(capsys.readouterr().out)) == 100  # the default limit


def _read_back(output: str, text: str) -> list[dict[str, str]]:
    """Rows of `output` as text cells, read with a standard reader."""
    if output == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    if output == "ndjson":
        return [_cells(json.loads(line)) for line in text.splitlines()]
    if output == "xml":
        rows = []
        for element in ElementTree.fromstring(text):
            row = {}
            for child in element:
                items = [item.text or "" for item in child]
                row[child.tag] = (
                    ";".join(items)
                    if items or child.tag in ("labels", "committees")
                    else (child.text or "")
                )
            rows.append(row)
        return rows
    assert output == "md"
    lines = text.splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split(" | ")]
    assert set(lines[1]) <= {"|", "-"}
    rows = []
    for line in lines[2:]:
        cells = [c.replace("\\|", "|").strip() for c in line[2:-2].split(" | ")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def _cells(row: dict[str, object]) -> dict[str, str]:
    """A JSON row as the flat formats write it: lists joined by ';', yes/no as true/false,
    nothing as an empty cell."""

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ";".join(str(item) for item in value)
        return str(value)

    return {key: cell(value) for key, value in row.items()}


@pytest.mark.parametrize("kind", ["trades", "politicians", "issuers"])
def test_every_format_read_back_gives_the_rows_of_json(
    copy: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    flags = ["list", kind, "--db", str(copy), "--limit", "60"]
    assert run_light([*flags, "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 20
    if kind == "trades":
        assert all("tx_id" in row for row in rows)
        assert any(row["labels"] for row in rows)  # lists are there to be read back
    expected = [_cells(row) for row in rows]
    for output in ("ndjson", "csv", "md", "xml"):
        assert run_light([*flags, "--output", output]) == 0
        got = _read_back(output, capsys.readouterr().out)
        if output == "xml":  # a value the copy lacks is no element
            expected_here = [{k: v for k, v in row.items() if v != ""} for row in expected]
            got = [{k: v for k, v in row.items() if v != ""} for row in got]
            assert got == expected_here, output
        else:
            assert got == expected, output
    assert run_light([*flags, "--output", "table"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == len(rows) + 1
    assert max(len(line) for line in table) <= 80


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (
            ["trades", "--party", "green"],
            "--party 'green' is not one of: democrat, republican, other",
        ),
        (
            ["trades", "--since", "2026-13-01"],
            "--since '2026-13-01' is not a date in the form YYYY-MM-DD",
        ),
        (
            ["trades", "--committee", "senate-banking"],
            "--committee 'senate-banking' is not a committee code",
        ),
        (["trades", "--trade-size", "big"], "--trade-size 'big' is not one of: under-1k"),
        (
            ["trades", "--limit", "-1"],
            "Invalid value for --limit: -1 is out of range: give a whole number from 0",
        ),
        (
            ["trades", "--days", "0"],
            "Invalid value for --days: 0 is out of range: give a whole number from 1",
        ),
        (
            ["trades", "--min-value", "-5"],
            "Invalid value for --min-value: -5 is out of range: give a whole number from 0",
        ),
        (["issuers", "--market-cap", "huge"], "--market-cap 'huge' is not one of: mega, large"),
        (
            ["trades", "--party", "democrat", "republican"],
            "unexpected argument(s) republican (see --help); a filter takes one value: repeat",
        ),
        (["politicians", "--sort-by", "age"], 'Invalid value "age" for --sort-by'),
    ],
)
def test_a_bad_filter_is_one_line_and_exit_2(
    copy: Path, capsys: pytest.CaptureFixture[str], flags: list[str], said: str
) -> None:
    assert run_light(["list", *flags, "--db", str(copy)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("trio-enrich: error: ")
    assert said in err
    assert err.count("\n") == 1


def test_a_missing_or_foreign_database_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    assert run_light(["list", "trades", "--db", str(missing)]) == 2
    assert f"database {missing} does not exist" in capsys.readouterr().err
    assert not missing.exists()  # nothing made
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (x)")
    connection.close()
    assert run_light(["list", "trades", "--db", str(other)]) == 2
    assert "is not a capitoltraders database" in capsys.readouterr().err


def test_list_reads_beside_a_run_that_holds_the_lock_and_writes(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A writer in the middle of a transaction (as a run between commits): `list` neither
    waits for it nor sees its half-written rows, and the run's lock stays the run's."""
    db = tmp_path / "busy.db"
    shutil.copy(copy, db)
    from trio_enrich.storage.lock import RunLock

    before = _listed_ids(capsys, db)
    writer = sqlite3.connect(db, isolation_level=None)
    with RunLock(db) as lock:
        assert lock.try_acquire()
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM trades")
        assert _listed_ids(capsys, db) == before
        writer.execute("ROLLBACK")
    writer.close()


def test_list_imports_nothing_of_the_fetching_side(copy: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "trio_enrich", "list", "trades", "--db",
         str(copy), "--limit", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "trio_enrich.read.queries" in imported  # (the import log is the one we think)
    assert not {"trio", "httpx", "httpcore", "curl_cffi", "anyio"} & imported


def test_the_table_fits_80_columns_and_says_the_key_facts(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_light(["list", "trades", "--db", str(copy), "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "PUBLISHED", "TRADED", "POLITICIAN", "P", "TYPE", "TICKER", "RANGE", "$"
    ]  # fmt: skip
    newest = _sql(copy, "SELECT substr(pub_date, 1, 10), tx_type FROM trades "
                        "ORDER BY pub_date DESC, tx_id DESC LIMIT 1")[0]  # fmt: skip
    assert lines[1].startswith(str(newest[0]))
    assert f" {newest[1]} " in lines[1]
    assert all(len(line) <= 80 for line in lines)


def test_committees_lists_every_code_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_light(["list", "committees", "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 48
    assert {"code": "ssbk", "name": "Senate - Banking, Housing & Urban Affairs",
            "chamber": "senate"} in rows  # fmt: skip
    assert {"code": "hlig", "name": "Senate - Intelligence", "chamber": "senate"} in rows


def _shipped_pairs() -> set[tuple[str, str]]:
    path = Path(trio_enrich.__file__).parent / "storage" / "committee_sectors.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {(row["committee"], s) for row in rows for s in row["sectors"].split(";") if s}


def test_overlap_marks_a_trade_in_a_sector_the_member_s_committees_oversee(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = _shipped_pairs()
    assert len({code for code, _ in pairs}) >= 30  # most committees oversee something
    connection = sqlite3.connect(copy)
    members = connection.execute("SELECT politician_id, committee FROM politician_committees")
    overseen: dict[str, set[str]] = {}
    for politician, code in members.fetchall():
        overseen.setdefault(politician, set()).update(s for c, s in pairs if c == code)
    trades = connection.execute(
        "SELECT t.tx_id, t.politician_id, i.sector FROM trades t JOIN issuers i USING (issuer_id) "
        "ORDER BY t.pub_date DESC, t.tx_id DESC"
    ).fetchall()
    connection.close()
    expected = [tx for tx, who, sector in trades if sector in overseen.get(who, set())]
    assert expected
    assert _listed_ids(capsys, copy, "--overlap") == expected
    # your own mapping instead: energy alone, by the Senate Finance committee
    own = tmp_path / "mine.csv"
    own.write_text("committee,sectors,reason\nssfi,energy,because I say so\n")
    mine = [tx for tx, who, sector in trades
            if sector == "energy" and "ssfi" in _committees_of(copy, who)]  # fmt: skip
    listed = _listed_ids(capsys, copy, "--overlap", "--committee-sectors", str(own))
    assert listed == mine


def _committees_of(db: Path, politician: str) -> set[str]:
    return {str(row[0]) for row in _sql(
        db, "SELECT committee FROM politician_committees WHERE politician_id = ?", politician
    )}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("committee,sector,reason\n", "the first line must be: committee,sectors,reason"),
        ("committee,sectors,reason\nxxxx,energy,why\n", "line 2: 'xxxx' is not a committee code"),
        ("committee,sectors,reason\nssfi,oil,why\n", "line 2: 'oil' is not one of the site's"),
        ("committee,sectors,reason\nssfi,energy\n", "line 2: 3 fields expected, found 2"),
    ],
)
def test_a_committee_sectors_file_that_cannot_be_read_is_one_line_and_exit_2(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, said: str
) -> None:
    own = tmp_path / "mine.csv"
    own.write_text(text)
    flags = ["list", "trades", "--db", str(copy), "--overlap", "--committee-sectors", str(own)]
    assert run_light(flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert said in err


def test_sql_prints_the_statement_that_gives_the_same_rows(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--committee", _a(copy, "SELECT committee FROM politician_committees LIMIT 1"),
             "--tx-type", "sell", "--min-value", "8000", "--issuer", "o'brien"]  # fmt: skip
    found: list[list[int]] = []
    for flags_now in (flags[:6], flags):
        shown = ["list", "trades", "--db", str(copy), *flags_now, "--limit", "0", "--sql"]
        assert run_light(shown) == 0
        statement = capsys.readouterr().out
        assert statement.startswith("SELECT * FROM trio_enrich_trades\nWHERE ")
        listed = _listed_ids(capsys, copy, *flags_now)
        connection = sqlite3.connect(copy)
        connection.create_function("fold", 1, lambda t: None if t is None else _fold(str(t)))
        rows = connection.execute(statement).fetchall()
        connection.close()
        assert [row[0] for row in rows] == listed
        found.append(listed)
    assert found[0]
    assert found[1] == []  # (no issuer is called O'Brien: the quote is written in, not run)
