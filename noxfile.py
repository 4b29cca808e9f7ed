"""The single entry point for tests, lint, type checks, examples and benchmarks."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

nox.options.sessions = [
    "tests", "browser", "reliability", "nextsite", "lint", "typecheck", "examples", "readme",
]  # fmt: skip
nox.options.reuse_existing_virtualenvs = True

PACKAGE = "trio_enrich"
#: Drives the real browser of the web interface's tests (Debian's chromium and chromedriver).
SELENIUM = "selenium>=4.30,<5"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (offline: everything talks to a simulator on 127.0.0.1)."""
    session.install("-e", ".[test]", SELENIUM)
    # Three processes on two cores: most tests wait on sockets, subprocesses or the simulator,
    # not the CPU (the suite passes so beside two busy loops: 124 s, against 88 s alone).
    session.run("pytest", "-n", "3", "-m", "not slow and not nextsite and not webui",
                *session.posargs)  # fmt: skip
    if not session.posargs:  # (the real-browser tests too, in this environment: see webui)
        session.run("pytest", "-m", "webui")


#: The end-to-end tests `browser` runs again with every command fetching through curl_cffi:
#: each command against the simulator's truth, a Retry-After pause, Ctrl-C with requests in
#: flight, a second Ctrl-C, an outage and its breaker, the concurrency held.
BOTH_CLIENTS = [
    "tests/test_enrich_sim.py::test_clean_site_enriches_everything_to_the_ground_truth",
    "tests/test_enrich_sim.py::test_retry_after_pauses_every_worker",
    "tests/test_enrich_sim.py::test_in_flight_requests_never_exceed_the_concurrency",
    "tests/test_enrich_sim.py::test_sigint_mid_run_exits_130_quickly_and_a_rerun_completes",
    "tests/test_enrich_sim.py::test_a_second_sigint_stops_at_once_and_keeps_what_was_committed",
    "tests/test_enrich_sim.py::test_outage_trips_the_breaker_and_a_rerun_finishes",
    "tests/test_sync_status_demo.py::test_full_sync_then_incremental_sync",
    "tests/test_sync_walk.py::test_trades_published_during_a_walk_are_not_skipped",
    "tests/test_committees.py::test_update_builds_a_complete_copy_and_a_second_fetches_listing_pages_only",
    "tests/test_cron_life.py::test_three_nightly_updates_refresh_every_issuer_every_night",
    "tests/test_blocks.py",
]


@nox.session
def browser(session: nox.Session) -> None:
    """The end-to-end tests again with `--client browser` (curl_cffi as Chrome) for every
    command (TRIO_ENRICH_CLIENT); the session fails if no request went through curl_cffi."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not slow and not nextsite", *BOTH_CLIENTS, *session.posargs,
                env={"TRIO_ENRICH_CLIENT": "browser"})  # fmt: skip


@nox.session
def reliability(session: nox.Session) -> None:
    """The slow reliability suite: SIGKILL and resume, the hostile site, a 30 s outage, ..."""
    session.install("-e", ".[test]")
    # A process each: six long tests that mostly wait (the hostile site and the SIGKILLs of
    # `update` are a minute each); 78 s so, 91 s beside two busy loops, 106 s in three.
    session.run("pytest", "-n", "6", "-m", "slow", *session.posargs)


@nox.session
def webui(session: nox.Session) -> None:
    """`serve` in a real browser: Debian's chromium and chromedriver, driven by Selenium (the
    tests fail under CI=true without them: `apt-get install -y chromium chromium-driver`).
    Screenshots go to build/screenshots, or $TRIO_ENRICH_SCREENSHOTS. (`tests` runs them
    too, after the suite; this session runs them alone.)"""
    session.install("-e", ".[test]", SELENIUM)
    session.run("pytest", "-m", "webui", *session.posargs)


NEXTSITE = Path("tests/nextsite")


def _stamp(*paths: Path) -> str:
    """A digest of files (sorted), to tell whether an install or a build is still current."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _current(stamp_file: Path, stamp: str) -> bool:
    return stamp_file.exists() and stamp_file.read_text() == stamp


@nox.session
def nextsite(session: nox.Session) -> None:
    """React's own serializer: a real Next.js app (tests/nextsite) against the enrich commands.

    Installs the app with npm from its lock file and builds it, each only when its inputs
    changed since the last run (stamps in node_modules/ and .next/), then runs the tests.
    """
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        session.skip(
            f"the Next.js test site needs Node.js 20 and npm ({' and '.join(missing)} not found)"
        )
    session.install("-e", ".[test]")
    env = {"NEXT_TELEMETRY_DISABLED": "1", "NEXT_TELEMETRY_DEBUG": "0"}
    installed = _stamp(NEXTSITE / "package.json", NEXTSITE / "package-lock.json")
    sources = [p for p in NEXTSITE.rglob("*.*") if _is_app_source(p)]
    built = _stamp(*sources) + installed
    with session.chdir(NEXTSITE):
        if not _current(Path("node_modules/.trio-enrich-stamp"), installed):
            session.run("npm", "ci", "--no-audit", "--no-fund", external=True, env=env)
            Path("node_modules/.trio-enrich-stamp").write_text(installed)
        if not _current(Path(".next/.trio-enrich-stamp"), built):
            session.run("node", "node_modules/next/dist/bin/next", "build", external=True, env=env)
            Path(".next/.trio-enrich-stamp").write_text(built)
    session.run(
        "pytest", "-m", "nextsite", *session.posargs,
        env={"NEXTSITE_APP": str(NEXTSITE.resolve())},
    )  # fmt: skip


