"""Shared test helpers: where the captured and synthetic pages live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The repository carries the pages its tests read (tests/fixtures/capitoltrades, with their
# provenance); TRIO_ENRICH_FIXTURES points elsewhere, e.g. at a newer set of captures.
FIXTURES = Path(
    os.environ.get("TRIO_ENRICH_FIXTURES", Path(__file__).parent / "fixtures" / "capitoltrades")
)


@pytest.fixture(autouse=True)
def _never_the_real_site(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run without --base-url goes to a closed local port, never to the real site
    (a dry run reads robots.txt, for one)."""
    monkeypatch.setenv("CAPITOLTRADES_BASE_URL", "http://127.0.0.1:9")


def fixture_bytes(relative: str) -> bytes:
    path = FIXTURES / relative
    if not path.exists():
        pytest.fail(f"fixture {path} is missing")
    return path.read_bytes()
