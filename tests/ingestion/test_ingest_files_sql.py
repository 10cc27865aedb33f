"""The LEDES inbox source and the sales SQL source (SQLite, and a real PostgreSQL server)."""
from __future__ import annotations

import os
import shutil
import sqlite3
from decimal import Decimal

import pytest
import sqlalchemy as sa
from ingest_helpers import ROWS, query, tie_out

from ingestion.pipeline import run_source


def _ledes(firm, raw, **kw):
    return run_source("ledes", firm, raw["raw_db"], pipelines_dir=raw["pipelines_dir"], **kw)


def _sales(raw, **kw):
    return run_source("sales", None, raw["raw_db"], pipelines_dir=raw["pipelines_dir"], **kw)


# -- LEDES -------------------------------------------------------------------------------
def test_ledes_new_changed_and_redelivered_files(firm, raw, monkeypatch):
    import ingest_minifirm as minifirm

    from ingestion.sources.ledes_files import helpers
    from lexrecon.ledes import parser

    parsed = []  # one LEDES parser in the project: the source calls lexrecon.ledes.parser

    def spy(items):
        parsed.extend(file for _, file in items)
        return parser.parse_ledes_many(items)

    monkeypatch.setattr(helpers, "parse_ledes_many", spy)
    inbox = firm / "ebilling" / "ledes_inbox"
    first = _ledes(firm, raw)
    assert sorted(parsed) == [f"INV-{k:05d}.txt" for k in range(1, 5)]
    assert (first.resource("ledes_files").loaded, first.resource("ledes_lines").loaded) == (4, 12)
    t = tie_out(raw["raw_db"], "ledes", first.load_id)
    assert t["ledes_lines"]["money_loaded"] == sum(
        Decimal(f"{k}00.50") + Decimal(f"{k}10.25") + Decimal("99.9999") for k in range(1, 5))
    # nothing changed: nothing read, nothing loaded
    again = _ledes(firm, raw)
    assert again.received == 0 and again.loaded == 0
    # the same content delivered again under another name: loads nothing twice
    shutil.copy(inbox / "INV-00001.txt", inbox / "INV-00001-resent.txt")
    # a changed file replaces its old lines (3 lines become 2)
    (inbox / "INV-00002.txt").write_text(minifirm.ledes_file("INV-00002", ["5.00", "6.00"]))
    third = _ledes(firm, raw)
    assert third.resource("ledes_files").redelivered == 1
    assert third.resource("ledes_files").loaded == 1
    assert third.resource("ledes_lines").loaded == 2
    tie_out(raw["raw_db"], "ledes", third.load_id)
    lines = query(raw["raw_db"], "select file, count(*) from raw_ledes.ledes_lines "
                                 "group by file order by file")
    assert lines == [("INV-00001.txt", 3), ("INV-00002.txt", 2), ("INV-00003.txt", 3),
                     ("INV-00004.txt", 3)]
    sha = query(raw["raw_db"], "select count(distinct file_sha256) from raw_ledes.ledes_lines "
                               "where file = 'INV-00002.txt'")[0][0]
    assert sha == 1


def test_ledes_bad_records_and_files_are_quarantined(firm, raw):
    import ingest_minifirm as minifirm

    inbox = firm / "ebilling" / "ledes_inbox"
    # an unparseable amount on line 4 and a record with a missing field on line 5
    text = minifirm.ledes_file("INV-00009", ["10.00", "12,50", "7.00"]).splitlines(True)
    text.append(text[-1].replace("|CM-1[]", "[]"))
    (inbox / "INV-00009.txt").write_text("".join(text))
    (inbox / "INV-00010.txt").write_text("LEDES2000[]\nwhatever\n")
    summary = _ledes(firm, raw)
    lines = summary.resource("ledes_lines")
    assert (lines.received, lines.loaded, lines.quarantined) == (12 + 4, 12 + 2, 2)
    files = summary.resource("ledes_files")
    assert (files.received, files.loaded, files.quarantined) == (6, 5, 1)
    tie_out(raw["raw_db"], "ledes", summary.load_id)
    q = query(raw["raw_db"], "select resource, file, line, field, reason from raw_ledes.quarantine "
                             "order by file, line")
    assert q[0][:4] == ("ledes_lines", "INV-00009.txt", 4, "LINE_ITEM_TOTAL")
    assert "'12,50'" in q[0][4] and "not a number" in q[0][4]
    assert q[1][:3] == ("ledes_lines", "INV-00009.txt", 6) and "LEDES_FIELD_COUNT" in q[1][4]
    assert q[2][:3] == ("ledes_files", "INV-00010.txt", 1) and "LEDES_FORMAT" in q[2][4]
    status = dict(query(raw["raw_db"], "select file, status from raw_ledes.ledes_files"))
    assert status["INV-00009.txt"] == "partial" and "INV-00010.txt" not in status
    # a re-run does not quarantine the same bad files again
    assert _ledes(firm, raw).received == 0


