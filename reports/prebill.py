"""Pre-bill exceptions: unbilled time that will break the client's OCG rules, and uncoded time
with a suggested UTBMS task and activity code.

``ocg_exceptions(serving_db, rules, bill_date)`` shapes every unbilled billable time entry as a
LEDES fee line of a pro-forma invoice per matter (``PREBILL-<matter>``, dated ``bill_date``)
and runs the project's OCG rules engine (:func:`lexrecon.ocg.engine.evaluate`) on it, so the
rules are the same ones ``lexrecon check`` and the warehouse apply. Findings come back keyed
by time entry, with the amount at risk.

``suggest_codes(serving_db)`` learns (task, activity) pairs from the firm's coded time
entries: a multinomial naive Bayes over the narrative's words, the matter's practice area and
the timekeeper's classification. It reports accuracy on held-out coded entries (a fixed 20%
chosen by a hash of the entry key) and suggests codes, with confidence, for every unbilled
billable entry that lacks a task or an activity code.
"""
from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from lexrecon.ocg.engine import evaluate
from lexrecon.ocg.rules import Rules

TOKEN = re.compile(r"[a-z][a-z0-9]+")
HELD_OUT_SHARE = 20  # percent
ALPHA = 0.5  # additive smoothing


class PrebillError(RuntimeError):
    """The report cannot be produced; the message says why."""


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
           ) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())  # type: ignore[return-value]


def _connect(serving_db: str | Path) -> duckdb.DuckDBPyConnection:
    serving_db = Path(serving_db)
    if not serving_db.is_file():
        raise PrebillError(f"no published warehouse at {serving_db}")
    return duckdb.connect(str(serving_db), read_only=True)


UNBILLED_SQL = """
select te.time_entry_key, te.timekeeper_id, te.matter_number, te.client_code,
       coalesce(c.ledes_client_id, te.client_code) as ledes_client_id, c.client_name,
       te.billing_partner_timekeeper_id, te.entry_date, te.task_code, te.activity_code,
       te.narrative, te.currency, te.hours_billable, te.hours_worked, te.recorded_rate,
       te.recorded_value, t.classification, t.timekeeper_name
from marts.fct_time_entries te
left join marts.dim_clients c on c.client_code = te.client_code
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
where te.status = 'unbilled' and te.is_billable and not coalesce(te.is_no_charge, false)
order by te.matter_number, te.entry_date, te.time_entry_key
"""


def default_bill_date(con: duckdb.DuckDBPyConnection) -> date:
    row = con.execute("select max(entry_date) from marts.fct_time_entries").fetchall()[0]
    if not row or not row[0]:
        raise PrebillError("the warehouse has no time entries")
    return row[0]


def unbilled_as_ledes(entries: pl.DataFrame, bill_date: date) -> pl.DataFrame:
    """Unbilled entries as the OCG engine's LEDES line frame (all text, like a parsed file)."""
    ymd = "%Y%m%d"
    units = pl.coalesce("hours_billable", "hours_worked")
    return entries.with_row_index("record_no", offset=3).select(
        pl.lit("prebill").alias("file"),
        pl.col("record_no").cast(pl.Int64),
        pl.concat_str(pl.lit("PREBILL-"), pl.col("matter_number")).alias("invoice_number"),
        pl.col("ledes_client_id").alias("client_id"),
        pl.lit(bill_date.strftime(ymd)).alias("invoice_date"),
        pl.col("time_entry_key").alias("line_item_number"),
        pl.lit("F").alias("exp_fee_inv_adj_type"),
        units.cast(pl.Utf8).alias("line_item_number_of_units"),
        pl.col("recorded_value").cast(pl.Utf8).alias("line_item_total"),
        pl.col("entry_date").dt.strftime(ymd).alias("line_item_date"),
        pl.col("task_code").alias("line_item_task_code"),
        pl.lit(None, dtype=pl.Utf8).alias("line_item_expense_code"),
        pl.col("activity_code").alias("line_item_activity_code"),
        pl.col("timekeeper_id"),
        pl.col("narrative").alias("line_item_description"),
        pl.col("recorded_rate").cast(pl.Utf8).alias("line_item_unit_cost"),
        pl.col("classification").alias("timekeeper_classification"),
    )


