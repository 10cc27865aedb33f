"""Shape the firm's records as each source system serves them (Clio, Actionstep, e-billing)."""
from __future__ import annotations

import numpy as np
import polars as pl

from .money import dec
from .people import RATE_DATES
from .schema import TABLES

TK_ID0 = 1001          # Clio user ids / Actionstep participant ids of timekeepers
CLIENT_ID0 = 20001     # Clio contact ids / Actionstep participant ids of clients
MATTER_ID0 = 30001
BILL_ID0 = 50001
AS_STAMP_FMT = "%Y-%m-%dT%H:%M:%S+00:00"


def _at(day: pl.Expr, hour: int, minute: int | pl.Expr = 0) -> pl.Expr:
    return (day.cast(pl.Datetime("us")) + pl.duration(hours=hour, minutes=minute)).dt.replace_time_zone("UTC")


def bill_created_at(bill: pl.Expr, invoice_date: pl.Expr, office: pl.Expr) -> pl.Expr:
    """When a bill (and its lines) was created: each office's billing run starts at 09:00 on
    the invoice date and writes one bill per second, in bill order. (One instant for every
    bill of a run would give hundreds of thousands of line items the same ``updated_at`` at
    large scale, which no real billing run does, and every incremental ``updated_since`` run
    would receive them all again.) Use in ``with_columns`` of a frame holding every bill."""
    seq = bill.rank("ordinal").over([invoice_date, office]) - 1
    return _at(invoice_date, 9) + pl.duration(seconds=seq)


def _as_text(ts: pl.Expr) -> pl.Expr:
    return ts.dt.strftime(AS_STAMP_FMT)


def _tf(b: pl.Expr) -> pl.Expr:
    return pl.when(b).then(pl.lit("T")).otherwise(pl.lit("F"))


def conform(df: pl.DataFrame | pl.LazyFrame, key: str) -> pl.DataFrame:
    t = TABLES[key]
    out = df.select([pl.col(c).cast(dt) for c, dt in t.columns]).sort(t.primary_key)
    return out.collect() if isinstance(out, pl.LazyFrame) else out