def test_ledes_header_only_file_and_negative_fee_line_are_quarantined(firm, raw):
    import ingest_minifirm as minifirm

    inbox = firm / "ebilling" / "ledes_inbox"
    # cut right after the field-name line: no invoice record at all
    (inbox / "INV-00011.txt").write_text(minifirm.LEDES_HEADER + "\n")
    # a fee line with a negative unit cost and total (line 4)
    (inbox / "INV-00012.txt").write_text(minifirm.ledes_file("INV-00012",
                                                             ["10.00", "-100.00", "7.00"]))
    summary = _ledes(firm, raw)
    files, lines = summary.resource("ledes_files"), summary.resource("ledes_lines")
    assert (files.received, files.loaded, files.quarantined) == (6, 5, 1)
    assert (lines.received, lines.loaded, lines.quarantined) == (12 + 3, 12 + 2, 1)
    assert lines.money_quarantined == Decimal("-100.00")
    tie_out(raw["raw_db"], "ledes", summary.load_id)
    q = query(raw["raw_db"], "select resource, file, line, field, reason from raw_ledes.quarantine "
                             "order by file, line")
    assert q[0][:3] == ("ledes_files", "INV-00011.txt", 1)
    assert "LEDES_REQUIRED" in q[0][4] and "INV-00011.txt" in q[0][4] \
        and "no invoice record" in q[0][4]
    assert q[1][:4] == ("ledes_lines", "INV-00012.txt", 4, "LINE_ITEM_UNIT_COST")
    assert "'-100.00'" in q[1][4] and "negative on an F line" in q[1][4]
    status = dict(query(raw["raw_db"], "select file, status from raw_ledes.ledes_files"))
    assert status["INV-00012.txt"] == "partial" and "INV-00011.txt" not in status


def test_ledes_same_invoice_in_other_bytes_or_changed_under_another_name(firm, raw):
    """A re-delivery is recognised by its records, not its bytes (CRLF, a BOM, no ``[]``):
    nothing loads twice. A changed invoice under another name is a conflicting re-delivery:
    quarantined, the first delivery stays. A revision under the first name replaces it."""
    import ingest_minifirm as minifirm

    inbox = firm / "ebilling" / "ledes_inbox"
    first = _ledes(firm, raw)
    assert first.resource("ledes_files").loaded == 4
    original = (inbox / "INV-00001.txt").read_text()
    (inbox / "INV-00001-crlf-bom.txt").write_bytes(
        b"\xef\xbb\xbf" + original.replace("\n", "\r\n").encode())
    (inbox / "INV-00001-no-terminators.txt").write_text(original.replace("[]\n", "\n\n"))
    (inbox / "INV-00003-v2.txt").write_text(minifirm.ledes_file("INV-00003", ["1.00", "2.00"]))
    second = _ledes(firm, raw)
    files, lines = second.resource("ledes_files"), second.resource("ledes_lines")
    assert files.redelivered == 2
    assert (files.received, files.loaded, files.quarantined) == (1, 0, 1)
    assert (lines.received, lines.loaded) == (0, 0)
    tie_out(raw["raw_db"], "ledes", second.load_id)
    q = query(raw["raw_db"], "select resource, file, reason from raw_ledes.quarantine")
    assert [(r, f) for r, f, _ in q] == [("ledes_files", "INV-00003-v2.txt")]
    assert "invoice INV-00003 (client C0001, law firm 24-6437381) was already loaded from " \
           "INV-00003.txt" in q[0][2]
    per_file = query(raw["raw_db"], "select file, count(*), sum(cast(line_item_total as "
                                    "decimal(18,4))) from raw_ledes.ledes_lines group by 1 "
                                    "order by 1")
    assert [f for f, _, _ in per_file] == [f"INV-{k:05d}.txt" for k in range(1, 5)]
    assert per_file[2][1:] == (3, Decimal("300.50") + Decimal("310.25") + Decimal("99.9999"))
    # nothing new: nothing read; the revision delivered under the first name replaces it
    assert _ledes(firm, raw).received == 0
    (inbox / "INV-00003.txt").write_text(minifirm.ledes_file("INV-00003", ["1.00", "2.00"]))
    revised = _ledes(firm, raw)
    assert revised.resource("ledes_lines").loaded == 2
    tie_out(raw["raw_db"], "ledes", revised.load_id)
    assert query(raw["raw_db"], "select count(*) from raw_ledes.ledes_lines "
                                "where invoice_number = 'INV-00003'") == [(2,)]


