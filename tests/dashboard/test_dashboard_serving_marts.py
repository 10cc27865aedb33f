"""The pages that read the serving pre-aggregates (dbt_project/models/marts/serving) answer
exactly what the detailed marts give, for the firm and for a partner's scope."""
from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from dashboards import queries as q

PARTNER = "NY-TK0001"


def _sql(db, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _money(v) -> Decimal:
    return Decimal(str(v or 0)).quantize(Decimal("0.01"))


@pytest.mark.parametrize("scope", [q.Scope("finance"), q.Scope("partner", PARTNER)])
def test_variance_by_month_and_partner_equal_the_detailed_mart(serving_db, scope):
    cond = "where billing_partner_timekeeper_id = ?" if scope.is_partner else ""
    params = [PARTNER] if scope.is_partner else []
    for by, key in (("month", "month"), ("partner", "billing_partner_timekeeper_id")):
        want = {k: (_money(i), _money(s), _money(v), _money(t)) for k, i, s, v, t in _sql(
            serving_db, f"select {key}, sum(invoice_usd), sum(sales_amount_usd), "
                        f"sum(variance_usd), sum(timing_usd) "
                        f"from marts.fct_sales_variance_monthly {cond} group by 1", params)}
        got = {r["key"]: (_money(r["invoice_usd"]), _money(r["sales_usd"]),
                          _money(r["variance_usd"]), _money(r["timing_usd"]))
               for r in q.variance_breakdown(serving_db, scope, q.Filters(), by)}
        assert want and got == want
    months = sorted(k for (k,) in _sql(serving_db, "select distinct month from "
                                                   "marts.fct_sales_variance_monthly"))
    for month in (None, months[-1]):
        wf = q.variance_waterfall(serving_db, scope, q.Filters(), month)
        extra = (" and " if cond else "where ") + "month = ?" if month else ""
        (inv, var), = _sql(serving_db, "select coalesce(sum(invoice_usd), 0), "
                                       "coalesce(sum(variance_usd), 0) from "
                                       f"marts.fct_sales_variance_monthly {cond}{extra}",
                           params + ([month] if month else []))
        assert _money(wf["invoice_usd"]) == inv and _money(wf["variance_usd"]) == var
        assert wf["causes_add_up"]


@pytest.mark.parametrize("scope", [q.Scope("finance"), q.Scope("partner", PARTNER)])
def test_aging_equals_fct_ar_aging(serving_db, scope):
    cond = " and billing_partner_timekeeper_id = ?" if scope.is_partner else ""
    params = [PARTNER] if scope.is_partner else []
    (as_of,), = _sql(serving_db, "select max(as_of_date) from marts.fct_ar_aging")
    want = {(c, b): _money(v) for c, b, v in _sql(
        serving_db, "select client_code, aging_bucket_due_date, sum(open_amount_usd) "
                    f"from marts.fct_ar_aging where as_of_date = ?{cond} group by all",
        [as_of, *params])}
    got = q.aging_buckets(serving_db, scope, q.Filters(), "client")
    assert got["as_of"] == as_of.isoformat() and want
    assert {(r["key"], r["bucket"]): _money(r["open_usd"]) for r in got["rows"]} == want
    trend = {(r["as_of_date"], r["bucket"]): _money(r["open_usd"])
             for r in q.aging_trend(serving_db, scope, q.Filters())}
    assert trend == {(d.isoformat(), b): _money(v) for d, b, v in _sql(
        serving_db, "select as_of_date, aging_bucket_due_date, sum(open_amount_usd) from "
                    "marts.fct_ar_aging where as_of_date = last_day(as_of_date)" + cond
                    + " group by all", params)}


def test_invoice_subtotal_tie_out_equals_the_join_of_invoices_and_lines(serving_db):
    (n,), = _sql(serving_db, """
        select count(*) from (select i.invoice_number from marts.fct_invoices i
        left join marts.fct_invoice_lines l using (invoice_number) where not i.is_void
        group by i.invoice_number, i.subtotal_amount
        having i.subtotal_amount - coalesce(sum(l.line_total), 0) <> 0)""")
    check = next(c for c in q.tie_outs(serving_db, q.Scope("finance"), q.Filters())
                 if c["check"] == "Invoice subtotal = Σ lines")
    assert check["exceptions"] == n
    (m,), = _sql(serving_db, "select count(*) from marts.srv_invoice_line_totals")
    (k,), = _sql(serving_db, "select count(*) from marts.fct_invoices")
    assert m == k > 0