def _is_app_source(path: Path) -> bool:
    parts = path.relative_to(NEXTSITE).parts
    return parts[0] not in ("node_modules", ".next") and path.suffix in (".js", ".mjs", ".json")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, with the ASYNC rules, over the package, tests, examples and benchmarks."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package and on the tests (see pyproject for their one exception)."""
    session.install("-e", ".[test]", "mypy", SELENIUM)
    session.run("mypy", "--strict", PACKAGE)
    session.run("mypy", "--strict", "tests")


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
def bench_startup(session: nox.Session) -> None:
    """Start-up: `trio-enrich --help` and a one-item run's first request (medians)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench_startup.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Side by side: sequential, the seed's design, trio-enrich, Scrapy and the limit.

    Writes benchmarks/results.json, BENCHMARKS.md and benchmarks/chart.png (about 15 minutes).
    """
    session.install("-e", ".", "scrapy", "matplotlib")
    session.run("python", "benchmarks/compare.py", *session.posargs)


#: The modules `mutation` reports on, and the kill rate each should reach (0: reported only,
#: its survivors not yet triaged; see docs/MUTATION.md).
MUTATED = {
    "core.pipeline": 0.9, "core.gate": 0.9, "core.policy": 0.9, "core.pacing": 0.9,
    "core.site_limit": 0.9, "site.walk": 0.9, "site.roster": 0.9, "site.flight": 0.0,
    "site.page": 0.0, "runs.session": 0.9, "runs.enrich": 0.9, "runs.sync": 0.9,
    "runs.committees": 0.9, "runs.reparse": 0.9,
}  # fmt: skip


@nox.session(default=False)
def mutation(session: nox.Session) -> None:
    """Mutation testing (mutmut; configured in pyproject.toml): each mutant of the core, the
    pacing law, the walk, the roster, the page foundations and the run layer must fail a
    test. Prints the kill rate per module and the surviving mutants (`mutmut show NAME` shows
    one). Not in the default sessions: over an hour on 2 cores (docs/MUTATION.md)."""
    session.install("-e", ".[test]", "mutmut==3.8.1", "pytest-timeout==2.4.0")
    session.run("mutmut", "run", "--max-children", "2", silent=True)
    results = session.run("mutmut", "results", "--all", "true", silent=True) or ""
    counts: dict[str, dict[str, int]] = {}
    survivors: list[str] = []
    for line in str(results).splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name.startswith(PACKAGE + "."):
            continue
        module = ".".join(name.split(".")[1:-1])  # trio_enrich.core.pipeline.x_f__mutmut_1
        # A mutant that makes the tests hang past mutmut's timeout was caught too.
        caught = status in ("killed", "timeout")
        counts.setdefault(module, {"caught": 0, "total": 0})
        counts[module]["caught"] += caught
        counts[module]["total"] += 1
        if not caught:
            survivors.append(f"{name}: {status}")
    session.log("module            mutants  caught  rate   goal")
    short = []
    for module, goal in MUTATED.items():
        found = counts.get(module, {"caught": 0, "total": 0})
        rate = found["caught"] / found["total"] if found["total"] else 0.0
        short += [module] if rate < goal else []
        session.log(
            f"{module:<17} {found['total']:>7}  {found['caught']:>6}  {rate:5.1%}  {goal:.0%}"
        )
    for survivor in survivors:
        session.log("  " + survivor)
    session.log("equivalent mutants (no test can tell them apart): docs/MUTATION.md")
    if short:
        session.error(f"below the kill rate goal: {', '.join(short)}")


def readme_commands(text: str) -> list[str]:
    """The README's commands a user copies that set something up (a virtual environment, a
    package, the environment's activation) and the offline demo, as printed, up to the last
    such step of each line (what follows, a server or a request to the site, is not run
    here); the test command (nox) is left out, as it is what runs this."""
    found: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if not command or "nox" in command:
                continue
            steps = command.split(" && ")
            setting_up = [i for i, step in enumerate(steps)
                          if "pip install" in step or step.startswith(("python3 -m venv", ". "))
                          or step.endswith(" demo")]  # fmt: skip
            if setting_up:
                found.append(" && ".join(steps[: setting_up[-1] + 1]))
    return found


@nox.session(python=False)
def readme(session: nox.Session) -> None:
    """Every install command the README prints, as printed, in a fresh copy of the clone (the
    files git tracks): the first set-up command with its demo, the browser extra, the
    activation, Datasette. Needs the PyPI registry."""
    commands = readme_commands(Path("README.md").read_text())
    if len(commands) < 3:
        session.error(f"the README's set-up commands were not found: {commands}")
    files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory() as folder:
        clone = Path(folder) / "trio-enrich"
        for name in files.decode().split("\0"):
            if name and Path(name).is_file():
                (clone / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(name, clone / name)
        with session.chdir(clone):
            for command in commands:
                if command.startswith(". "):
                    command += " && command -v trio-enrich"  # the activated environment's
                session.log(command)
                session.run("bash", "-ec", command, external=True)