# -- sales (SQL) -------------------------------------------------------------------------------
def test_sales_sqlite_full_rerun_incremental_and_quarantine(firm, raw):
    db = firm / "sales" / "sales.sqlite"
    url = f"sqlite:///{db}"
    first = _sales(raw, credentials=url)
    counts = {r.resource: r.loaded for r in first.resources}
    assert counts == {"customers": 10, "fx_rates": 6, "revenue_bookings": ROWS,
                      "cash_receipts": ROWS // 2}
    tie_out(raw["raw_db"], "sales", first.load_id)
    assert query(raw["raw_db"], "select typeof(amount_usd), typeof(fx_rate) from "
                                "raw_sales.revenue_bookings limit 1")[0] == \
        ("DECIMAL(18,2)", "DECIMAL(18,6)")
    again = _sales(raw, credentials=url)
    assert {r.resource: r.loaded for r in again.resources} == \
        {"customers": 0, "fx_rates": 6, "revenue_bookings": 0, "cash_receipts": 0}
    # two bookings change, one new booking has no amount, one a text amount, one a bad date
    con = sqlite3.connect(db)
    con.execute("update revenue_bookings set amount_usd = amount_usd + 1, "
                "updated_at = '2026-06-01T00:00:00Z' where booking_id in (5, 6)")
    base = ("INV-X", "C0001", "C0001-0001", "NYC", "NY-TK0001", "2026-06-01", "2026-06", "USD",
            "1.00", "0", "1.00", "100", "1", "1.00", "req-x", "2026-06-01T00:00:00Z",
            "2026-06-02T00:00:00Z")
    bad_null = list(base)
    bad_null[13] = None
    bad_text = list(base)
    bad_text[13] = "12,50"
    bad_date = list(base)
    bad_date[5] = "2026-02-30"
    for i, row in enumerate((bad_null, bad_text, bad_date)):
        con.execute(f"insert into revenue_bookings values ({','.join('?' * 18)})",
                    [ROWS + 1 + i, *row])
    con.commit()
    con.close()
    third = _sales(raw, credentials=url)
    b = third.resource("revenue_bookings")
    assert (b.received, b.loaded, b.quarantined) == (5, 2, 3)
    tie_out(raw["raw_db"], "sales", third.load_id)
    reasons = [r[0] for r in query(raw["raw_db"], "select field from raw_sales.quarantine "
                                                  "order by field")]
    assert reasons == ["amount_usd", "amount_usd", "booking_date"]
    rows, distinct = query(raw["raw_db"], "select count(*), count(distinct booking_id) "
                                          "from raw_sales.revenue_bookings")[0]
    assert rows == distinct == ROWS


@pytest.mark.postgres
def test_sales_from_a_real_postgresql_server(postgres, firm, raw):
    import ingest_minifirm as minifirm

    engine = sa.create_engine(postgres)
    with engine.begin() as con:
        con.exec_driver_sql("drop schema if exists sales cascade; create schema sales")
        for ddl in minifirm.SALES_DDL.strip().split(";"):
            if ddl.strip():
                con.exec_driver_sql(ddl.replace("create table ", "create table sales."))
        for table, rows in minifirm.sales_rows(ROWS).items():
            cols = len(rows[0])
            con.exec_driver_sql(
                f"insert into sales.{table} values ({','.join(['%s'] * cols)})", rows)
    engine.dispose()
    first = _sales(raw, credentials=postgres, schema="sales")
    assert {r.resource: r.loaded for r in first.resources} == \
        {"customers": 10, "fx_rates": 6, "revenue_bookings": ROWS, "cash_receipts": ROWS // 2}
    t = tie_out(raw["raw_db"], "sales", first.load_id)
    expected = sum(Decimal(r[14]) for r in minifirm.sales_rows(ROWS)["revenue_bookings"])
    assert t["revenue_bookings"]["money_loaded"] == expected
    assert _sales(raw, credentials=postgres, schema="sales").resource("revenue_bookings").loaded == 0
    assert "psycopg2" in postgres and os.environ.get("SOURCES__SALES__CREDENTIALS") is None


def test_first_load_appends_then_runs_merge(firm, raw):
    """An empty table is written without dlt's delete-insert (no staging copy); the next
    run merges (staging), and re-running changes nothing."""
    import duckdb

    from ingestion.pipeline import run_source

    def staged() -> set[str]:
        con = duckdb.connect(str(raw["raw_db"]), read_only=True)
        try:
            return {r[0] for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw_sales_staging'").fetchall()}
        finally:
            con.close()

    first = run_source("sales", firm, raw["raw_db"], pipelines_dir=raw["pipelines_dir"])
    assert first.loaded > 0 and "revenue_bookings" not in staged()
    again = run_source("sales", firm, raw["raw_db"], pipelines_dir=raw["pipelines_dir"])
    assert "fx_rates" in staged()  # fx_rates is re-read whole each run: merged now
    rows = query(raw["raw_db"], "select count(*), count(distinct currency || month) "
                                "from raw_sales.fx_rates")[0]
    assert rows[0] == rows[1] == again.resource("fx_rates").loaded
