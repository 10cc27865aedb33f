"""Crashes: ``lexrecon ingest`` and ``lexrecon build`` killed (SIGKILL) at random points, then
run again, give exactly the marts of an undisturbed run (a hash of every mart table), a raw
database whose loads still tie out, and a serving file that a killed build never touched.

Each trial (``LEXRECON_RELIABILITY_TRIALS``, seeded by ``LEXRECON_RELIABILITY_SEED``) starts
from an empty home: ingest is killed after a random delay within the baseline's ingest time,
ingest runs again to the end, the build is killed after a random delay within the baseline's
build time, the build runs again; the marts are compared with the baseline's.

The random kill points may or may not land in a narrow window, so the windows of one source
run are also hit deterministically: ``LEXRECON_CRASH_POINT`` makes the real ``lexrecon
ingest`` kill itself (SIGKILL) after the data resources and before the ledger is written,
after the extract, after normalize; the re-run must give the raw tables of the undisturbed run
and exactly its tallies.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path

import duckdb
import pytest
from reliability_helpers import (
    PYTHON,
    REPO,
    SEED,
    TRIALS,
    Baseline,
    build_args,
    child_env,
    diff_hashes,
    ingest_args,
    lexrecon,
    mart_hashes,
    raw_hashes,
    tally,
    tie_out_all,
)

SUITE = "crashes"
# (source, crash point): the window between data and ledger for a file, a SQL and a REST
# source; the later windows for the file source
CRASH_CASES = [("ledes", "before-ledger"), ("sales", "before-ledger"),
               ("actionstep", "before-ledger"), ("ledes", "after-extract"),
               ("ledes", "after-normalize"), ("sales", "half-deleted-extract")]
# "half-deleted-extract": killed after normalize, with what a kill while dlt's normalize deletes
# the extracted package leaves (seen in CI): extracted/<load id> holding only schema.json and an
# empty completed_jobs, its normalized package committed beside it


def kill_after(args: list[str], home: Path, delay: float, **env: str) -> dict:
    """Start ``python -m lexrecon ARGS`` and SIGKILL its whole process group after ``delay``
    seconds (if it is still running). Returns what happened."""
    proc = subprocess.Popen([PYTHON, "-m", "lexrecon", *args], cwd=REPO,
                            env=child_env(home, **env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=delay)
        return {"killed": False, "returncode": proc.returncode, "delay": delay}
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started
        proc.wait(timeout=60)
        return {"killed": True, "returncode": proc.returncode, "delay": delay}


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_ingest_and_build_then_rerun_gives_the_same_marts(baseline: Baseline, tmp_path,
                                                                trial: int):
    if not baseline.build_green:
        pytest.fail(f"the undisturbed tiny build is not green:\n{baseline.build_output}")
    rng = random.Random(SEED * 1000 + trial)
    home = tmp_path
    raw_db, build_db = home / "raw.duckdb", home / "build.duckdb"
    serving = home / "serving.duckdb"
    serving.write_bytes(b"the previously published file")  # a killed build must not touch it
    before = serving.read_bytes()

    # 1. ingest, killed at a random point; 2. ingest again to the end
    ingest_kill = kill_after(ingest_args(baseline.firm, raw_db), home,
                             rng.uniform(0.5, max(1.0, baseline.ingest_seconds)))
    rerun = lexrecon(ingest_args(baseline.firm, raw_db), home)
    ingest_ok = rerun.returncode == 0
    problems = [] if ingest_ok else [
        f"ingest re-run failed: {rerun.stdout[-1500:]}{rerun.stderr[-1500:]}"]
    if ingest_ok:
        raw_diff = diff_hashes(baseline.raw, raw_hashes(raw_db))
        problems += [f"raw differs: {d}" for d in raw_diff[:10]]
        problems += tie_out_all(raw_db)[:10]
    tally("fault", SUITE, f"SIGKILL ingest at {ingest_kill['delay']:.1f}s "
                          f"(killed={ingest_kill['killed']}), re-run", not problems,
          "; ".join(problems))

    # 3. build, killed at a random point; 4. build again to the end
    build_kill = kill_after(build_args(raw_db, build_db), home,
                            rng.uniform(0.5, max(1.0, baseline.build_seconds)),
                            LEXRECON_FIRM=str(baseline.firm))
    assert serving.read_bytes() == before
    rebuilt = lexrecon(build_args(raw_db, build_db), home, LEXRECON_FIRM=str(baseline.firm))
    build_problems = []
    if rebuilt.returncode != 0:
        build_problems.append(f"build re-run failed: {rebuilt.stdout[-1500:]}"
                              f"{rebuilt.stderr[-1500:]}")
    else:
        build_problems += diff_hashes(baseline.marts, mart_hashes(build_db))[:20]
    tally("fault", SUITE, f"SIGKILL build at {build_kill['delay']:.1f}s "
                          f"(killed={build_kill['killed']}), re-run, marts equal",
          not build_problems, "; ".join(build_problems))
    assert serving.read_bytes() == before, "a killed build changed the serving file"
    assert not problems, "\n".join(problems)
    assert not build_problems, "\n".join(build_problems)


def test_publish_of_a_killed_build_is_refused(baseline: Baseline, tmp_path):
    """A build killed before it finished leaves no green build behind: publish refuses and the
    serving file keeps what it had."""
    from lexrecon.warehouse import PublishRefused, publish

    rng = random.Random(SEED + 7)
    home = baseline.copy_to(tmp_path)
    build_db, serving = home / "build.duckdb", home / "serving.duckdb"
    serving.write_bytes(b"previous")
    outcome = kill_after(build_args(home / "raw.duckdb", build_db), home,
                         rng.uniform(1.0, max(2.0, baseline.build_seconds * 0.5)),
                         LEXRECON_FIRM=str(baseline.firm))
    if not outcome["killed"]:
        pytest.skip("the build finished before the kill: nothing to refuse")
    try:
        publish(build_db, serving)
        refused, detail = False, "publish accepted the build of a killed run"
    except PublishRefused as exc:
        refused, detail = True, str(exc).splitlines()[0]
    ok = refused and serving.read_bytes() == b"previous"
    tally("fault", SUITE, f"publish after SIGKILL of build at {outcome['delay']:.1f}s", ok,
          detail)
    assert ok, detail


def run_to_crash(args: list[str], home: Path, point: str) -> int:
    """Run ``python -m lexrecon ARGS`` with ``LEXRECON_CRASH_POINT=point`` (its own process
    group, so an emulator child dies with it); the return code (-9: it killed itself)."""
    proc = subprocess.Popen([PYTHON, "-m", "lexrecon", *args], cwd=REPO,
                            env=child_env(home, LEXRECON_CRASH_POINT=point),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        return proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)


def tallies(raw_db: Path, dataset: str) -> dict[str, tuple]:
    """Per resource, the sums over every load of received, loaded, quarantined and money."""
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        return {r[0]: tuple(r[1:]) for r in con.execute(
            f'select resource, sum(received), sum(loaded), sum(quarantined), '
            f'sum(money_received), sum(money_loaded), sum(money_quarantined) '
            f'from "{dataset}".load_tally group by 1 order by 1').fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize(("source", "point"), CRASH_CASES)
def test_kill_at_a_crash_point_then_rerun_gives_exact_tallies(baseline: Baseline, tmp_path,
                                                             source: str, point: str):
    """``lexrecon ingest --source S`` killed exactly at ``point`` (between the data and its
    ledger, or later), then run again: the raw tables equal the undisturbed run's, every load
    ties out (no rows without a tally) and the tallies add up to the undisturbed run's."""
    home, raw_db = tmp_path, tmp_path / "raw.duckdb"
    dataset = f"raw_{source}"
    args = ["ingest", "--source", source, "--firm", str(baseline.firm), "--raw-db", str(raw_db)]
    code = run_to_crash(args, home, "after-normalize" if point == "half-deleted-extract"
                        else point)
    problems = [] if code == -signal.SIGKILL else [
        f"the run was not killed at {point} (exit {code})"]
    if point == "half-deleted-extract":
        work = home / "dlt" / f"lexrecon_{source}"
        pending = [p for p in (work / "load" / "normalized").iterdir() if p.is_dir()]
        assert len(pending) == 1, pending
        leftover = work / "normalize" / "extracted" / pending[0].name
        (leftover / "completed_jobs").mkdir(parents=True)
        (leftover / "schema.json").write_bytes((pending[0] / "schema.json").read_bytes())
    rerun = lexrecon(args, home)
    if rerun.returncode != 0:
        problems.append(f"re-run failed: {rerun.stdout[-1500:]}{rerun.stderr[-1500:]}")
    else:
        want = {k: v for k, v in baseline.raw.items() if k.startswith(dataset + ".")}
        got = {k: v for k, v in raw_hashes(raw_db).items() if k.startswith(dataset + ".")}
        problems += [f"raw differs: {d}" for d in diff_hashes(want, got)[:10]]
        problems += tie_out_all(raw_db)[:10]
        if point == "half-deleted-extract":
            # the killed run's committed package is loaded (nothing lost), then the re-run's
            # own extract: the sales source re-reads its replace tables (fx rates), so the
            # summed tallies count those twice; each load still ties out (above)
            with duckdb.connect(str(raw_db), read_only=True) as con:
                loads = {r[0] for r in con.execute(
                    f'select distinct load_id from "{dataset}".load_tally').fetchall()}
            if pending[0].name not in loads:
                problems.append(f"the killed run's package {pending[0].name} was not loaded")
        else:
            problems += [f"tally differs: {d}" for d in diff_hashes(
                tallies(baseline.raw_db, dataset), tallies(raw_db, dataset))[:10]]
        # nothing of the killed run is left in dlt's working folder (an uncommitted extract
        # folder is removed by the next run; a committed package was loaded by it)
        work = home / "dlt" / f"lexrecon_{source}"
        left = [p.name for p in (work / "normalize").iterdir() if p.is_dir()
                and p.name != "extracted"] + [p.name for p in (work / "normalize" / "extracted")
                                              .iterdir()]
        problems += [f"left in {work}/normalize: {left}"] if left else []
    tally("fault", SUITE, f"SIGKILL {source} ingest at {point}, re-run, exact tallies",
          not problems, "; ".join(problems))
    assert not problems, "\n".join(problems)
