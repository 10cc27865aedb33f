"""Collections worklist ranked by payment likelihood, learned from the firm's own history.

The question a billing partner asks: of my open invoices, which will be paid soon without
help, and which need chasing? The score is the probability that an open invoice is paid
(payments covering at least 90% of its open balance) within ``HORIZON_DAYS`` days.

History: weekly snapshots of open AR from the warehouse's aging table macro
(``marts.ar_aging_as_of(date)``), each labelled by the payments that followed. Features are
computed as of the snapshot date only (no look-ahead): days past due (buckets), open amount
(USD, log), part-paid already, e-billing status and rejections so far, and the client's own
payment record up to that date (mean days to pay, share paid after the due date, invoices
paid). A logistic regression (L2, Newton/IRLS in numpy) is fitted on the earlier snapshots and
scored on the later ones (time split) to report ROC AUC on held-out history, beside the AUC
of days past due alone as a baseline. The final model is refitted on all labelled history and
scores the warehouse's collections worklist (``fct_collections_worklist``).

Each row carries its reasons (the features pulling its score down or up most, in words), a
dunning stage, the recommended next step and who it escalates to.
"""
from __future__ import annotations

import math
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import numpy as np
import polars as pl

from reports.marts import Source, open_marts

HORIZON_DAYS = 30
SNAPSHOT_EVERY_DAYS = 7
PAID_SHARE = 0.9
TRAIN_SHARE = 0.7
RIDGE = 1.0
STATUSES = ("Submitted", "Rejected", "Appealed", "Approved")
BUCKETS = (("not_due", None, 0), ("past_1_30", 1, 30), ("past_31_60", 31, 60),
           ("past_61_90", 61, 90), ("past_91_plus", 91, None))

FEATURES: tuple[str, ...] = (
    *(b[0] for b in BUCKETS[1:]),
    "log_open_usd", "part_paid", "ebilled",
    *(f"status_{s.lower()}" for s in STATUSES),
    "rejections", "client_mean_days_to_pay", "client_late_share", "client_log_paid_invoices",
)

LABELS = {
    "past_1_30": "1-30 days past due", "past_31_60": "31-60 days past due",
    "past_61_90": "61-90 days past due", "past_91_plus": "more than 90 days past due",
    "log_open_usd": "balance size", "part_paid": "already part-paid",
    "ebilled": "e-billed", "status_submitted": "awaiting approval on the e-billing platform",
    "status_rejected": "rejected on the e-billing platform",
    "status_appealed": "under appeal on the e-billing platform",
    "status_approved": "approved on the e-billing platform",
    "rejections": "rejections so far", "client_mean_days_to_pay": "client's days to pay",
    "client_late_share": "client's share of late payments",
    "client_log_paid_invoices": "client's payment record",
}


class CollectionsError(RuntimeError):
    """The worklist cannot be scored; the message says why."""


