"""Shared test helpers: where the captured and synthetic pages live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# CI lays shared/ beside the clone; TRIO_ENRICH_FIXTURES points elsewhere when needed.
FIXTURES = Path(
    os.environ.get(
        "TRIO_ENRICH_FIXTURES",
        Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "capitoltrades",
    )
)


@pytest.fixture(autouse=True)
def _never_the_real_site(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run without --base-url goes to a closed local port, never to the real site
    (a dry run reads robots.txt, for one)."""
    monkeypatch.setenv("CAPITOLTRADES_BASE_URL", "http://127.0.0.1:9")


def fixture_bytes(relative: str) -> bytes:
    path = FIXTURES / relative
    if not path.exists():
        pytest.fail(f"fixture {path} is missing (is ../shared beside the checkout?)")
    return path.read_bytes()