def load_rules_dir(rules_dir: str | Path) -> list[Rules]:
    """Every client's rules file in a folder (``<CLIENT_ID>.yml``), loaded by the OCG module."""
    from lexrecon.check import CheckError, load_all_rules

    files = sorted(str(p) for p in Path(rules_dir).glob("*.y*ml"))
    try:
        return load_all_rules(files)
    except CheckError as exc:
        raise PrebillError(str(exc)) from exc


def ocg_exceptions(serving_db: str | Path, rules: Sequence[Rules],
                   bill_date: date | None = None) -> pl.DataFrame:
    """One row per (unbilled time entry, rule broken), with the entry's details."""
    con = _connect(serving_db)
    try:
        bill_date = bill_date or default_bill_date(con)
        entries = _frame(con, UNBILLED_SQL)
    finally:
        con.close()
    lines = unbilled_as_ledes(entries, bill_date)
    findings = evaluate(lines, rules)
    if findings.height == 0:
        return pl.DataFrame(schema={"time_entry_key": pl.Utf8, "code": pl.Utf8,
                                    "message": pl.Utf8, "amount_at_risk": pl.Utf8})
    detail = entries.select("time_entry_key", "client_code", "client_name", "matter_number",
                            "timekeeper_id", "timekeeper_name", "billing_partner_timekeeper_id",
                            "entry_date", "hours_billable", "recorded_rate", "recorded_value",
                            "currency", "task_code", "activity_code", "narrative")
    return (findings.rename({"line_item_number": "time_entry_key"})
            .select("time_entry_key", "code", "message", "amount_at_risk")
            .join(detail, on="time_entry_key", how="left")
            .sort("client_code", "matter_number", "entry_date", "time_entry_key", "code"))


# ------------------------------------------------------------------------- code suggestions
def tokens(narrative: str | None, practice_area: str | None, classification: str | None
           ) -> list[str]:
    words = TOKEN.findall((narrative or "").lower())
    bigrams = [f"{a}_{b}" for a, b in itertools.pairwise(words)]
    return [*words, *bigrams, f"area:{practice_area or '?'}", f"class:{classification or '?'}"]


@dataclass
class NaiveBayes:
    classes: list[str]
    vocab: dict[str, int]
    log_prior: np.ndarray
    log_like: np.ndarray  # classes x (vocab + 1); last column: unseen token

    @classmethod
    def fit(cls, docs: list[list[str]], labels: list[str]) -> NaiveBayes:
        classes = sorted(set(labels))
        ci = {c: i for i, c in enumerate(classes)}
        vocab: dict[str, int] = {}
        for doc in docs:
            for t in doc:
                vocab.setdefault(t, len(vocab))
        counts = np.zeros((len(classes), len(vocab) + 1))
        prior = np.zeros(len(classes))
        for doc, lab in zip(docs, labels, strict=True):
            row = ci[lab]
            prior[row] += 1
            idx = np.fromiter((vocab[t] for t in doc), dtype=np.int64, count=len(doc))
            np.add.at(counts[row], idx, 1)
        smoothed = counts + ALPHA
        log_like = np.log(smoothed / smoothed.sum(axis=1, keepdims=True))
        return cls(classes, vocab, np.log(prior / prior.sum()), log_like)

    def predict(self, docs: list[list[str]]) -> tuple[list[str], np.ndarray, list[str]]:
        """(best class, its posterior probability, second-best class) per document."""
        unseen = len(self.vocab)
        best, conf, second = [], np.zeros(len(docs)), []
        for i, doc in enumerate(docs):
            idx = [self.vocab.get(t, unseen) for t in doc]
            idx = [j for j in idx if j != unseen] or [unseen]
            scores = self.log_prior + self.log_like[:, idx].sum(axis=1)
            order = np.argsort(-scores)
            p = np.exp(scores - scores[order[0]])
            conf[i] = 1.0 / p.sum()
            best.append(self.classes[order[0]])
            second.append(self.classes[order[1]] if len(order) > 1 else "")
        return best, conf, second


