"""Source faults end to end: the REST sources against the emulators (real HTTP servers on
127.0.0.1) serving the tiny demo firm with a fault switched on. Each run must either complete
correctly (the raw tables equal the undisturbed baseline's, the loads tie out) or fail with a
clear message (``IngestError`` "<source>: what happened. what to do", no traceback text) and
load nothing partial (no rows, no tally of a half load).

Transient faults (token expiry mid-run, 429 bursts, 5xx bursts, single timeouts, a repeated
page, a new field) must complete; permanent ones (tokens that never work, a 429 or 5xx storm
that does not end, every request timing out) must fail clearly. Amounts sent as strings (a
changed type) must be quarantined record by record with an exact tie-out.
By default the full matrix runs on clio and two mixed cases on actionstep and e-billing;
with LEXRECON_RELIABILITY_TRIALS >= 3 the full matrix runs on all three.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from reliability_helpers import TRIALS, Baseline, diff_hashes, table_hashes, tally, tie_out_all

SUITE = "source faults"

# per source: (a resource with money, a plain resource)
RESOURCES = {"clio": ("activities", "matters"), "actionstep": ("timeentries", "actions"),
             "ebilling": ("invoices", "status_history")}
PAGE = 25  # small pages: many requests, so the faults fire mid-resource

# name: (faults, expected "complete" | "fail" | "quarantine", client timeout or None)
CASES: dict[str, tuple[dict[str, Any], str, float | None]] = {
    "token expiry mid-run": ({"token_max_uses": 3}, "complete", None),
    "tokens revoked on every use": ({"token_ttl": 0}, "fail", None),
    "429 bursts (Retry-After 0)": ({"burst_429_every": 5, "burst_429_count": 3,
                                    "retry_after": 0}, "complete", None),
    "429 storm that does not end": ({"burst_429_every": 1, "burst_429_count": 100000,
                                     "retry_after": 0, "after_requests": 1}, "fail", None),
    "5xx bursts": ({"error_5xx_every": 5, "error_5xx_count": 3}, "complete", None),
    "502 storm that does not end": ({"error_5xx_every": 1, "error_5xx_count": 100000,
                                     "error_5xx_status": 502, "after_requests": 1}, "fail", None),
    "single timeouts": ({"slow_ms": 1500, "slow_every": 4}, "complete", 0.5),
    "every request times out": ({"slow_ms": 1500, "slow_every": 1, "after_requests": 1},
                                "fail", 0.5),
    "a repeated page": ({"repeat_page_every": 2}, "complete", None),
    "schema drift: a new field": ({"new_field": "riskScore", "new_field_value": 7},
                                  "complete", None),
    "schema drift: amounts as strings": ({"string_amounts": True}, "quarantine", None),
    "everything transient at once": ({"token_max_uses": 5, "burst_429_every": 5,
                                      "burst_429_count": 2, "retry_after": 0,
                                      "error_5xx_every": 7, "error_5xx_count": 2,
                                      "repeat_page_every": 3}, "complete", None),
}
MIXED = ("everything transient at once", "502 storm that does not end", "a repeated page")


def _matrix() -> list[tuple[str, str]]:
    out = [("clio", case) for case in CASES]
    for name in ("actionstep", "ebilling"):
        out += [(name, case) for case in (CASES if TRIALS >= 3 else MIXED)]
    return out


def _endpoint(server: Any) -> dict[str, Any]:
    info = server.info()
    return {k: info[k] for k in ("base_url", "client_id", "client_secret", "company_id")
            if k in info}


def _data_rows(raw_db: Path, ds: str, tables: tuple[str, ...]) -> dict[str, int]:
    if not raw_db.is_file():
        return {}
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        have = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                          "where table_schema = ?", [ds]).fetchall()}
        return {t: con.execute(f"select count(*) from {ds}.{t}").fetchall()[0][0]
                for t in (*tables, "load_tally") if t in have}
    finally:
        con.close()


def _rows(raw_db: Path, ds: str, table: str) -> Counter:
    """The table's rows as text (columns by name, without dlt's lineage columns)."""
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        cols = sorted(r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and "
            "table_name = ?", [ds, table]).fetchall() if not r[0].startswith("_dlt"))
        if not cols:
            return Counter()
        return Counter(str(r) for r in con.execute(
            f"select {', '.join(chr(34) + c + chr(34) for c in cols)} from {ds}.{table}"
        ).fetchall())
    finally:
        con.close()


def _non_null(raw_db: Path, ds: str, table: str, column: str | None) -> int:
    if not column:
        return 0
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        return con.execute(f'select count("{column}") from {ds}.{table}').fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.parametrize(("name", "case"), _matrix())
def test_source_fault(baseline: Baseline, tmp_path, monkeypatch, name: str, case: str):
    from ingestion.emulators import SERVERS
    from ingestion.pipeline import IngestError, run_source
    from ingestion.sources.common import http

    faults, expect, timeout = CASES[case]
    if timeout is not None:  # a short client timeout, so a slow answer is a timeout
        monkeypatch.setitem(http.ApiClient.__init__.__kwdefaults__, "timeout", timeout)
    money, plain = RESOURCES[name]
    raw_db = tmp_path / "raw.duckdb"
    ds = f"raw_{name}"
    server = SERVERS[name](baseline.firm / name, faults=faults, use_env=False)
    server.start()
    error: str | None = None
    summary = None
    try:
        summary = run_source(name, None, raw_db, pipelines_dir=tmp_path / "dlt",
                             endpoint=_endpoint(server), resources=[money, plain],
                             page_size=PAGE, backoff_base=0.01)
    except IngestError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: record it
        error = f"UNEXPECTED {type(exc).__name__}: {exc}"
    finally:
        injected = server.fault_state.snapshot()["injected"]
        server.stop()

    problems: list[str] = []
    rows = _data_rows(raw_db, ds, (money, plain))
    if error is not None:
        clear = (error.startswith(f"{name}:") and "Traceback" not in error
                 and not error.startswith("UNEXPECTED") and len(error) < 2000)
        if not clear:
            problems.append(f"unclear error: {error[:500]}")
        if any(rows.get(t) for t in (money, plain, "load_tally")):
            problems.append(f"partial load after a failure: {rows}")
        if expect != "fail":
            problems.append(f"expected to {expect}, failed: {error[:300]}")
        outcome = f"failed clearly: {error[:160]}" if not problems else "; ".join(problems)
    else:
        assert summary is not None
        problems += tie_out_all(raw_db)
        if expect == "fail":
            problems.append("expected a clear failure, the run completed")
        got = table_hashes(raw_db, (ds,), exclude_columns=("_dlt_load_id", "_dlt_id",
                                                           "risk_score"))
        want = {k: v for k, v in baseline.raw.items()
                if k in (f"{ds}.{money}", f"{ds}.{plain}")}
        if expect == "quarantine":
            # a record whose money changed type is quarantined, the others load unchanged
            for table in (money, plain):
                r = summary.resource(table)
                base = _rows(baseline.raw_db, ds, table)
                have = _rows(raw_db, ds, table)
                sent = _non_null(baseline.raw_db, ds, table, r.money_column)
                if sent and not r.quarantined:  # (null amounts are sent as null, not strings)
                    problems.append(f"{table}: {sent} amounts sent as strings, none quarantined")
                if have - base:
                    problems.append(f"{table}: {sum((have - base).values())} loaded rows are "
                                    "not the source's")
                if sum(have.values()) + r.quarantined != sum(base.values()):
                    problems.append(f"{table}: {sum(have.values())} loaded + {r.quarantined} "
                                    f"quarantined != {sum(base.values())} in the source")
        else:
            got = {k: v for k, v in got.items() if k in want}
            problems += diff_hashes(want, got)
        if case.startswith("schema drift: a new") and rows.get(plain):
            con = duckdb.connect(str(raw_db), read_only=True)
            try:
                n = con.execute(f"select count(risk_score) from {ds}.{plain}").fetchall()[0][0]
            finally:
                con.close()
            if n != rows[plain]:
                problems.append(f"the new field reached {n} of {rows[plain]} rows")
        outcome = f"completed; received {summary.received}, loaded {summary.loaded}, " \
                  f"quarantined {summary.quarantined}" if not problems else "; ".join(problems)
    tally("fault", SUITE, f"{name}: {case} (injected {dict(injected)})", not problems, outcome)
    assert not problems, "\n".join(problems)
