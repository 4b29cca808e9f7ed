"""Reliability: crash and resume, faults, outages, hostile pages, security — nothing lost.

The slow ones are marked `slow` and run by `nox -s reliability` (which CI runs too).
"""

from __future__ import annotations

import ast
import contextlib
import json
import random
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import trio

from trio_enrich import FailureKind, FetchError, PageFailure, parse_trade_detail
from trio_enrich._defaults import BUSY_TIMEOUT, real_wait
from trio_enrich.cli import main
from trio_enrich.clients.answers import ClientName
from trio_enrich.clients.factory import open_client
from trio_enrich.sim import Faults, make_dataset, open_simulator, profile

from .helpers import (
    FAST,
    assert_enriched_rows_carry_their_data,
    assert_trades_match_truth,
    cli,
    database_with_listing,
    start_sim,
    trade_rows,
)

PACKAGE = Path(__file__).resolve().parents[1] / "trio_enrich"


def enriched_ids(db: Path) -> set[int]:
    return {tx_id for tx_id, row in trade_rows(db).items() if row[-1]}


@pytest.mark.slow
def test_sigkill_at_twenty_random_moments_loses_nothing(tmp_path: Path) -> None:
    dataset = make_dataset(seed=41, trades=1500)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    server, url = start_sim("--seed", "41", "--trades", "1500", "--latency-ms", "5")
    command = [sys.executable, "-m", "trio_enrich", "trades", "--db", str(db), "--base-url", url,
               "--concurrency", "4", "--max-rps", "100", "--progress", "none", *FAST]  # fmt: skip
    rng = random.Random(41)
    import httpx

    def log_paths() -> list[str]:
        lines = httpx.get(url + "/_sim/log", timeout=30).text.splitlines()
        paths = [json.loads(line)["path"] for line in lines]
        return [path for path in paths if path.startswith("/trades/")]

    try:
        kills = 0
        while kills < 20:
            committed = enriched_ids(db)
            seen = len(log_paths())
            run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 1.0))
            if run.poll() is not None:
                break  # finished before the kill: nothing left to interrupt
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=10)
            kills += 1
            assert_enriched_rows_carry_their_data(db)
            refetched = [p for p in log_paths()[seen:]
                         if int(p.rsplit("/", 1)[1]) in committed]  # fmt: skip
            assert refetched == [], "a committed trade was fetched again"
        assert kills == 20, f"only {kills} kills before the work ran out"
        final = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert final.returncode == 0, final.stderr
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert_trades_match_truth(db, dataset)


@pytest.mark.slow
async def test_hostile_site_ends_with_every_retryable_item_enriched(tmp_path: Path) -> None:
    dataset = make_dataset(seed=42, trades=2000)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    faults = profile("hostile").with_(hang_seconds=5, oversize_bytes=9 * 1024 * 1024)
    permanent = {t.listing.tx_id: faults.id_fault(42, t.listing.tx_id) for t in dataset.trades}
    not_found = {i for i, f in permanent.items() if f == "not_found"}
    digests = {i for i, f in permanent.items() if f == "error_digest"}
    assert not_found
    assert digests
    async with open_simulator(dataset, faults, seed=42) as sim:
        args = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--concurrency", "8", "--timeout", "2", "--max-failures", "8", *FAST]  # fmt: skip
        # Re-run as a user (or cron) would: after a breaker trip, and while transient
        # failures (challenge pages, oversized bodies) are left, until only the permanent
        # error-digest items remain pending.
        for _ in range(15):
            code = await cli("trades", *args)
            assert code in (0, 1, 3)
            pending = set(dataset.trade_index) - enriched_ids(db) - not_found
            if code != 3 and pending == digests:
                break
        assert pending == digests
        issuer_fault = {i: faults.id_fault(42, i) for i in dataset.issuers}
        issuer_digests = {i for i, f in issuer_fault.items() if f == "error_digest"}
        issuer_gone = {i for i, f in issuer_fault.items() if f == "not_found"}
        for _ in range(15):
            code = await cli("issuers", *args)
            done = {row[0] for row in sqlite3.connect(db).execute(
                "SELECT issuer_id FROM issuers WHERE enriched_at IS NOT NULL")}  # fmt: skip
            if code != 3 and set(dataset.issuers) - done - issuer_gone == issuer_digests:
                break
        assert set(dataset.issuers) - done - issuer_gone == issuer_digests
        requests_before = len(sim.log)
        assert await cli("trades", *args) == 1  # only the error-digest items are tried again
        retried = {int(p.rsplit("/", 1)[1]) for p in sim.log.paths()[requests_before:]}
        assert retried <= digests
    enriched = enriched_ids(db)
    assert enriched == set(dataset.trade_index) - not_found - digests
    query = "SELECT item_id FROM trio_enrich_failures WHERE entity='trade' AND kind='not_found'"
    recorded = {row[0] for row in sqlite3.connect(db).execute(query)}
    assert recorded == not_found
    assert_enriched_rows_carry_their_data(db)
    rows = trade_rows(db)
    from .helpers import expected_trade_row

    for tx_id in enriched:
        assert rows[tx_id] == expected_trade_row(dataset, tx_id)