# ---------------------------------------------------------------------------- the model
@dataclass
class LogisticModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # intercept first
    iterations: int = 0

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, features: tuple[str, ...], ridge: float = RIDGE,
            max_iter: int = 50) -> LogisticModel:
        """L2-regularised logistic regression by Newton's method (IRLS)."""
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
        w = np.zeros(z.shape[1])
        penalty = np.full(z.shape[1], ridge)
        penalty[0] = 0.0
        it = 0
        for it in range(1, max_iter + 1):
            p = _sigmoid(z @ w)
            grad = z.T @ (p - y) + penalty * w
            hess = _gram(z, p * (1 - p)) + np.diag(penalty) + 1e-9 * np.eye(len(w))
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.max(np.abs(step)) < 1e-8:
                break
        return cls(features, mean, scale, w, it)

    def standardised(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale

    def predict(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(self.weights[0] + self.standardised(x) @ self.weights[1:])

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per row and feature: the change in log-odds against an average invoice."""
        return self.standardised(x) * self.weights[1:]


GRAM_BLOCK = 1024


def _gram(z: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``(z * weight[:, None]).T @ z``, summed over blocks of ``GRAM_BLOCK`` rows: one large
    product makes OpenBLAS start a thread per core, and on a shared, loaded machine those
    threads wait on each other (2 s for a 66,000 x 17 product, against 10 ms in blocks small
    enough to stay on one thread)."""
    k = z.shape[1]
    out = np.zeros((k, k))
    for lo in range(0, len(z), GRAM_BLOCK):
        block = z[lo:lo + GRAM_BLOCK]
        out += (block * weight[lo:lo + GRAM_BLOCK, None]).T @ block
    return out


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(v, -35, 35)))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Probability a random positive outranks a random negative (ties count half)."""
    y = np.asarray(y).astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return None
    score = np.asarray(score)
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    # average ranks over ties: a run of equal scores at sorted positions i..j gets (i+j)/2 + 1
    first = np.concatenate([[True], sorted_scores[1:] != sorted_scores[:-1]])
    starts = np.flatnonzero(first)
    ends = np.concatenate([starts[1:], [len(score)]]) - 1
    ranks = np.empty(len(score))
    ranks[order] = ((starts + ends) / 2 + 1)[np.cumsum(first) - 1]
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


# ---------------------------------------------------------------------------- the data
def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
           ) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())  # type: ignore[return-value]


def _has_aging_macro(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute("select count(*) from duckdb_functions() where schema_name = 'marts' "
                       "and function_name = 'ar_aging_as_of'").fetchall()
    return bool(rows[0][0])


def data_as_of(con: duckdb.DuckDBPyConnection) -> date:
    row = con.execute("select max(as_of_date) from marts.fct_collections_worklist").fetchall()[0]
    if row and row[0]:
        return row[0]
    row = con.execute("select max(as_of_date) from marts.fct_ar_aging").fetchall()[0]
    if not row or not row[0]:
        raise CollectionsError("the warehouse has no AR aging rows")
    return row[0]


def snapshots(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """Open AR at weekly dates whose payment horizon is fully observed (or month-ends from
    fct_ar_aging when the warehouse has no aging macro)."""
    first = con.execute("select min(invoice_date) from marts.fct_invoices").fetchall()[0][0]
    last = as_of - timedelta(days=HORIZON_DAYS)
    if first is None or last <= first:
        return pl.DataFrame()
    cols = ("as_of_date, invoice_number, client_code, days_past_due, ebilling_status, "
            "open_amount, open_amount_usd, collected_amount")
    if _has_aging_macro(con):
        # one query per date: applying the macro to every date in one (lateral) query was 3x
        # faster at demo scale but slower at large and held 3.6 GB (all dates at once)
        dates = []
        d = first + timedelta(days=SNAPSHOT_EVERY_DAYS)
        while d <= last:
            dates.append(d)
            d += timedelta(days=SNAPSHOT_EVERY_DAYS)
        parts = [_frame(con, f"select {cols} from marts.ar_aging_as_of(?::date)", [d])
                 for d in dates]
        parts = [p for p in parts if p.height]
        frame = pl.concat(parts) if parts else pl.DataFrame()
    else:
        frame = _frame(con, f"select {cols} from marts.fct_ar_aging where as_of_date <= ?",
                       [last])
    if frame.height == 0:
        return frame
    return frame.filter(pl.col("open_amount") > 0)


def label(con: duckdb.DuckDBPyConnection, snaps: pl.DataFrame) -> pl.DataFrame:
    """y = 1 when payments in (as_of, as_of + horizon] cover >= 90% of the open amount."""
    pays = _frame(con, "select invoice_number, ar_effective_date, amount from "
                       "marts.fct_payments where not is_voided")
    joined = snaps.select("invoice_number", "as_of_date", "open_amount").join(
        pays, on="invoice_number", how="left").filter(
        (pl.col("ar_effective_date") > pl.col("as_of_date"))
        & (pl.col("ar_effective_date") <= pl.col("as_of_date") + timedelta(days=HORIZON_DAYS)))
    paid = joined.group_by("invoice_number", "as_of_date").agg(
        pl.col("amount").cast(pl.Float64).sum().alias("paid_next"))
    return snaps.join(paid, on=["invoice_number", "as_of_date"], how="left").with_columns(
        y=(pl.col("paid_next").fill_null(0) >= PAID_SHARE * pl.col("open_amount").cast(pl.Float64)
           ).cast(pl.Int8))


def features(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.DataFrame:
    """The model's features for (invoice_number, as_of_date, client_code, ...) rows, each
    computed from what was known on its as_of_date."""
    inv = _frame(con, "select invoice_number, due_date, ebilling_platform from marts.fct_invoices")
    rej = _frame(con, "select invoice_number, rejected_date from marts.fct_rejections")
    pays = _frame(con, """
        select p.client_code, p.ar_effective_date as paid_on, i.invoice_number,
               p.days_to_pay, (p.payment_date > i.due_date) as late
        from marts.fct_payments p join marts.fct_invoices i using (invoice_number)
        where not p.is_voided""")
    base = rows.join(inv, on="invoice_number", how="left")
    rej_n = base.select("invoice_number", "as_of_date").unique().join(
        rej, on="invoice_number", how="inner").filter(
        pl.col("rejected_date") <= pl.col("as_of_date")).group_by(
        "invoice_number", "as_of_date").len("rejections")
    hist = base.select("client_code", "as_of_date").unique().join(
        pays, on="client_code", how="inner").filter(pl.col("paid_on") <= pl.col("as_of_date"))
    client = hist.group_by("client_code", "as_of_date").agg(
        pl.col("days_to_pay").cast(pl.Float64).mean().alias("client_mean_days_to_pay"),
        pl.col("late").cast(pl.Float64).mean().alias("client_late_share"),
        pl.col("invoice_number").n_unique().alias("client_paid_invoices"))
    out = base.join(rej_n, on=["invoice_number", "as_of_date"], how="left").join(
        client, on=["client_code", "as_of_date"], how="left")
    global_days = float(pays["days_to_pay"].cast(pl.Float64).mean() or 45.0) \
        if pays.height else 45.0
    dpd = pl.col("days_past_due").cast(pl.Float64)
    status = pl.col("ebilling_status").fill_null("")
    exprs = [
        *(((dpd >= lo) & (dpd <= hi if hi is not None else pl.lit(True))).cast(pl.Float64)
          .alias(name) for name, lo, hi in BUCKETS[1:]),
        (pl.col("open_amount_usd").cast(pl.Float64).clip(lower_bound=0) + 1).log().alias(
            "log_open_usd"),
        (pl.col("collected_amount").cast(pl.Float64) > 0).cast(pl.Float64).alias("part_paid"),
        pl.col("ebilling_platform").is_not_null().cast(pl.Float64).alias("ebilled"),
        *((status == s).cast(pl.Float64).alias(f"status_{s.lower()}") for s in STATUSES),
        pl.col("rejections").fill_null(0).cast(pl.Float64).alias("rejections"),
        pl.col("client_mean_days_to_pay").fill_null(global_days).alias("client_mean_days_to_pay"),
        pl.col("client_late_share").fill_null(0.0).alias("client_late_share"),
        (pl.col("client_paid_invoices").fill_null(0).cast(pl.Float64) + 1).log().alias(
            "client_log_paid_invoices"),
    ]
    return out.with_columns(exprs)


def matrix(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(FEATURES).to_numpy().astype(np.float64)


# ---------------------------------------------------------------------------- evaluation
@dataclass
class Evaluation:
    train_rows: int
    test_rows: int
    train_until: date | None
    test_from: date | None
    positive_rate_test: float | None
    auc: float | None
    auc_days_past_due_only: float | None
    model_iterations: int = 0
    coefficients: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        if self.auc is None:
            return (f"not enough labelled history to evaluate (train {self.train_rows}, "
                    f"held-out {self.test_rows} snapshot rows)")
        base = (f"{self.auc_days_past_due_only:.3f}" if self.auc_days_past_due_only is not None
                else "n/a")
        return (f"ROC AUC {self.auc:.3f} on {self.test_rows} held-out snapshot rows "
                f"(open invoices on dates from {self.test_from}; paid-within-{HORIZON_DAYS}-days "
                f"rate {self.positive_rate_test:.1%}); days past due alone: {base}; trained on "
                f"{self.train_rows} earlier rows up to {self.train_until}")


def history(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    snaps = snapshots(con, as_of)
    if snaps.height == 0:
        return snaps
    return features(con, label(con, snaps)).sort("as_of_date", "invoice_number")


def evaluate(hist: pl.DataFrame) -> Evaluation:
    """Fit on the earlier snapshot dates, score the later ones (time split)."""
    if hist.height == 0:
        return Evaluation(0, 0, None, None, None, None, None)
    dates = sorted(hist["as_of_date"].unique().to_list())
    cut = dates[max(int(len(dates) * TRAIN_SHARE) - 1, 0)]
    train = hist.filter(pl.col("as_of_date") <= cut)
    test = hist.filter(pl.col("as_of_date") > cut)
    if train.height == 0 or test.height == 0 or train["y"].n_unique() < 2:
        return Evaluation(train.height, test.height, cut, None, None, None, None)
    model = LogisticModel.fit(matrix(train), train["y"].to_numpy().astype(float), FEATURES)
    y = test["y"].to_numpy()
    score = model.predict(matrix(test))
    dpd = -test["days_past_due"].cast(pl.Float64).to_numpy()
    return Evaluation(train.height, test.height, cut, test["as_of_date"].min(),
                      float(y.mean()), roc_auc(y, score), roc_auc(y, dpd), model.iterations,
                      dict(zip(FEATURES, model.weights[1:].round(4).tolist(), strict=True)))


# ---------------------------------------------------------------------------- worklist
STAGES = {
    0: ("Not yet due", "No chase; send a courtesy statement a week before the due date",
        "none"),
    1: ("Stage 1: reminder", "Send the stage 1 reminder letter (draft ready for review)",
        "billing clerk"),
    2: ("Stage 2: second notice", ("Send the stage 2 letter and have the billing partner call "
                                   "the client's accounts payable contact"), "billing partner"),
    3: ("Stage 3: final notice", ("Send the stage 3 final notice; billing partner calls the "
                                  "client's general counsel"), "practice group leader"),
    4: ("Stage 4: collections committee", ("Refer to the collections committee; hold new work "
                                           "for the client and consider an AR reserve"),
        "managing partner"),
}
ESCALATION_ORDER = ("none", "billing clerk", "billing partner", "practice group leader",
                    "managing partner")
LOW_SCORE = 0.25
LIKELIHOOD = pl.Decimal(5, 4)  # payment likelihood and AUC, rounded to 4 places
ONE, CENT = Decimal(1), Decimal("0.01")


def stage_for(days_past_due: int) -> int:
    if days_past_due <= 0:
        return 0
    if days_past_due <= 30:
        return 1
    if days_past_due <= 60:
        return 2
    if days_past_due <= 90:
        return 3
    return 4


def _reason_text(name: str, value: float, contribution: float) -> str:
    direction = "lowers" if contribution < 0 else "raises"
    if name == "log_open_usd":
        what = f"balance of USD {math.expm1(value):,.0f}"
    elif name == "rejections":
        what = f"{int(value)} rejection(s) so far"
    elif name == "client_mean_days_to_pay":
        what = f"client pays in {value:.0f} days on average"
    elif name == "client_late_share":
        what = f"client paid {value:.0%} of invoices late"
    elif name == "client_log_paid_invoices":
        what = f"client has paid {math.expm1(value):.0f} invoice(s) before"
    else:
        what = LABELS.get(name, name)
    return f"{what} ({direction} the score)"


def next_step(stage: int, status: str | None, platform: str | None, score: float
              ) -> tuple[str, str]:
    """(recommended next step, escalate to)."""
    step, escalate = STAGES[stage][1], STAGES[stage][2]
    if status == "Rejected":
        step = (f"Fix what the client rejected and resubmit on {platform or 'the platform'}; "
                "then " + step[0].lower() + step[1:])
        escalate = max(escalate, "billing partner", key=ESCALATION_ORDER.index)
    elif status in ("Submitted", "Appealed") and stage >= 1:
        step = (f"Chase approval on {platform or 'the e-billing platform'} with the client's "
                "e-billing reviewer; " + step[0].lower() + step[1:])
    if score < LOW_SCORE and stage >= 1:
        i = min(ESCALATION_ORDER.index(escalate) + 1, len(ESCALATION_ORDER) - 1)
        escalate = ESCALATION_ORDER[i]
    return step, escalate


@dataclass
class Worklist:
    as_of: date
    rows: pl.DataFrame
    evaluation: Evaluation


def warehouse(source: Source) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A connection to the marts: the published file read-only (opened and closed here), or a
    connection the caller holds (the dbt build's session, which runs this same code to store
    the scored worklist in ``marts.srv_collections_worklist``)."""
    return open_marts(source, CollectionsError)