def shape(tks: pl.DataFrame, eff: np.ndarray, rates: np.ndarray, cl: pl.DataFrame,
          md: pl.DataFrame, entries: pl.DataFrame, bills: pl.DataFrame, lines: pl.DataFrame,
          receipts: pl.DataFrame, write_offs: pl.DataFrame, calendar: pl.DataFrame
          ) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    stamp = pl.lit("2024-01-02 09:00:00").str.to_datetime().dt.replace_time_zone("UTC")
    current = np.array([r[r > 0][-1] for r in rates]) * 100
    tk = tks.with_columns(uid=pl.col("tk") + TK_ID0, rate_c=pl.Series(current))
    office_of_tk = tks["office"].to_numpy()

    # ---- people and rates
    nyc_tk = tk.filter(pl.col("office") == "NYC")
    out["clio.users"] = conform(nyc_tk.select(
        id="uid", name="name", first_name="first_name", last_name="last_name", email="email",
        timekeeper_id="timekeeper_id", classification="classification",
        subscription_type=pl.when("is_attorney").then(pl.lit("Attorney")).otherwise(pl.lit("NonAttorney")),
        rate=dec(pl.col("rate_c")), enabled=pl.lit(True), created_at=stamp,
        updated_at=_at(pl.lit(RATE_DATES[-1]), 9) - pl.duration(days=30)), "clio.users")
    k = np.arange(len(RATE_DATES))
    ti, ki = np.nonzero(rates > 0)
    rt = pl.DataFrame({"tk": ti, "k": ki, "rate_c": rates[ti, ki] * 100,
                       "eff": eff[ki]}).with_columns(office=pl.Series(office_of_tk[ti]))
    rt = rt.sort(["tk", "k"]).with_row_index("rid", offset=1)
    del k
    rate_cols = {"rate": dec(pl.col("rate_c")), "upd": _at(pl.col("eff"), 9) - pl.duration(days=30)}
    r_nyc = rt.filter(pl.col("office") == "NYC").with_columns(**rate_cols)
    out["clio.activity_rates"] = conform(r_nyc.select(
        id="rid", user__id=pl.col("tk") + TK_ID0, rate="rate", effective_date="eff",
        updated_at="upd"), "clio.activity_rates")
    r_ldn = rt.filter(pl.col("office") == "LDN").with_columns(**rate_cols)
    out["actionstep.rates"] = conform(r_ldn.select(
        id="rid", links__owner=pl.col("tk") + TK_ID0, rate="rate", effectiveDate="eff",
        modifiedTimestamp=_as_text(pl.col("upd"))), "actionstep.rates")

    # ---- clients
    c = cl.with_columns(cid=pl.col("client") + CLIENT_ID0)
    out["clio.contacts"] = conform(c.filter(pl.col("office") == "NYC").select(
        id="cid", name="name", type=pl.lit("Company"), is_client=pl.lit(True),
        client_code="client_code", ledes_client_id="client_code", currency="currency",
        ebilling_platform="ebilling_platform", payment_terms_days="payment_terms_days",
        updated_at=stamp), "clio.contacts")
    ldn_tk = tk.filter(pl.col("office") == "LDN").select(
        id="uid", displayName="name", firstName="first_name", lastName="last_name",
        email="email", isCompany=pl.lit("F"), isClient=pl.lit("F"), isTimekeeper=pl.lit("T"),
        timekeeperId="timekeeper_id", classification="classification",
        clientCode=pl.lit(None, pl.String), ledesClientId=pl.lit(None, pl.String),
        currency=pl.lit(None, pl.String), ebillingPlatform=pl.lit(None, pl.String),
        paymentTermsDays=pl.lit(None, pl.Int64), modifiedTimestamp=_as_text(stamp))
    ldn_cl = c.filter(pl.col("office") == "LDN").select(
        id="cid", displayName="name", firstName=pl.lit(None, pl.String),
        lastName=pl.lit(None, pl.String), email=pl.lit(None, pl.String), isCompany=pl.lit("T"),
        isClient=pl.lit("T"), isTimekeeper=pl.lit("F"), timekeeperId=pl.lit(None, pl.String),
        classification=pl.lit(None, pl.String), clientCode="client_code",
        ledesClientId="client_code", currency="currency", ebillingPlatform="ebilling_platform",
        paymentTermsDays="payment_terms_days", modifiedTimestamp=_as_text(stamp))
    out["actionstep.participants"] = conform(pl.concat([ldn_tk, ldn_cl]), "actionstep.participants")

    # ---- matters
    m = md.with_columns(mid=pl.col("matter") + MATTER_ID0,
                        upd=_at(pl.col("open_date"), 10))
    m = m.with_columns(upd=pl.when(pl.col("close_date").is_not_null())
                       .then(_at(pl.col("close_date"), 10)).otherwise(pl.col("upd")))
    out["clio.matters"] = conform(m.filter(pl.col("office") == "NYC").select(
        id="mid", display_number="matter_number", description="description",
        status=pl.when("active").then(pl.lit("Open")).otherwise(pl.lit("Closed")),
        billing_method=pl.when("flat").then(pl.lit("flat")).otherwise(pl.lit("hourly")),
        flat_fee=pl.when("flat").then(dec(pl.col("flat_fee_c"))).otherwise(None),
        billable=pl.lit(True), open_date="open_date", close_date="close_date",
        client_reference="client_reference", practice_area="practice_area",
        client__id=pl.col("client") + CLIENT_ID0,
        responsible_attorney__id=pl.col("responsible_tk") + TK_ID0,
        originating_attorney__id=pl.col("billing_tk") + TK_ID0, updated_at="upd"), "clio.matters")
    out["actionstep.actions"] = conform(m.filter(pl.col("office") == "LDN").select(
        id="mid", name="description", reference="matter_number",
        status=pl.when("active").then(pl.lit("Active")).otherwise(pl.lit("Closed")),
        billingMethod=pl.when("flat").then(pl.lit("fixed")).otherwise(pl.lit("hourly")),
        fixedFee=pl.when("flat").then(dec(pl.col("flat_fee_c"))).otherwise(None),
        isBillableOverride=pl.lit("T"), theirReference="client_reference",
        practiceArea="practice_area", createdTimestamp=_as_text(_at(pl.col("open_date"), 10)),
        modifiedTimestamp=_as_text(pl.col("upd")),
        links__primaryParticipants=pl.col("client") + CLIENT_ID0,
        links__assignedTo=pl.col("responsible_tk") + TK_ID0,
        links__billingPartner=pl.col("billing_tk") + TK_ID0), "actionstep.actions")

    # ---- bills
    bsel = bills.with_columns(
        bid=pl.col("bill") + BILL_ID0, office=pl.col("office"),
        created=bill_created_at(pl.col("bill"), pl.col("invoice_date"), pl.col("office")),
        upd=_at(pl.col("last_event"), 18),
    )
    money = {"m_total": dec(pl.col("total_c")), "m_paid": dec(pl.col("paid_c")),
             "m_due": dec(pl.col("due_c")), "m_pct": dec(pl.col("pct") * 100)}
    bsel = bsel.with_columns(**money)
    out["clio.bills"] = conform(bsel.filter(pl.col("office") == "NYC").select(
        id="bid", number="number", issued_at="invoice_date", due_at="due", start_at="start",
        end_at="end", state=pl.when(pl.col("due_c") == 0).then(pl.lit("paid"))
        .otherwise(pl.lit("awaiting_payment")), type=pl.lit("MatterBill"), sub_total="m_total",
        tax_sum=dec(pl.lit(0)), total="m_total", paid="m_paid", due="m_due", balance="m_due",
        currency="currency", split_percentage="m_pct", client__id=pl.col("payer") + CLIENT_ID0,
        matter__id=pl.col("matter") + MATTER_ID0, created_at="created", updated_at="upd"),
        "clio.bills")
    out["actionstep.bills"] = conform(bsel.filter(pl.col("office") == "LDN").select(
        id="bid", ourReference="number",
        status=pl.when(pl.col("due_c") == 0).then(pl.lit("Closed")).otherwise(pl.lit("Open")),
        currency="currency", invoiceDate="invoice_date", dueDate="due", billingStartDate="start",
        billingEndDate="end", totalExclusive="m_total", totalSalesTax=dec(pl.lit(0)),
        totalInclusive="m_total", totalPaid="m_paid", totalDue="m_due", splitPercentage="m_pct",
        links__action=pl.col("matter") + MATTER_ID0,
        links__theirParticipant=pl.col("payer") + CLIENT_ID0,
        modifiedTimestamp=_as_text(pl.col("upd"))), "actionstep.bills")

    # ---- activities / time entries / disbursements
    primary = bills.filter(pl.col("part") == 0).select("matter", "bill_month", bid=pl.col("bill") + BILL_ID0)
    e = (entries.lazy()
         .join(primary.lazy(), on=["matter", "bill_month"], how="left", maintain_order="left")
         .join(md.lazy().select("matter", "office"), on="matter", how="left", maintain_order="left")
         ).with_columns(
        bid=pl.when("billed").then(pl.col("bid")).otherwise(None),
        value_c=pl.col("units_x100") * pl.col("price_c") // 100,
    )
    created_day = pl.when(pl.col("plant") == "LATE").then(pl.col("invoice_date") - pl.duration(days=2)) \
        .otherwise(pl.col("date") + pl.duration(days=pl.col("created_lag")))
    e = e.with_columns(created=_at(created_day, 17, pl.col("minute") % 180))
    e = e.with_columns(upd=pl.when(pl.col("billed"))
                       .then(pl.max_horizontal(pl.col("created"), _at(pl.col("invoice_date"), 9)))
                       .otherwise(pl.col("created")))
    is_f = pl.col("kind") == "F"
    nyc_e = e.filter(pl.col("office") == "NYC")
    out["clio.activities"] = conform(nyc_e.select(
        id="eid", etag=((pl.col("eid") * 2654435761) % 4294967296).cast(pl.String),
        type=pl.when(is_f).then(pl.lit("TimeEntry")).otherwise(pl.lit("ExpenseEntry")),
        date="date",
        quantity=pl.when(is_f).then(pl.col("units_x100") * 36).otherwise(pl.col("units_x100") // 100)
        .cast(pl.Decimal(18, 4)),
        quantity_in_hours=pl.when(is_f).then(dec(pl.col("units_x100"), 2)).otherwise(None),
        price=dec(pl.col("price_c")), total=dec(pl.col("value_c")), note="narrative",
        non_billable="non_billable", no_charge="no_charge",
        status=pl.when("billed").then(pl.lit("billed")).when("written_off")
        .then(pl.lit("written_off")).otherwise(pl.lit("unbilled")),
        utbms_task__code="task", utbms_activity__code="activity",
        utbms_expense__code="expense_code", matter__id=pl.col("matter") + MATTER_ID0,
        user__id=pl.col("tk") + TK_ID0, bill__id="bid", created_at="created", updated_at="upd"),
        "clio.activities")
    ldn_e = e.filter(pl.col("office") == "LDN")
    behavior = (pl.when("non_billable").then(pl.lit("Hide"))
                .when(pl.col("no_charge") | pl.col("written_off")).then(pl.lit("No charge"))
                .otherwise(pl.lit("Bill")))
    out["actionstep.timeentries"] = conform(ldn_e.filter(is_f).select(
        id="eid", timestampDate="date", description="narrative",
        actualHours=dec(pl.col("units_x100"), 2), billableHours=dec(pl.col("units_x100"), 2),
        billingBehavior=behavior, rateUnitPrice=dec(pl.col("price_c")),
        billableAmount=pl.when(behavior == "Bill").then(dec(pl.col("value_c"))).otherwise(dec(pl.lit(0))),
        isBillable=_tf(~pl.col("non_billable")), links__action=pl.col("matter") + MATTER_ID0,
        links__owner=pl.col("tk") + TK_ID0, links__utbmsTaskCode="task",
        links__utbmsActivityCode="activity", links__bill="bid",
        modifiedTimestamp=_as_text(pl.col("upd"))), "actionstep.timeentries")
    out["actionstep.disbursements"] = conform(ldn_e.filter(~is_f).select(
        id="eid", date="date", description="narrative",
        quantity=(pl.col("units_x100") // 100).cast(pl.Decimal(18, 4)),
        unitPrice=dec(pl.col("price_c")), amount=dec(pl.col("value_c")),
        links__action=pl.col("matter") + MATTER_ID0, links__utbmsExpenseCode="expense_code",
        links__bill="bid", modifiedTimestamp=_as_text(pl.col("upd"))), "actionstep.disbursements")

    # ---- bill lines
    # a bill's lines are written with the bill, at its creation instant in the billing run
    ln = lines.lazy().join(bsel.lazy().select("bill", "office", "created"), on="bill",
                           maintain_order="left").with_columns(
        upd=pl.col("created"),
        qty=pl.when(pl.col("kind") == "F").then(dec(pl.col("units_x100"), 2))
        .otherwise(dec(pl.col("units_x100"), 2)).cast(pl.Decimal(18, 4)))
    out["clio.line_items"] = conform(ln.filter(pl.col("office") == "NYC").select(
        id="line_id", bill__id=pl.col("bill") + BILL_ID0, activity__id="eid",
        matter__id=pl.col("matter") + MATTER_ID0, user__id=pl.col("tk") + TK_ID0,
        type=pl.when(pl.col("eid").is_null()).then(pl.lit("LineItem")).otherwise(pl.lit("ActivityLineItem")),
        kind=pl.when(pl.col("kind") == "F").then(pl.lit("Service")).otherwise(pl.lit("Expense")),
        line_number="line_number", date="date", description="narrative", quantity="qty",
        price=dec(pl.col("price_c")), discount=dec(pl.col("discount_c")),
        total=dec(pl.col("total_c")), updated_at="upd"), "clio.line_items")
    out["actionstep.billlines"] = conform(ln.filter(pl.col("office") == "LDN").select(
        id="line_id", links__bill=pl.col("bill") + BILL_ID0,
        links__timeentry=pl.when(pl.col("kind") == "F").then(pl.col("eid")).otherwise(None),
        links__disbursement=pl.when(pl.col("kind") == "E").then(pl.col("eid")).otherwise(None),
        lineNumber="line_number", lineType="kind", date="date", description="narrative",
        quantity="qty", unitPrice=dec(pl.col("price_c")), adjustment=dec(pl.col("discount_c")),
        amount=dec(pl.col("total_c")), modifiedTimestamp=_as_text(pl.col("upd"))),
        "actionstep.billlines")

    # ---- receipts and write-offs
    rc = receipts.with_row_index("rid", offset=1).join(
        bills.select("bill", "office", "payer"), on="bill", maintain_order="left").with_columns(upd=_at(pl.col("date"), 18))
    out["clio.allocations"] = conform(rc.filter(pl.col("office") == "NYC").select(
        id="rid", date="date", amount=dec(pl.col("amount_c")), payment_type="payment_type",
        voided_at=pl.lit(None, pl.Datetime("us", "UTC")), bill__id=pl.col("bill") + BILL_ID0,
        contact__id=pl.col("payer") + CLIENT_ID0, updated_at="upd"), "clio.allocations")
    out["actionstep.receipts"] = conform(rc.filter(pl.col("office") == "LDN").select(
        id="rid", date="date", amount=dec(pl.col("amount_c")), links__bill=pl.col("bill") + BILL_ID0,
        modifiedTimestamp=_as_text(pl.col("upd"))), "actionstep.receipts")
    wo = write_offs.with_row_index("wid", offset=1).join(
        bills.select("bill", "office"), on="bill", maintain_order="left").with_columns(upd=_at(pl.col("date"), 18))
    out["clio.credit_memos"] = conform(wo.filter(pl.col("office") == "NYC").select(
        id="wid", date="date", amount=dec(pl.col("amount_c")), reason="reason",
        bill__id=pl.col("bill") + BILL_ID0, updated_at="upd"), "clio.credit_memos")
    out["actionstep.writeoffs"] = conform(wo.filter(pl.col("office") == "LDN").select(
        id="wid", date="date", amount=dec(pl.col("amount_c")), reason="reason",
        links__bill=pl.col("bill") + BILL_ID0, modifiedTimestamp=_as_text(pl.col("upd"))),
        "actionstep.writeoffs")
    out["clio.calendar_entries"] = conform(calendar.select(
        id="cid", summary="summary", start_at="start_at", end_at="end_at",
        matter__id=pl.when(pl.col("matter").is_not_null()).then(pl.col("matter") + MATTER_ID0),
        calendar_owner__id=pl.col("tk") + TK_ID0, updated_at="start_at"), "clio.calendar_entries")
    return out


def shape_ebilling(eb: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    inv = eb["invoices"].with_columns(submittedTotal=dec(pl.col("submittedTotal_c")),
                                      approvedTotal=dec(pl.col("approvedTotal_c")))
    adj = eb["adjustments"].with_columns(amount=dec(pl.col("amount_c")))
    ap = eb["appeals"].with_columns(amountRecovered=dec(pl.col("amountRecovered_c")))
    pay = eb["payments"].with_columns(amount=dec(pl.col("amount_c")))
    return {
        "ebilling.invoices": conform(inv, "ebilling.invoices"),
        "ebilling.status_history": conform(eb["status_history"], "ebilling.status_history"),
        "ebilling.adjustments": conform(adj, "ebilling.adjustments"),
        "ebilling.appeals": conform(ap, "ebilling.appeals"),
        "ebilling.payments": conform(pay, "ebilling.payments"),
    }