@dataclass
class CodeSuggestions:
    suggestions: pl.DataFrame
    held_out: int
    trained_on: int
    task_accuracy: float | None
    activity_accuracy: float | None
    pair_accuracy: float | None
    majority_pair_accuracy: float | None

    def summary(self) -> str:
        if self.pair_accuracy is None:
            return "no coded history to learn from"
        return (f"on {self.held_out} held-out coded entries: task code right "
                f"{self.task_accuracy:.1%}, activity code right {self.activity_accuracy:.1%}, "
                f"both right {self.pair_accuracy:.1%} (most common pair alone: "
                f"{self.majority_pair_accuracy:.1%}); trained on {self.trained_on} entries")


CODED_SQL = """
select te.time_entry_key, te.status, te.is_billable, te.task_code, te.activity_code,
       te.narrative, te.matter_number, te.client_code, te.timekeeper_id, te.entry_date,
       te.hours_worked, m.practice_area, t.classification
from marts.fct_time_entries te
left join marts.dim_matters m on m.matter_number = te.matter_number
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
order by te.time_entry_key
"""


def _held_out(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_SHARE


def suggest_codes(serving_db: str | Path) -> CodeSuggestions:
    con = _connect(serving_db)
    try:
        entries = _frame(con, CODED_SQL)
    finally:
        con.close()
    coded = entries.filter(pl.col("task_code").is_not_null() & pl.col("activity_code").is_not_null())
    uncoded = entries.filter((pl.col("task_code").is_null() | pl.col("activity_code").is_null())
                             & pl.col("is_billable").fill_null(False)
                             & (pl.col("status") == "unbilled"))
    if coded.height == 0:
        return CodeSuggestions(pl.DataFrame(), 0, 0, None, None, None, None)
    docs = [tokens(n, a, c) for n, a, c in coded.select("narrative", "practice_area",
                                                         "classification").iter_rows()]
    pairs = [f"{t}|{a}" for t, a in coded.select("task_code", "activity_code").iter_rows()]
    test = [_held_out(k) for k in coded["time_entry_key"]]
    train_docs = [d for d, h in zip(docs, test, strict=True) if not h]
    train_y = [p for p, h in zip(pairs, test, strict=True) if not h]
    test_docs = [d for d, h in zip(docs, test, strict=True) if h]
    test_y = [p for p, h in zip(pairs, test, strict=True) if h]
    task_acc = act_acc = pair_acc = major = None
    if train_docs and test_docs:
        model = NaiveBayes.fit(train_docs, train_y)
        got, _, _ = model.predict(test_docs)
        n = len(test_y)
        pair_acc = sum(g == y for g, y in zip(got, test_y, strict=True)) / n
        task_acc = sum(g.split("|")[0] == y.split("|")[0]
                       for g, y in zip(got, test_y, strict=True)) / n
        act_acc = sum(g.split("|")[1] == y.split("|")[1]
                      for g, y in zip(got, test_y, strict=True)) / n
        common = max(set(train_y), key=train_y.count)
        major = sum(y == common for y in test_y) / n
    final = NaiveBayes.fit(docs, pairs)
    rows = uncoded.select("time_entry_key", "status", "client_code", "matter_number",
                          "timekeeper_id", "entry_date", "hours_worked", "narrative",
                          "task_code", "activity_code", "practice_area", "classification")
    if rows.height:
        best, conf, second = final.predict(
            [tokens(n, a, c) for n, a, c in rows.select("narrative", "practice_area",
                                                         "classification").iter_rows()])
        rows = rows.with_columns(
            suggested_task_code=pl.Series([b.split("|")[0] for b in best]),
            suggested_activity_code=pl.Series([b.split("|")[1] for b in best]),
            confidence=pl.Series(np.round(conf, 3)),
            alternative=pl.Series([s.replace("|", " ") for s in second]),
        ).drop("practice_area", "classification")
    return CodeSuggestions(rows, len(test_docs), len(train_docs), task_acc, act_acc, pair_acc,
                           major)