@pytest.mark.slow
async def test_a_thirty_second_outage_trips_the_breaker_and_a_later_run_completes(
    tmp_path: Path,
) -> None:
    import trio

    dataset = make_dataset(seed=43, trades=500)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, Faults(latency_ms=5), seed=43) as sim:
        args = ["trades", "--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--concurrency", "3", "--max-rps", "100", *FAST]  # fmt: skip
        window: list[tuple[float, float]] = []

        async def outage_soon() -> None:
            await trio.sleep(1.0)
            window.append(sim.outage(30))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(outage_soon)
            assert await cli(*args) == 3
        _, end = window[0]
        assert trio.current_time() < end  # it stopped during the outage, not after it
        await trio.sleep_until(end + 0.1)
        assert await cli(*args) == 0
    assert_trades_match_truth(db, dataset)


HOSTILE_PAGES = ["huge", "gzip-bomb", "invalid-utf8", "deep-json", "tiny-chunks",
                 "redirect-away", "redirect-loop", "image"]  # fmt: skip


def test_hostile_pages_are_classified_and_memory_stays_small(tmp_path: Path) -> None:
    dataset = make_dataset(seed=44, trades=60)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    targets = [t.listing.tx_id for t in dataset.trades[: len(HOSTILE_PAGES)]]
    script = tmp_path / "serve.py"
    script.write_text(
        "import sys, trio\n"
        "from trio_enrich.sim import make_dataset, Simulator\n"
        "async def main():\n"
        "    sim = Simulator(make_dataset(44, 60), seed=44)\n"
        f"    for tx_id, fault in zip({targets!r}, {HOSTILE_PAGES!r}):\n"
        "        sim.script(f'/trades/{tx_id}', [fault] * 10)\n"
        "    async with trio.open_nursery() as n:\n"
        "        await n.start(sim.serve, 0)\n"
        "        print(sim.base_url, flush=True)\n"
        "trio.run(main)\n"
    )
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        measured = (
            "import resource, sys\n"
            "from trio_enrich.cli import main\n"
            "code = main(sys.argv[1:])\n"
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the parent.
            "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
            "print(f'peak-rss-kib {status.split()[0]}', file=sys.stderr)\n"
            "sys.exit(code)\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", measured, "trades", "--db", str(db), "--base-url", url,
             "--progress", "none", "--json", "--max-failures", "20", "--retry-max", "1", *FAST],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        server.kill()
        server.wait()
    assert "Traceback" not in run.stderr
    assert run.returncode == 1, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["enriched"] == 60 - len(HOSTILE_PAGES) + 1  # tiny chunks still make a page
    failures = {row[0]: row[1] for row in sqlite3.connect(db).execute(
        "SELECT item_id, kind FROM trio_enrich_failures WHERE entity = 'trade'")}  # fmt: skip
    expected = {
        "huge": "too_large", "gzip-bomb": "too_large", "invalid-utf8": "blocked",
        "deep-json": "blocked", "redirect-away": "http_error", "redirect-loop": "http_error",
        "image": "bad_content",
    }  # fmt: skip
    for tx_id, fault in zip(targets, HOSTILE_PAGES, strict=True):
        if fault == "tiny-chunks":
            assert tx_id in enriched_ids(db)
        else:
            assert failures[tx_id] == expected[fault], fault
    # ru_maxrss is in KiB on Linux: the enrich process stayed under 200 MB.
    peak = int(run.stderr.rsplit("peak-rss-kib ", 1)[1].split()[0])
    assert peak < 200 * 1024, f"peak RSS {peak / 1024:.0f} MB"


