"""The e-billing platforms' side: submissions, status history, rejections, line adjustments,
appeals and the platform's payment feed."""
from __future__ import annotations

import numpy as np
import polars as pl

from .scales import AS_OF, Scale, rng_for

END = np.datetime64(AS_OF) + np.timedelta64(1, "D") - np.timedelta64(1, "s")

REASONS = {
    "brightflag": {
        "RATE_CAP": "Timekeeper rate exceeds approved rate", "TK_UNAPPROVED": "New Timekeeper",
        "BLOCK_BILLING": "Block billing", "VAGUE": "Vague task description",
        "INCREMENT": "Time not billed in 6-minute increments",
        "TASK_CODE": "Missing or invalid task code",
        "EXPENSE_DISALLOWED": "Non-reimbursable expense",
        "TRAVEL": "Travel time billed above 50% of rate", "LATE": "Late time entry",
        "DUPLICATE": "Duplicate line item", "ADMIN": "Administrative Support Costs",
        "OTHER": "Excessive time",
    },
    "legal_tracker": {
        "RATE_CAP": "Fee - Rate above approved rate", "TK_UNAPPROVED": "Fee - Timekeeper not approved",
        "BLOCK_BILLING": "Fee - Block billing", "VAGUE": "Fee - Vague description",
        "INCREMENT": "Fee - Billing increment", "TASK_CODE": "Fee - Invalid UTBMS code",
        "EXPENSE_DISALLOWED": "Expense - Non-reimbursable",
        "TRAVEL": "Fee - Travel time at full rate", "LATE": "Fee - Billed after deadline",
        "DUPLICATE": "Fee - Duplicate line", "ADMIN": "Fee - Administrative task",
        "OTHER": "Fee - Excessive time",
    },
}
REJECT_TEXT = {
    "brightflag": ["Rejected: invoice includes timekeepers without approved rates",
                   "Rejected: LEDES total does not match the PDF invoice",
                   "Rejected: block billing throughout, please resubmit with itemised entries"],
    "legal_tracker": ["Invoice rejected - Billing period dates incorrect",
                      "Invoice rejected - Missing UTBMS codes on fee lines",
                      "Invoice rejected - Matter budget exceeded, approval required"],
}
ADJUSTERS = {"brightflag": ["Priya Nair", "Tom Fielding"],
             "legal_tracker": ["Grace Okafor", "Martin Hale-Ruiz"]}


def _ts(d: np.datetime64, hours: int, minutes: int) -> np.datetime64:
    return d.astype("datetime64[s]") + np.timedelta64(hours * 3600 + minutes * 60, "s")


