"""Collections history, built set-based: the weekly AR snapshots in one query over all dates
(``marts.ar_aging_as_of_dates``), the clients' payment records from running totals, and the
final fit warm-started from the evaluated model. Each is checked against the plain
computation it replaces, on the tiny firm's published warehouse."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from reports.collections import (
    FEATURES,
    HORIZON_DAYS,
    SNAPSHOT_EVERY_DAYS,
    LogisticModel,
    client_record,
    data_as_of,
    snapshots,
)


@pytest.fixture()
def con(serving_db):
    con = duckdb.connect(str(serving_db), read_only=True)
    yield con
    con.close()


def _weekly_dates(con) -> list[date]:
    first = con.execute("select min(invoice_date) from marts.fct_invoices").fetchall()[0][0]
    last = data_as_of(con) - timedelta(days=HORIZON_DAYS)
    out, d = [], first + timedelta(days=SNAPSHOT_EVERY_DAYS)
    while d <= last:
        out.append(d)
        d += timedelta(days=SNAPSHOT_EVERY_DAYS)
    return out


def _open_ar_python(con, dates: list[date]) -> dict[tuple[date, str], tuple]:
    """The AR rules of docs/warehouse.md applied row by row in Python, from the intermediate
    tables the aging SQL reads: (as_of, invoice) -> (client, days past due, e-billing status,
    open, open USD, collected) for every invoice with a positive open amount."""
    invoices = con.execute(
        "select i.invoice_number, i.invoice_date, i.due_date, i.total_amount, m.client_code, "
        "fx.rate_to_usd from intermediate.int_invoices_unioned i "
        "left join intermediate.int_matters_conformed m using (matter_number) "
        "left join intermediate.int_fx_month_end_rates fx on fx.currency = upper(i.currency) "
        "and fx.month = strftime(i.invoice_date, '%Y-%m') "
        "where i.status <> 'void' and i.invoice_date is not null").fetchall()
    pays = con.execute("select invoice_number, payment_date, amount from "
                       "intermediate.int_payments_unioned where not is_voided").fetchall()
    offs = con.execute("select invoice_number, write_off_date, amount from "
                       "intermediate.int_ar_write_offs_unioned").fetchall()
    status = con.execute("select invoice_number, status_at, status from "
                         "staging.stg_ebilling__status_history where status is not null "
                         "and status_at is not null order by status_at").fetchall()
    by_invoice: dict[str, list] = defaultdict(list)
    for kind, rows in (("paid", pays), ("off", offs)):
        for number, d, amount in rows:
            by_invoice[number].append((kind, d, amount))
    statuses: dict[str, list] = defaultdict(list)
    for number, at, s in status:
        statuses[number].append((at.date(), s))
    out = {}
    for number, inv_date, due, total, client, rate in invoices:
        for as_of in dates:
            if inv_date > as_of:
                continue
            paid = sum((a for k, d, a in by_invoice[number]
                        if k == "paid" and max(d or inv_date, inv_date) <= as_of), Decimal(0))
            off = sum((a for k, d, a in by_invoice[number]
                       if k == "off" and max(d or inv_date, inv_date) <= as_of), Decimal(0))
            open_ = total - paid - off
            if open_ <= 0:
                continue
            last = [s for d, s in statuses[number] if d <= as_of]
            usd = None if rate is None else (open_ * rate).quantize(Decimal("0.01"),
                                                                     ROUND_HALF_UP)
            out[(as_of, number)] = (client, (as_of - due).days, last[-1] if last else None,
                                    open_, usd, paid)
    return out


def test_snapshots_follow_the_ar_rules_at_every_weekly_date(con):
    dates = _weekly_dates(con)
    assert dates
    snaps = snapshots(con, data_as_of(con))
    got = {(r["as_of_date"], r["invoice_number"]): (
        r["client_code"], r["days_past_due"], r["ebilling_status"], r["open_amount"],
        r["open_amount_usd"], r["collected_amount"]) for r in snaps.iter_rows(named=True)}
    want = _open_ar_python(con, dates)
    assert want and len(got) == snaps.height
    assert got == want
    # part-paid and e-billed invoices are among them, so both rules are exercised
    assert any(v[5] > 0 for v in want.values()) and any(v[2] for v in want.values())
    assert snaps.select("as_of_date", "invoice_number").rows() == sorted(got)


def test_many_dates_macro_equals_one_date_at_a_time_and_the_month_end_mart(con):
    """ar_aging_as_of_dates (the collections history), ar_aging_as_of (one date) and
    fct_ar_aging (month-ends) are the same SQL: every column agrees."""
    month_ends = [r[0] for r in con.execute(
        "select distinct as_of_date from marts.fct_ar_aging order by 1").fetchall()]
    dates = sorted({*_weekly_dates(con), *month_ends, data_as_of(con), date(2026, 9, 12)})
    many = pl.from_arrow(con.sql(
        "select * from marts.ar_aging_as_of_dates(?::date[]) order by all",
        params=[dates]).to_arrow_table())
    one = pl.concat([pl.from_arrow(con.sql("select * from marts.ar_aging_as_of(?::date)",
                                           params=[d]).to_arrow_table()) for d in dates])
    assert many.height > 0
    assert_frame_equal(many, one.sort(many.columns), check_exact=True)
    mart = pl.from_arrow(con.sql("select * from marts.fct_ar_aging order by all").to_arrow_table())
    again = pl.from_arrow(con.sql(
        "select * from marts.ar_aging_as_of_dates(?::date[]) order by all",
        params=[month_ends]).to_arrow_table())
    assert_frame_equal(again, mart, check_exact=True, check_column_order=False)


def _client_record_by_every_payment(pays: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The plain computation: every payment of the client up to each date, aggregated."""
    return keys.join(pays, on="client_code", how="inner").filter(
        pl.col("paid_on") <= pl.col("as_of_date")).group_by("client_code", "as_of_date").agg(
        pl.col("days_to_pay").cast(pl.Float64).mean().alias("client_mean_days_to_pay"),
        pl.col("late").cast(pl.Float64).mean().alias("client_late_share"),
        pl.col("invoice_number").n_unique().alias("client_paid_invoices"))


