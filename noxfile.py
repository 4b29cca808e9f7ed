"""The single entry point for tests, lint, type checks, examples and benchmarks."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "reliability", "lint", "typecheck", "examples"]
nox.options.reuse_existing_virtualenvs = True

PACKAGE = "trio_enrich"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (offline: everything talks to a simulator on 127.0.0.1)."""
    session.install("-e", ".[test,sim]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The slow reliability suite: SIGKILL and resume, the hostile site, a 30 s outage, ..."""
    session.install("-e", ".[test,sim]")
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, with the ASYNC rules, over the package, tests, examples and benchmarks."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[test,sim]", "mypy")
    session.run("mypy", "--strict", PACKAGE)


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example script, so none of them can rot."""
    session.install("-e", ".")
    for script in sorted(Path("examples").glob("*.py")):
        session.run("python", str(script))


@nox.session
def bench_parse(session: nox.Session) -> None:
    """Parser and store micro-benchmarks (prints medians; not a pass/fail test)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench_parse_store.py", *session.posargs)


@nox.session
def bench_sim(session: nox.Session) -> None:
    """Simulator throughput: detail pages per second from one simulator process."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench_sim.py", *session.posargs)


@nox.session
def bench_pipeline(session: nox.Session) -> None:
    """trio-enrich against its limit: K items at N workers with fixed latency, no pause."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench_pipeline.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Side by side: sequential, the seed's design, trio-enrich, Scrapy and the limit.

    Writes benchmarks/results.json, BENCHMARKS.md and benchmarks/chart.png (about 15 minutes).
    """
    session.install("-e", ".", "scrapy", "matplotlib")
    session.run("python", "benchmarks/compare.py", *session.posargs)
