"""Idempotency: running the whole pipeline (``lexrecon ingest`` then ``lexrecon build``) again
on the same input changes no mart and no raw table (records a source sends again at its
incremental boundary are merged with the same values; the tally detail says how many), and
every load still ties out."""
from __future__ import annotations

import duckdb
from reliability_helpers import (
    TRIALS,
    Baseline,
    build_args,
    diff_hashes,
    ingest_args,
    lexrecon,
    mart_hashes,
    raw_hashes,
    tally,
    tie_out_all,
)

SUITE = "idempotency"


def test_second_run_on_the_same_input_changes_no_mart(baseline: Baseline, tmp_path):
    home = baseline.copy_to(tmp_path)  # the baseline's raw.duckdb and dlt state
    raw_db, build_db = home / "raw.duckdb", home / "build.duckdb"
    problems: list[str] = []
    reloaded: list[str] = []
    runs = max(1, TRIALS - 1)
    for run in range(runs):
        ing = lexrecon(ingest_args(baseline.firm, raw_db), home)
        if ing.returncode != 0:
            problems.append(f"ingest #{run + 2} failed: {ing.stdout[-1500:]}{ing.stderr[-1500:]}")
            break
        raw_diff = diff_hashes(baseline.raw, raw_hashes(raw_db))
        problems += [f"after ingest #{run + 2}, raw differs: {d}" for d in raw_diff[:10]]
        problems += tie_out_all(raw_db)[:10]
        con = duckdb.connect(str(raw_db), read_only=True)
        try:
            schemas = [r[0] for r in con.execute(
                "select table_schema from information_schema.tables "
                "where table_name = 'load_tally' and table_schema not like '%staging'"
            ).fetchall()]
            for ds in schemas:
                last = con.execute(f"select max(load_id) from {ds}.load_tally").fetchall()[0][0]
                n = con.execute(f"select coalesce(sum(loaded), 0) from {ds}.load_tally "
                                f"where load_id = ?", [last]).fetchall()[0][0]
                if n:  # merged again with the same values (the raw hashes above prove it)
                    reloaded.append(f"{ds}: {n} records merged again")
        finally:
            con.close()
    tally("fault", SUITE, f"ingest repeated {runs}x on the same input: raw unchanged",
          not problems, "; ".join(problems + reloaded))
    bld = lexrecon(build_args(raw_db, build_db), home, LEXRECON_FIRM=str(baseline.firm))
    mart_problems = [f"build failed: {bld.stdout[-1500:]}"] if bld.returncode else \
        diff_hashes(baseline.marts, mart_hashes(build_db))
    tally("fault", SUITE, "whole pipeline run twice: every mart unchanged", not mart_problems,
          "; ".join(mart_problems[:10]))
    assert not problems, "\n".join(problems)
    assert not mart_problems, "\n".join(mart_problems)