def test_client_record_from_running_totals_equals_aggregating_every_payment():
    d = date(2026, 3, 1)
    pays = pl.DataFrame({
        "client_code": ["A", "A", "A", "A", "B", "B", "C", None],
        "paid_on": [d, d, d + timedelta(5), d + timedelta(9), d + timedelta(2), None, d, d],
        "invoice_number": ["A1", "A2", "A1", "A3", "B1", "B2", "C1", "X1"],
        "days_to_pay": [10, 31, None, 7, 45, 3, None, 1],
        "late": [False, True, None, False, True, False, None, True],
    }, schema_overrides={"days_to_pay": pl.Int32})
    keys = pl.DataFrame({
        "client_code": ["A", "A", "A", "A", "B", "B", "C", "D"],
        "as_of_date": [d - timedelta(1), d, d + timedelta(5), d + timedelta(30), d + timedelta(1),
                       d + timedelta(2), d + timedelta(3), d],
    })
    got = client_record(pays, keys)
    want = _client_record_by_every_payment(pays, keys)
    joined = keys.join(want, on=["client_code", "as_of_date"], how="left")
    assert_frame_equal(got.sort("client_code", "as_of_date"),
                       joined.sort("client_code", "as_of_date"), check_exact=True)
    a = got.filter((pl.col("client_code") == "A") & (pl.col("as_of_date") == d + timedelta(5)))
    assert a.row(0, named=True) == {
        "client_code": "A", "as_of_date": d + timedelta(5), "client_mean_days_to_pay": 20.5,
        "client_late_share": 0.5, "client_paid_invoices": 2}
    # C paid with no days and no lateness known; D never paid: no record (the features fill in)
    assert got.filter(pl.col("client_code") == "D")["client_paid_invoices"].to_list() == [None]
    c = got.filter(pl.col("client_code") == "C").row(0, named=True)
    assert c["client_paid_invoices"] == 1 and c["client_mean_days_to_pay"] is None


def test_client_record_on_the_tiny_firm_equals_aggregating_every_payment(con):
    pays = pl.from_arrow(con.sql("""
        select p.client_code, p.ar_effective_date as paid_on, i.invoice_number,
               p.days_to_pay, (p.payment_date > i.due_date) as late
        from marts.fct_payments p join marts.fct_invoices i using (invoice_number)
        where not p.is_voided""").to_arrow_table())
    keys = snapshots(con, data_as_of(con)).select("client_code", "as_of_date").unique()
    want = keys.join(_client_record_by_every_payment(pays, keys),
                     on=["client_code", "as_of_date"], how="left")
    got = client_record(pays, keys)
    assert want["client_paid_invoices"].drop_nulls().len() > 0
    assert_frame_equal(got.sort("client_code", "as_of_date"),
                       want.sort("client_code", "as_of_date"), check_exact=True)


def test_warm_started_fit_reaches_the_model_fitted_from_zero():
    rng = np.random.default_rng(5)
    x = np.column_stack([rng.normal(size=5000), rng.integers(0, 2, 5000), rng.gamma(2, 3, 5000)])
    y = (rng.random(5000) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.8 * x[:, 1] + 0.1 * x[:, 2]))))
    y = y.astype(float)
    cold = LogisticModel.fit(x, y, ("a", "b", "c"))
    earlier = LogisticModel.fit(x[:3000], y[:3000], ("a", "b", "c"))  # other rows, other scale
    warm = LogisticModel.fit(x, y, ("a", "b", "c"), start=earlier)
    assert warm.iterations < cold.iterations
    assert np.allclose(warm.weights, cold.weights, rtol=0, atol=1e-10)
    assert np.array_equal(warm.mean, cold.mean) and np.array_equal(warm.scale, cold.scale)
    assert np.abs(warm.predict(x) - cold.predict(x)).max() < 1e-12
    # a start far from the optimum still ends at it
    far = LogisticModel(("a", "b", "c"), earlier.mean, earlier.scale, np.full(4, 40.0))
    assert np.allclose(LogisticModel.fit(x, y, ("a", "b", "c"), start=far).weights,
                       cold.weights, rtol=0, atol=1e-10)


def test_history_is_ordered_and_labelled_once_per_snapshot_row(con):
    from reports.collections import history

    hist = history(con, data_as_of(con))
    keys = hist.select("as_of_date", "invoice_number")
    assert hist.height and keys.is_unique().all()
    assert keys.rows() == sorted(keys.rows())
    assert set(FEATURES) <= set(hist.columns) and "_row" not in hist.columns