def score_worklist(serving_db: Source, partner: str | None = None) -> Worklist:
    """The worklist scored, explained and ranked (most likely to need chasing first)."""
    with warehouse(serving_db) as con:
        as_of = data_as_of(con)
        hist = history(con, as_of)
        evaluation = evaluate(hist)
        if hist.height == 0 or hist["y"].n_unique() < 2:
            raise CollectionsError("not enough payment history to learn from (need paid and "
                                   "unpaid open invoices in the labelled snapshots)")
        model = LogisticModel.fit(matrix(hist), hist["y"].to_numpy().astype(float), FEATURES)
        where = "" if partner is None else " where billing_partner_timekeeper_id = ?"
        work = _frame(con, "select * from marts.fct_collections_worklist" + where,
                      [] if partner is None else [partner])
        if work.height == 0:
            return Worklist(as_of, work, evaluation)
        feats = features(con, work.drop("ebilling_platform", strict=False))
    x = matrix(feats)
    score = model.predict(x)
    contrib = model.contributions(x)
    reasons_down, reasons_up, steps, escalations, stages = [], [], [], [], []
    for i, row in enumerate(feats.iter_rows(named=True)):
        order = np.argsort(contrib[i])
        down = [_reason_text(FEATURES[j], x[i, j], contrib[i, j]) for j in order[:3]
                if contrib[i, j] < -0.05]
        up = [_reason_text(FEATURES[j], x[i, j], contrib[i, j]) for j in order[::-1][:2]
              if contrib[i, j] > 0.05]
        stage = stage_for(int(row["days_past_due"] or 0))
        step, escalate = next_step(stage, row.get("ebilling_status"),
                                   row.get("ebilling_platform"), float(score[i]))
        reasons_down.append("; ".join(down))
        reasons_up.append("; ".join(up))
        steps.append(step)
        escalations.append(escalate)
        stages.append(stage)
    likelihood = pl.Series(np.round(score, 4)).cast(LIKELIHOOD)
    # chase first: least likely to pay by itself, then the most money at stake (in Decimal:
    # open USD x (1 - likelihood), rounded half up to the cent)
    expected = [None if usd is None else (usd * (ONE - p)).quantize(CENT, ROUND_HALF_UP)
                for usd, p in zip(feats["open_amount_usd"].to_list(), likelihood.to_list(),
                                  strict=True)]
    rows = feats.with_columns(
        payment_likelihood=likelihood,
        dunning_stage=pl.Series(stages, dtype=pl.Int64),
        stage_label=pl.Series([STAGES[s][0] for s in stages]),
        reasons_lower=pl.Series(reasons_down, dtype=pl.Utf8),
        reasons_higher=pl.Series(reasons_up, dtype=pl.Utf8),
        next_step=pl.Series(steps, dtype=pl.Utf8),
        escalate_to=pl.Series(escalations, dtype=pl.Utf8),
        expected_unpaid_usd=pl.Series(expected, dtype=pl.Decimal(18, 2)),
    ).with_columns(
        # invoices not yet due need no action and go last; then least likely to pay first
        _due=pl.col("dunning_stage") == 0).sort(
        ["_due", "payment_likelihood", "open_amount_usd", "invoice_number"],
        descending=[False, False, True, False]).drop("_due").with_row_index("rank", offset=1)
    keep = ["rank", "invoice_number", "client_code", "client_name", "matter_number",
            "billing_partner_timekeeper_id", "billing_partner_name", "office", "invoice_date",
            "due_date", "days_past_due", "currency", "open_amount", "open_amount_usd",
            "ebilling_platform", "ebilling_status", "payment_likelihood",
            "expected_unpaid_usd", "dunning_stage", "stage_label", "reasons_lower",
            "reasons_higher", "next_step", "escalate_to", "priority_rank"]
    return Worklist(as_of, rows.select([c for c in keep if c in rows.columns]), evaluation)
