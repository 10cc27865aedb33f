"""Bad input corpus: LEDES files that are malformed, truncated, in the wrong encoding, delivered
twice, with negative or absurd amounts, future dates and month-end edges go through the real
LEDES source (``run_source("ledes", ...)`` into raw.duckdb) and through ``lexrecon check``.

Each bad file must get a clear error (an ``error`` finding of ``lexrecon check`` naming the
problem) or a quarantine row (with the reason); valid edge cases (a byte order mark, CRLF line
ends, Windows-1252 text, a line dated on the last day of the billing period) must load fully.
After every run received = loaded + quarantined holds per load and per file, and a duplicate
delivery loads nothing twice. The REST time-zone edge (an Actionstep timestamp whose UTC
instant falls in the next month) is checked through the emulator and the raw table.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from reliability_helpers import Baseline, tally, tie_out_all

SUITE = "bad input corpus"
NUMBER_COL = 4  # INVOICE_TOTAL
LINE_TOTAL, UNITS, UNIT_COST, ADJ = 12, 10, 20, 11
LINE_DATE, INV_DATE, INV_NO = 13, 0, 1


@dataclass
class Item:
    name: str
    data: bytes
    expect: str  # "reject": quarantine or check error; "load": all records load, no error
    codes: tuple[str, ...] = ()  # acceptable check codes / quarantine reasons (any of)


def _records(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    head = lines[:2]
    rows = [ln.removesuffix("[]").split("|") for ln in lines[2:]]
    return head, rows


def _text(head: list[str], rows: list[list[str]], eol: str = "\n") -> str:
    return eol.join(head + ["|".join(r) + "[]" for r in rows]) + eol


def _retotal(rows: list[list[str]]) -> list[list[str]]:
    """INVOICE_TOTAL = the sum of the line totals, so only the planted problem remains."""
    total = sum((Decimal(r[LINE_TOTAL]) for r in rows), Decimal(0))
    for r in rows:
        r[NUMBER_COL] = f"{total:.2f}"
    return rows


def _renumber(rows: list[list[str]], number: str) -> list[list[str]]:
    for r in rows:
        r[INV_NO] = number
    return rows


def _corpus(base: str) -> list[Item]:
    head, rows0 = _records(base)

    def rows(no: str) -> list[list[str]]:
        return _renumber([list(r) for r in rows0], no)

    items: list[Item] = []
    good = _text(head, rows("RB-0000"))
    # truncations
    items.append(Item("truncated-mid-record", good[: len(good) - len(good.splitlines()[-1]) // 2
                                                   - 1].encode(), "reject"))
    items.append(Item("truncated-after-header", _text(head, []).encode(), "reject"))
    items.append(Item("truncated-mid-header", good[:60].encode(), "reject"))
    items.append(Item("empty-file", b"", "reject"))
    items.append(Item("binary-garbage", bytes(range(256)) * 8, "reject"))
    # malformed
    r = rows("RB-0001")
    del r[1][7]
    items.append(Item("missing-field", _text(head, r).encode(), "reject", ("FIELD_COUNT",)))
    r = rows("RB-0002")
    r[0].append("extra")
    items.append(Item("extra-field", _text(head, r).encode(), "reject", ("FIELD_COUNT",)))
    items.append(Item("unknown-format-line", ("LEDES2000[]\n" + good.split("\n", 1)[1]).encode(),
                      "reject", ("FORMAT",)))
    items.append(Item("wrong-header-line", (head[0] + "\nFOO|BAR[]\n" + "\n".join(
        good.splitlines()[2:]) + "\n").encode(), "reject", ("COLUMNS", "FORMAT")))
    r = rows("RB-0003")
    r[0][LINE_TOTAL] = "12,50"
    items.append(Item("amount-with-comma", _text(head, r).encode(), "reject", ("NUMBER",)))
    r = rows("RB-0004")
    r[0][UNITS] = "lots"
    items.append(Item("units-not-a-number", _text(head, r).encode(), "reject", ("NUMBER",)))
    # encodings
    items.append(Item("utf-16-encoded", _text(head, rows("RB-0005")).encode("utf-16"), "reject"))
    r = rows("RB-0006")
    r[0][18] = "Révision du mémoire – Zürich"
    items.append(Item("windows-1252-text", _text(head, r).encode("cp1252"), "load",
                      ("ENCODING",)))
    items.append(Item("utf-8-bom", b"\xef\xbb\xbf" + _text(head, rows("RB-0007")).encode(),
                      "load"))
    items.append(Item("crlf-line-ends", _text(head, rows("RB-0008"), "\r\n").encode(), "load"))
    r = rows("RB-0009")
    r[1][18] = r[1][18] + " \udcff"
    items.append(Item("invalid-utf8-byte", _text(head, r).encode("utf-8", "surrogateescape"),
                      "load", ("ENCODING",)))
    # amounts
    r = rows("RB-0010")
    r[0][UNIT_COST] = "-" + r[0][UNIT_COST]
    r[0][LINE_TOTAL] = "-" + r[0][LINE_TOTAL]
    items.append(Item("negative-fee-line", _text(head, _retotal(r)).encode(), "reject"))
    r = rows("RB-0011")
    r[0][UNITS], r[0][UNIT_COST] = "1.00", "999999999999.99"
    r[0][LINE_TOTAL] = "999999999999.99"
    items.append(Item("absurd-amount", _text(head, _retotal(r)).encode(), "reject"))
    r = rows("RB-0012")
    r[0][LINE_TOTAL] = "1e400"
    items.append(Item("overflowing-amount", _text(head, r).encode(), "reject"))
    r = rows("RB-0013")
    r[0][LINE_TOTAL] = "NaN"
    items.append(Item("nan-amount", _text(head, r).encode(), "reject"))
    r = rows("RB-0014")
    r[0][NUMBER_COL] = str(Decimal(r[0][NUMBER_COL]) + 1000)
    for x in r:
        x[NUMBER_COL] = r[0][NUMBER_COL]
    items.append(Item("invoice-total-off", _text(head, r).encode(), "reject", ("INVOICE_TOTAL",)))
    # dates
    r = rows("RB-0015")
    r[0][LINE_DATE] = "20991231"
    items.append(Item("future-line-date", _text(head, r).encode(), "reject", ("PERIOD",)))
    r = rows("RB-0016")
    for x in r:
        x[INV_DATE] = "20991231"
    items.append(Item("future-invoice-date", _text(head, r).encode(), "reject"))
    r = rows("RB-0017")
    r[0][LINE_DATE] = "20260231"
    items.append(Item("impossible-date", _text(head, r).encode(), "reject", ("DATE",)))
    r = rows("RB-0018")
    r[0][LINE_DATE] = "20250229"
    items.append(Item("feb-29-non-leap-year", _text(head, r).encode(), "reject", ("DATE",)))
    r = rows("RB-0019")
    end = r[0][6]  # BILLING_END_DATE: the month-end
    r[0][LINE_DATE] = end
    items.append(Item("line-on-period-end-month-end", _text(head, r).encode(), "load"))
    r = rows("RB-0020")
    y, m = int(end[:4]), int(end[4:6])
    r[0][LINE_DATE] = f"{y + (m == 12)}{(m % 12) + 1:02d}01"
    items.append(Item("line-day-after-month-end", _text(head, r).encode(), "reject",
                      ("PERIOD",)))
    return items


def _quarantine(raw_db: Path) -> pl.DataFrame:
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        if not con.execute("select count(*) from information_schema.tables where table_schema "
                           "= 'raw_ledes' and table_name = 'quarantine'").fetchall()[0][0]:
            return pl.DataFrame(schema={"file": pl.Utf8, "line": pl.Int64, "field": pl.Utf8,
                                        "reason": pl.Utf8})
        return con.sql("select file, line, field, reason from raw_ledes.quarantine").pl()
    finally:
        con.close()


def _loaded(raw_db: Path) -> dict[str, int]:
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        return dict(con.execute("select file, count(*) from raw_ledes.ledes_lines "
                                "group by 1").fetchall())
    finally:
        con.close()


def _clean_invoice(baseline: Baseline, rules: list[str]) -> Path:
    """A demo-firm LEDES file with no error finding (file checks and its client's rules), so
    only the planted problem of each corpus file is reported."""
    from lexrecon.check import check_paths

    files = sorted((baseline.firm / "ebilling" / "ledes_inbox").glob("*.txt"))
    findings = check_paths([str(f) for f in files], rules)
    dirty = set(findings.filter(pl.col("severity") == "error")["file"].to_list())
    clean = [f for f in files if str(f) not in dirty and f.read_text().count("[]") >= 5]
    assert clean, "no demo-firm LEDES file without findings to build the corpus from"
    return clean[0]


def test_ledes_corpus_each_file_gets_a_clear_error_or_a_quarantine_row(baseline: Baseline,
                                                                       tmp_path):
    from ingestion.pipeline import run_source
    from lexrecon.check import check_paths

    rules = sorted(str(p) for p in (baseline.firm / "ocg").glob("*.yml"))
    base_file = _clean_invoice(baseline, rules)
    base = base_file.read_text(encoding="utf-8")
    items = _corpus(base)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for it in items:
        (inbox / f"{it.name}.txt").write_bytes(it.data)
    raw_db = tmp_path / "raw.duckdb"
    summary = run_source("ledes", None, raw_db, pipelines_dir=tmp_path / "dlt",
                         inbox=str(inbox))
    quarantine = _quarantine(raw_db)
    loaded = _loaded(raw_db)
    # each file checked on its own, as a clerk would before submitting it (checked together,
    # the 26 copies of one invoice would add up their hours per day: DAILY_MAX)
    findings = pl.concat([check_paths([str(inbox / f"{it.name}.txt")], rules) for it in items],
                         how="diagonal_relaxed")
    errors = findings.filter(pl.col("severity") == "error")
    problems: list[str] = []
    for it in items:
        fname = f"{it.name}.txt"
        q = quarantine.filter(pl.col("file") == fname)
        e = errors.filter(pl.col("file").str.ends_with("/" + fname) | (pl.col("file") == fname))
        codes = sorted(set(e["code"].to_list()))
        reasons = [x[:100] for x in q["reason"].to_list()]
        n_records = len(_records(it.data.decode("utf-8", "replace"))[1])
        if it.expect == "reject":
            ok = q.height > 0 or e.height > 0
            if ok and it.codes:
                ok = any(c in code for c in it.codes for code in codes) or \
                    any(c in r for c in it.codes for r in reasons)
            why = f"quarantine {reasons[:2]}, check errors {codes}"
        else:
            ok = loaded.get(fname, 0) == n_records and q.height == 0 and \
                all(any(c in code for c in it.codes) for code in codes)
            why = f"loaded {loaded.get(fname, 0)}/{n_records}, quarantine {reasons[:2]}, " \
                  f"check errors {codes}"
        tally("bad_input", SUITE, f"LEDES {it.name}", ok, why)
        if not ok:
            problems.append(f"{it.name} ({it.expect}): {why}")
    # the counts tie out for the load, per file and against the tables
    tie = tie_out_all(raw_db)
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        per_file = con.execute("select file, record_count, loaded_records, quarantined_records "
                               "from raw_ledes.ledes_files").fetchall()
    finally:
        con.close()
    tie += [f"{f}: {n} records != {a} + {b}" for f, n, a, b in per_file if n != a + b]
    tie += [f"{f}: {a} loaded but {loaded.get(f, 0)} lines in raw" for f, n, a, b in per_file
            if a != loaded.get(f, 0)]
    lines = summary.resource("ledes_lines")
    if lines.received != lines.loaded + lines.quarantined:
        tie.append(f"ledes_lines: {lines.received} != {lines.loaded} + {lines.quarantined}")
    tally("bad_input", SUITE, "LEDES corpus: received = loaded + quarantined", not tie,
          "; ".join(tie[:5]))

    # duplicate deliveries: the same bytes under another name, then the same bytes again
    shutil.copyfile(inbox / "utf-8-bom.txt", inbox / "utf-8-bom-again.txt")
    shutil.copyfile(inbox / "crlf-line-ends.txt", inbox / "crlf-line-ends-resent.txt")
    before = _loaded(raw_db)
    second = run_source("ledes", None, raw_db, pipelines_dir=tmp_path / "dlt", inbox=str(inbox))
    after = _loaded(raw_db)
    dup_problems = []
    if any(after.get(f, 0) for f in ("utf-8-bom-again.txt", "crlf-line-ends-resent.txt")):
        dup_problems.append(f"a redelivered file loaded again: {after}")
    if {k: v for k, v in after.items() if k in before} != before:
        dup_problems.append("earlier files changed on a redelivery")
    redelivered = [(r.resource, r.redelivered) for r in second.resources]
    if sum(n for _, n in redelivered) < 2:
        dup_problems.append(f"redelivered counts {redelivered}: expected both copies counted")
    dup_problems += tie_out_all(raw_db)
    tally("bad_input", SUITE, "LEDES duplicate delivery (same bytes, new names)",
          not dup_problems, "; ".join(dup_problems[:3]))
    assert not problems and not tie and not dup_problems, "\n".join(problems + tie + dup_problems)


def test_the_same_invoice_delivered_twice_in_other_bytes_is_flagged(baseline: Baseline,
                                                                   tmp_path):
    """A resent invoice that is not byte-identical (CRLF instead of LF) is a duplicate
    delivery too: it must not silently count twice (flagged by check or quarantined)."""
    from ingestion.pipeline import run_source
    from lexrecon.check import check_paths

    base_file = _clean_invoice(baseline, [])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = base_file.read_bytes()
    (inbox / base_file.name).write_bytes(data)
    (inbox / ("resent-" + base_file.name)).write_bytes(data.replace(b"\n", b"\r\n"))
    raw_db = tmp_path / "raw.duckdb"
    run_source("ledes", None, raw_db, pipelines_dir=tmp_path / "dlt", inbox=str(inbox))
    findings = check_paths(sorted(str(p) for p in inbox.iterdir()))
    dup_codes = sorted({c for c in findings["code"].to_list() if "DUPLICATE" in c})
    q = _quarantine(raw_db)
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        copies = con.execute("select count(distinct file) from raw_ledes.ledes_lines").fetchall()[0][0]
    finally:
        con.close()
    ok = bool(dup_codes) or q.height > 0 or copies == 1
    tally("bad_input", SUITE, "LEDES same invoice resent with other line ends", ok,
          f"check duplicate codes {dup_codes}, quarantine rows {q.height}, files loaded {copies}")
    assert ok, (dup_codes, q.height, copies)


@pytest.mark.parametrize(("stamp", "utc"), [
    ("2026-07-31T23:30:00-05:00", "2026-08-01 04:30:00+00"),   # next month in UTC
    ("2026-08-01T00:30:00+01:00", "2026-07-31 23:30:00+00"),   # previous month in UTC
    ("2026-03-29T01:30:00+00:00", "2026-03-29 01:30:00+00"),   # London DST change
])
def test_actionstep_time_zone_edges_keep_the_instant(baseline: Baseline, tmp_path, stamp, utc):
    """A timestamp with an offset near a month end reaches raw as the same instant."""
    from ingestion.emulators import SERVERS
    from ingestion.pipeline import run_source

    firm = tmp_path / "actionstep"
    shutil.copytree(baseline.firm / "actionstep", firm)
    path = firm / "timeentries.parquet"
    df = pl.read_parquet(path)
    first_id = df["id"].min()
    df = df.with_columns(pl.when(pl.col("id") == first_id).then(pl.lit(stamp))
                         .otherwise(pl.col("modifiedTimestamp")).alias("modifiedTimestamp"))
    df.write_parquet(path)
    server = SERVERS["actionstep"](firm, use_env=False)
    server.start()
    try:
        info = server.info()
        run_source("actionstep", None, tmp_path / "raw.duckdb", pipelines_dir=tmp_path / "dlt",
                   endpoint={k: info[k] for k in ("base_url", "client_id", "client_secret")},
                   resources=["timeentries"])
    finally:
        server.stop()
    con = duckdb.connect(str(tmp_path / "raw.duckdb"), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        got = con.execute("select cast(modified_timestamp as timestamptz)::varchar "
                          "from raw_actionstep.timeentries where cast(id as varchar) = ?",
                          [str(first_id)]).fetchall()
        got = got[0] if got else None
    finally:
        con.close()
    ok = got is not None and got[0] == utc
    tally("bad_input", SUITE, f"Actionstep time-zone edge {stamp}", ok, f"raw has {got}")
    assert ok, (stamp, got, utc)