def simulate(scale: Scale, seed: int, bills: pl.DataFrame, lines: pl.DataFrame,
             findings: pl.DataFrame, platform_of_client: dict[int, str]) -> dict[str, pl.DataFrame]:
    """Run every e-billed invoice through its platform up to the as-of date.

    ``findings``: the OCG findings (bill, line_number, code, amount_c) a reviewer acts on.
    Returns the five e-billing tables plus ``outcome`` (bill, paid_at, paid_c, writeoff_c).
    """
    rng = rng_for(seed, "ebilling")
    eb = bills.filter(pl.col("ebilled")).sort("bill")
    n = eb.height
    inv_date = eb["invoice_date"].to_numpy().astype("datetime64[D]")
    # rejected at least once: earlier invoices, spread over the period
    old_enough = np.flatnonzero(inv_date <= np.datetime64(AS_OF) - np.timedelta64(25, "D"))
    rej = np.zeros(n, bool)
    if old_enough.size:
        rej[rng.choice(old_enough, min(scale.rejections, old_enough.size), replace=False)] = True
    # which findings the reviewer turns into adjustments: one per line, largest amount
    adj_src = (findings.filter(pl.col("amount_c").is_not_null() & (pl.col("amount_c") > 0))
               .sort(["bill", "line_number", "amount_c", "code"], descending=[False, False, True, False])
               .unique(subset=["bill", "line_number"], keep="first", maintain_order=True))
    fl = lines.join(eb.select("bill"), on="bill", maintain_order="left").filter(pl.col("kind") == "F")
    flagged = adj_src.select("bill", "line_number")
    extra = fl.join(flagged, on=["bill", "line_number"], how="anti", maintain_order="left")
    extra = extra.filter(pl.Series(rng.random(extra.height) < 0.01))
    extra = extra.with_columns(
        code=pl.lit("OTHER"),
        amount_c=(pl.col("total_c") * pl.Series(rng.integers(10, 26, extra.height)) // 100))
    adj_all = pl.concat([adj_src.select("bill", "line_number", "code", "amount_c"),
                         extra.select("bill", "line_number", "code", "amount_c")])
    adj_by_bill: dict[int, list[tuple[int, str, int, str]]] = {}
    adj_all = adj_all.join(lines.select("bill", "line_number", "kind"),
                           on=["bill", "line_number"], how="left", maintain_order="left")
    for b, ln, code, a, k in adj_all.sort(["bill", "line_number"]).iter_rows():
        adj_by_bill.setdefault(b, []).append((ln, code, a, k or "F"))

    inv_rows, hist, adjs, appeals, pays, outcome = [], [], [], [], [], []
    u = rng.random((n, 12))
    for i, row in enumerate(eb.iter_rows(named=True)):
        plat = platform_of_client[row["client"]]
        b = row["bill"]
        events: list[tuple[np.datetime64, str, str | None, str | None]] = []
        t = _ts(inv_date[i] + 1, 13, int(u[i, 0] * 240))
        events.append((t, "Submitted", None, None))
        status_open = True
        if rej[i]:
            t = t + np.timedelta64(int(3 + u[i, 1] * 7), "D")
            events.append((t, "Rejected", REJECT_TEXT[plat][int(u[i, 2] * 3)], None))
            t_res = t + np.timedelta64(int(2 + u[i, 3] * 5), "D")
            if u[i, 4] < 0.25 or t_res > END:
                status_open = False
            else:
                t = t_res
                events.append((t, "Submitted", None, "Resubmitted with corrections"))
        approved_c = None
        paid_c = 0
        paid_at = None
        if status_open:
            t_app = t + np.timedelta64(int(4 + u[i, 5] * 21), "D")
            if t_app <= END:
                events.append((t_app, "Approved", None, None))
                approved_c = row["total_c"]
                recovered = 0
                appealed_at = None
                last_decision = t_app
                for j, (ln, code, a, k) in enumerate(adj_by_bill.get(b, [])):
                    adj_id = len(adjs) + 1
                    adjs.append({
                        "id": adj_id, "invoiceId": i + 1, "invoiceNumber": row["number"],
                        "lineItemNumber": str(ln), "type": "expense" if k == "E" else "fee",
                        "amount_c": -a, "reason": REASONS[plat][code],
                        "adjusterName": ADJUSTERS[plat][j % 2], "dateTime": t_app,
                        "lastModified": t_app})
                    approved_c -= a
                    if rng.random() < 0.4:
                        t_ap = t_app + np.timedelta64(int(2 + rng.random() * 7), "D")
                        if t_ap > END:
                            continue
                        appealed_at = appealed_at or t_ap
                        r = rng.random()
                        t_dec = t_ap + np.timedelta64(int(5 + rng.random() * 10), "D")
                        outcome_s = "pending" if (r < 0.15 or t_dec > END) else (
                            "granted" if r < 0.65 else "denied")
                        rec = a if outcome_s == "granted" else 0
                        recovered += rec
                        if outcome_s != "pending":
                            last_decision = max(last_decision, t_dec)
                        appeals.append({
                            "id": len(appeals) + 1, "invoiceId": i + 1,
                            "invoiceNumber": row["number"], "adjustmentId": adj_id,
                            "submittedAt": t_ap, "outcome": outcome_s, "amountRecovered_c": rec,
                            "lastModified": t_dec if outcome_s != "pending" else t_ap})
                if appealed_at is not None:
                    events.append((appealed_at, "Appealed", None,
                                   "Firm appealed line adjustments"))
                t_pay = last_decision + np.timedelta64(int(15 + u[i, 6] * 30), "D")
                if t_pay <= END:
                    paid_c = approved_c + recovered
                    paid_at = t_pay.astype("datetime64[D]")
                    events.append((t_pay, "Paid", None, None))
                    pays.append({
                        "paymentNumber": f"{'BF' if plat == 'brightflag' else 'LT'}-P{i + 1:07d}",
                        "invoiceNumber": row["number"], "paymentDate": paid_at, "amount_c": paid_c,
                        "currency": row["currency"], "status": "Paid", "lastModified": t_pay})
        events.sort(key=lambda x: x[0])
        for (at, st, reason, comment) in events:
            hist.append({"invoiceId": i + 1, "invoiceNumber": row["number"], "status": st,
                         "at": at, "reasonText": reason, "comment": comment, "lastModified": at})
        last = events[-1]
        inv_rows.append({
            "invoiceId": i + 1, "invoiceNumber": row["number"], "platform": plat,
            "firmClientId": row["client_code"], "lawFirmMatterId": row["matter_number"],
            "clientMatterId": row["client_reference"], "invoiceDate": inv_date[i],
            "submittedAt": events[0][0], "status": last[1], "statusAt": last[0],
            "currency": row["currency"], "submittedTotal_c": row["total_c"],
            "approvedTotal_c": approved_c, "lastModified": last[0]})
        outcome.append({"bill": b, "paid_at": paid_at, "paid_c": paid_c,
                        "rejected": bool(rej[i])})
    ts = pl.Datetime("us", "UTC")

    def frame(rows: list[dict], schema: dict) -> pl.DataFrame:
        cols = {}
        for k, t in schema.items():
            vals = [r[k] for r in rows]
            if t == ts:
                arr = np.array(vals, dtype="datetime64[us]") if rows else np.array([], "datetime64[us]")
                cols[k] = pl.Series(k, arr).dt.replace_time_zone("UTC")
            elif t == pl.Date:
                cols[k] = pl.Series(k, np.array([v if v is not None else np.datetime64("NaT")
                                                 for v in vals], dtype="datetime64[D]"), dtype=pl.Date)
            else:
                cols[k] = pl.Series(k, [None if v is None else (int(v) if isinstance(v, np.integer) else v)
                                        for v in vals], dtype=t)
        return pl.DataFrame(cols)

    invoices = frame(inv_rows, {
        "invoiceId": pl.Int64, "invoiceNumber": pl.String, "platform": pl.String,
        "firmClientId": pl.String, "lawFirmMatterId": pl.String, "clientMatterId": pl.String,
        "invoiceDate": pl.Date, "submittedAt": ts, "status": pl.String, "statusAt": ts,
        "currency": pl.String, "submittedTotal_c": pl.Int64, "approvedTotal_c": pl.Int64,
        "lastModified": ts})
    history = frame(hist, {
        "invoiceId": pl.Int64, "invoiceNumber": pl.String, "status": pl.String, "at": ts,
        "reasonText": pl.String, "comment": pl.String, "lastModified": ts})
    history = history.sort(["invoiceId", "at"]).with_row_index("id", offset=1).with_columns(
        pl.col("id").cast(pl.Int64))
    adjustments = frame(adjs, {
        "id": pl.Int64, "invoiceId": pl.Int64, "invoiceNumber": pl.String,
        "lineItemNumber": pl.String, "type": pl.String, "amount_c": pl.Int64, "reason": pl.String,
        "adjusterName": pl.String, "dateTime": ts, "lastModified": ts})
    appeal_df = frame(appeals, {
        "id": pl.Int64, "invoiceId": pl.Int64, "invoiceNumber": pl.String,
        "adjustmentId": pl.Int64, "submittedAt": ts, "outcome": pl.String,
        "amountRecovered_c": pl.Int64, "lastModified": ts})
    payments = frame(pays, {
        "paymentNumber": pl.String, "invoiceNumber": pl.String, "paymentDate": pl.Date,
        "amount_c": pl.Int64, "currency": pl.String, "status": pl.String, "lastModified": ts})
    out = frame(outcome, {"bill": pl.Int64, "paid_at": pl.Date, "paid_c": pl.Int64,
                          "rejected": pl.Boolean})
    return {"invoices": invoices, "status_history": history, "adjustments": adjustments,
            "appeals": appeal_df, "payments": payments, "outcome": out}
