"""int_leakage_events is the union of two parts split by what they read (docs/warehouse.md, the
leakage marts): int_leakage_billing_events reads int_time_entries_valued only where
billed_amount is not null, so changed or new unbilled entries (a day of new time) cannot change
it, while every entry an invoice line points to still reaches it. The parts' compiled SQL (from
the tiny build's run results) is run again on a copy of the build after changing the entries."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tests.warehouse_compare import rows_differ

ENTRIES = "intermediate.int_time_entries_valued"


def _compiled(tiny, model: str) -> str:
    for r in tiny.result.run_results["results"]:
        if r["unique_id"] == f"model.lexrecon.{model}":
            return r["compiled_code"]
    raise AssertionError(f"{model} is not in the tiny build's run results")


@pytest.fixture
def build_copy(tiny, tmp_path: Path):
    if not tiny.result.success:
        pytest.fail("the tiny build is not green: " + "; ".join(tiny.result.failures[:5]))
    copy = tmp_path / tiny.build_db.name  # same file name: the compiled SQL names its catalog
    shutil.copyfile(tiny.build_db, copy)
    con = duckdb.connect(str(copy))
    yield con
    con.close()


def test_unbilled_entries_do_not_change_the_billing_part(tiny, build_copy):
    con = build_copy
    unbilled = con.execute(f"select count(*) from {ENTRIES} where billed_amount is null").fetchone()[0]
    assert unbilled > 0
    # every unbilled entry changes in what either part could read, and a few new ones arrive
    con.execute(f"""
        update {ENTRIES}
        set standard_rate = standard_rate + 1000, hours_worked = hours_worked + 1,
            worked_value_standard = worked_value_standard + 1000,
            is_billable = not coalesce(is_billable, true), is_no_charge = not coalesce(is_no_charge, false)
        where billed_amount is null""")
    con.execute(f"""
        insert into {ENTRIES}
        select * replace ('new:' || time_entry_key as time_entry_key) from {ENTRIES}
        where billed_amount is null limit 5""")
    con.execute(f"create temp table billing as {_compiled(tiny, 'int_leakage_billing_events')}")
    con.execute(f"create temp table time_part as {_compiled(tiny, 'int_leakage_time_events')}")
    assert rows_differ(con, "billing", "intermediate.int_leakage_billing_events") == 0
    # the change was one the leakage events see: the time part moves
    assert rows_differ(con, "time_part", "intermediate.int_leakage_time_events") > 0


def test_billed_entries_reach_the_billing_part(tiny, build_copy):
    con = build_copy
    # what the predicate relies on: an entry an invoice line points to has a billed amount
    assert con.execute(f"""
        select count(*) from intermediate.int_invoice_lines_unioned as l
        inner join {ENTRIES} as te on te.time_entry_key = l.time_entry_key
        where te.billed_amount is null""").fetchone() == (0,)
    # standard rates raised above what every billed entry's fee lines were billed at
    con.execute(f"update {ENTRIES} set standard_rate = standard_rate + 100 where billed_amount is not null")
    con.execute(f"create temp table billing as {_compiled(tiny, 'int_leakage_billing_events')}")
    expected = con.execute(f"""
        select count(*), sum(cast(round((te.standard_rate - l.unit_price) * l.quantity, 2) as decimal(18, 2)))
        from intermediate.int_invoice_lines_unioned as l
        inner join intermediate.int_invoices_unioned as i on i.invoice_number = l.invoice_number
        inner join {ENTRIES} as te on te.time_entry_key = l.time_entry_key
        where i.status <> 'void' and l.line_type = 'F' and l.unit_price < te.standard_rate""").fetchone()
    got = con.execute("""
        select count(*), sum(amount_local) from billing
        where leakage_category = 'RATE_BELOW_STANDARD'""").fetchone()
    assert expected[0] > 0
    assert got == expected
    # the other five categories do not read the entries
    others = "where leakage_category <> 'RATE_BELOW_STANDARD'"
    assert rows_differ(con, f"(select * from billing {others})",
                   f"(select * from intermediate.int_leakage_billing_events {others})") == 0