def test_a_payload_in_a_million_tiny_chunks_parses() -> None:
    flight = '0:["$","div",null,{"tradeId":7,"filingUrl":"https://e.test/ptr-pdfs/2025/12.pdf"}]\n'
    # A million one-character pushes: the flight text is rebuilt from all of them.
    text = (flight * (1_000_000 // len(flight) + 1))[:1_000_000]
    scripts = "".join(
        "<script>self.__next_f.push([1," + json.dumps(char) + "])</script>" for char in text
    )
    page = "<html><body>" + scripts + '<div hidden id="S:0"></div></body></html>'
    started = time.monotonic()
    result = parse_trade_detail(page, 7)
    assert time.monotonic() - started < 20
    assert not isinstance(result, PageFailure)
    assert result.filing_id == 12


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe" * 1000,
        b"<html>" + b"\x00" * 5000,
        "<html>\u2028\ud800</html>".encode("utf-8", "surrogatepass"),
    ],
)
def test_undecodable_pages_are_classified(body: bytes) -> None:
    result = parse_trade_detail(body, 1)
    assert isinstance(result, PageFailure)
    assert result.kind in (FailureKind.BLOCKED, FailureKind.TRUNCATED)


async def test_a_base_url_that_refuses_connections_stops_the_run(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dataset = make_dataset(seed=45, trades=30)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    args = ["trades", "--db", str(db), "--base-url", f"http://127.0.0.1:{port}",
            "--progress", "none", "--retry-max", "1", *FAST]  # fmt: skip
    assert await trio.to_thread.run_sync(main, args) == 3
    assert enriched_ids(db) == set()


def test_a_locked_database_waits_then_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=46, trades=20)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    before = db.read_bytes()
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        code = main(["trades", "--db", str(db), "--base-url", "http://127.0.0.1:9"])
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    err = capsys.readouterr().err
    assert code == 2
    assert "locked" in err
    assert len(err.strip().splitlines()) == 1
    # it waited the busy timeout (5 s, a twentieth in the test mode), then said so
    assert real_wait(BUSY_TIMEOUT) * 0.8 <= waited < 30
    assert db.read_bytes() == before


def test_a_database_from_a_newer_trio_enrich_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=47, trades=20)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    connection = sqlite3.connect(db)
    connection.execute("UPDATE trio_enrich_meta SET value = '999' WHERE key = 'schema_version'")
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    before = db.read_bytes()
    for command in (["trades"], ["issuers"], ["sync"], ["status"]):
        assert main([*command, "--db", str(db)]) == 2
        assert "newer than" in capsys.readouterr().err
        assert db.read_bytes() == before


