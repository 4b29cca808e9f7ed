"""Fresh issuers (issue 14, part): `issuers --refresh-older-than DURATION` fetches enriched
issuers again and stores the new figures; without it no enriched issuer is fetched again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trio_enrich.cli import main
from trio_enrich.sim import make_dataset, open_simulator

from .helpers import assert_issuers_match_truth, cli, database_with_listing


async def test_refresh_stores_new_figures_and_nothing_is_fetched_again_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = make_dataset(seed=81, trades=200)
    db = database_with_listing(tmp_path / "ct.db", dataset)
    async with open_simulator(dataset, seed=81) as sim:
        site = ["--db", str(db), "--base-url", sim.base_url, "--progress", "none",
                "--details-delay-ms", "0", "--json"]  # fmt: skip
        assert await cli("issuers", *site) == 0
        assert_issuers_match_truth(db, dataset)
        assert dataset.reprice() > 0  # a new trading day on the site
        capsys.readouterr()
        before = len(sim.log)
        assert await cli("issuers", *site) == 0
        assert json.loads(capsys.readouterr().out)["selected"] == 0
        assert len(sim.log) == before  # no enriched issuer fetched again
        assert await cli("issuers", *site, "--refresh-older-than", "0s") == 0
        summary = json.loads(capsys.readouterr().out)
    assert summary["selected"] == len(dataset.issuers)
    assert summary["enriched"] == len(dataset.issuers)
    # The new figures for every issuer; the prices of both windows its page showed.
    assert_issuers_match_truth(db, dataset, windows=2)
    assert await cli("status", "--db", str(db)) == 0
    assert ", oldest " in capsys.readouterr().out


@pytest.mark.parametrize("value", ["5x", "-1d", "1.5h", "d", "7 days"])
def test_a_bad_duration_is_refused_in_one_line(
    tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = database_with_listing(tmp_path / "ct.db", make_dataset(seed=82, trades=20))
    before = db.read_bytes()
    assert main(["issuers", "--db", str(db), "--refresh-older-than", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--refresh-older-than" in err[0]
    assert db.read_bytes() == before