def test_a_read_only_database_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=48, trades=20)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    db.chmod(0o444)
    before = db.read_bytes()
    assert main(["trades", "--db", str(db), "--base-url", "http://127.0.0.1:9"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert db.read_bytes() == before


@pytest.mark.parametrize("client", ["httpx", "browser"])
async def test_a_certificate_no_trusted_authority_signed_is_refused(
    nursery: trio.Nursery, client: ClientName
) -> None:
    """An HTTPS site on 127.0.0.1 whose certificate a private authority signed: either client
    refuses it (a client that trusts that authority gets the page, so the certificate is the
    only reason)."""
    import trustme

    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_tls)

    async def answer(stream: trio.SSLStream[trio.SocketStream]) -> None:
        with contextlib.suppress(trio.BrokenResourceError, ssl.SSLError):
            await stream.receive_some(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 4\r\n"
            await stream.send_all(head + b"Connection: close\r\n\r\npage")

    listeners = await nursery.start(
        partial(trio.serve_ssl_over_tcp, answer, 0, server_tls, host="127.0.0.1")
    )
    port = listeners[0].transport_listener.socket.getsockname()[1]
    async with open_client(client, f"https://127.0.0.1:{port}", concurrency=1,
                           deadline=10) as source:  # fmt: skip
        with pytest.raises(FetchError) as refused:
            await source.get("/trades/1")
    assert refused.value.kind is FailureKind.UNREACHABLE  # no answer came: a run stops
    said = str(refused.value)
    # (httpx says ssl's CERTIFICATE_VERIFY_FAILED; curl "SSL certificate OpenSSL verify
    # result: unable to get local issuer certificate")
    assert "CERTIFICATE_VERIFY_FAILED" in said or "local issuer certificate" in said, said
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", port, ssl_context=trusting)
    await stream.send_all(b"GET /trades/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 200 OK")
    await stream.aclose()


async def test_nothing_is_written_but_the_database_its_archive_and_their_wal_files(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    dataset = make_dataset(seed=49, trades=40)
    db = database_with_listing(work / "ct.db", dataset)
    for leftover in work.glob("ct.db-*"):
        leftover.unlink()
    before_cwd = set(Path.cwd().iterdir())
    async with open_simulator(dataset, seed=49) as sim:
        common = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none", *FAST]
        assert await cli("sync", "--full", *common) == 0
        assert await cli("trades", *common) == 0
        assert await cli("issuers", *common) == 0
    files = {"ct.db", "ct.db-wal", "ct.db-shm", "ct.pages.db", "ct.pages.db-wal",
             "ct.pages.db-shm"}  # fmt: skip
    assert {p.name for p in work.iterdir()} <= files
    assert "ct.pages.db" in {p.name for p in work.iterdir()}
    assert set(Path.cwd().iterdir()) == before_cwd


async def test_hostile_strings_are_stored_verbatim(tmp_path: Path) -> None:
    import dataclasses

    dataset = make_dataset(seed=50, trades=24)
    nasty = 'Robert\'); DROP TABLE trades;-- "$$x" \u0000 \U0001f4a5'
    for trade in dataset.trades:
        issuer = dataclasses.replace(trade.listing.issuer, issuer_name=nasty)
        trade.listing = dataclasses.replace(trade.listing, issuer=issuer)
    db = tmp_path / "ct.db"
    async with open_simulator(dataset, seed=50) as sim:
        assert await cli("sync", "--full", "--db", str(db), "--base-url", sim.base_url,
                         "--progress", "none", *FAST) == 0  # fmt: skip
    names = {row[0] for row in sqlite3.connect(db).execute("SELECT issuer_name FROM issuers")}
    assert names == {nasty}
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM trades").fetchone() == (24,)


def test_sql_is_built_only_from_fixed_names() -> None:
    """Values reach SQL only as parameters: f-strings in SQL interpolate names we chose."""
    # (kept_out and parked: fixed SQL fragments of _store, chosen by which columns exist;
    # _NAME, _MCAP, _OVERLAP, _issuer, ..., LATE_AFTER_DAYS, TRADE_URL, view: the views' fixed
    # fragments)
    allowed = {"table", "key", "column", "columns", "marks", "updates", "c", "t", "sql",
               "kept_out", "parked_sql", "_NAME", "_MCAP", "LATE_AFTER_DAYS", "TRADE_URL",
               "view", "_OVERLAP", "_MEMBER_SECTORS", "_issuer", "_politician", "expression",
               "arms", "_bracket_case", "within", "value", "_OVERLAP_COMMITTEES", "NEWS_COLUMNS",
               "wanted", "FILLED_AN_EMPTY_COPY"}  # fmt: skip
    nodes = [
        node
        for module in sorted((PACKAGE / "storage").glob("*.py"))
        if module.stem != "archive"  # (its columns: a fixed tuple of its own)
        for node in ast.walk(ast.parse(module.read_text()))
    ]
    for node in nodes:
        if isinstance(node, ast.JoinedStr):
            text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
            if not any(word in text.upper() for word in ("SELECT", "INSERT", "UPDATE", "DELETE",
                                                          "PRAGMA")):  # fmt: skip
                continue
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    names = {n.id for n in ast.walk(value.value) if isinstance(n, ast.Name)}
                    assert names <= allowed, ast.unparse(value.value)
