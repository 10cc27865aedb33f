"""Pre-bill exceptions: unbilled time that will break the client's OCG rules, and uncoded time
with a suggested UTBMS task and activity code.

``ocg_exceptions(serving_db, rules, bill_date)`` shapes every unbilled billable time entry as a
LEDES fee line of a pro-forma invoice per matter (``PREBILL-<matter>``, dated ``bill_date``)
and runs the project's OCG rules engine (:func:`lexrecon.ocg.engine.evaluate`) on it, so the
rules are the same ones ``lexrecon check`` and the warehouse apply. Findings come back keyed
by time entry, with the amount at risk.

``suggest_codes(serving_db)`` learns (task, activity) pairs from the firm's coded time
entries: a multinomial naive Bayes over the narrative's words, the matter's practice area and
the timekeeper's classification, with token counts from the most recent ``TRAIN_PER_PAIR``
coded entries of each pair and the prior from all of them. It reports accuracy on held-out coded
entries of that sample (a fixed 20% chosen by a hash of the entry key) and suggests codes, with
confidence, for every unbilled billable entry that lacks a task or an activity code. Tokens are
cut and counted in polars (``token_frame``), never as Python strings per narrative.
"""
from __future__ import annotations

import hashlib
import itertools
import re
from array import array
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from lexrecon.ocg.engine import evaluate
from lexrecon.ocg.rules import Rules
from reports.marts import Source, open_marts

TOKEN = re.compile(r"[a-z][a-z0-9]+")
HELD_OUT_SHARE = 20  # percent
ALPHA = 0.5  # additive smoothing
CONFIDENCE = pl.Decimal(4, 3)  # posterior probabilities, rounded to 3 places


class PrebillError(RuntimeError):
    """The report cannot be produced; the message says why."""


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
           ) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())  # type: ignore[return-value]


def warehouse(source: Source) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A connection to the marts: the published file read-only (opened and closed here), or a
    connection the caller holds (the dbt build's session, which runs this same code to store
    the results in ``marts.srv_prebill_ocg_exceptions`` / ``srv_prebill_code_suggestions``)."""
    return open_marts(source, PrebillError)


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


def ocg_exceptions(serving_db: Source, rules: Sequence[Rules],
                   bill_date: date | None = None) -> pl.DataFrame:
    """One row per (unbilled time entry, rule broken), with the entry's details."""
    with warehouse(serving_db) as con:
        bill_date = bill_date or default_bill_date(con)
        entries = _frame(con, UNBILLED_SQL)
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
        vocab: dict[str, int] = {}
        ids, lens = encode(docs, vocab)
        classes = sorted(set(labels))
        ci = {c: i for i, c in enumerate(classes)}
        lab = np.fromiter((ci[y] for y in labels), dtype=np.int64, count=len(labels))
        if len(lab) != len(docs):
            raise ValueError("one label per document")
        counts, prior = class_counts(ids, lens, lab, len(classes), len(vocab))
        return cls.from_counts(classes, vocab, counts, prior)

    @classmethod
    def from_counts(cls, classes: list[str], vocab: dict[str, int], counts: np.ndarray,
                    prior: np.ndarray) -> NaiveBayes:
        """From token counts per class (classes x vocab) and documents per class."""
        smoothed = np.column_stack([counts, np.zeros(len(classes))]) + ALPHA
        log_like = np.log(smoothed / smoothed.sum(axis=1, keepdims=True))
        return cls(classes, vocab, np.log(prior / prior.sum()), log_like)

    def predict(self, docs: list[list[str]], batch: int = 4096
                ) -> tuple[list[str], np.ndarray, list[str]]:
        """(best class, its posterior probability, second-best class) per document."""
        unseen = len(self.vocab)
        ids = [self.vocab.get(t, unseen) for doc in docs for t in doc]
        lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        return self.predict_ids(np.asarray(ids, dtype=np.int64), lens, batch)

    def predict_ids(self, flat: np.ndarray, lens: np.ndarray, batch: int = 4096
                    ) -> tuple[list[str], np.ndarray, list[str]]:
        """``predict`` for documents given as token ids (``len(vocab)`` = not in the
        vocabulary), flat, with each document's length. Tokens not in the vocabulary are
        ignored (a document of unseen tokens only scores the unseen column); documents are
        scored in batches as one gather + segment sum."""
        unseen = len(self.vocab)
        n = len(lens)
        doc_of = np.repeat(np.arange(n, dtype=np.int64), lens)
        seen = flat != unseen
        kept = np.bincount(doc_of[seen], minlength=n)
        empty = np.flatnonzero(kept == 0)
        doc_of = np.concatenate([doc_of[seen], empty])
        order_tok = np.argsort(doc_of, kind="stable")
        flat = np.concatenate([flat[seen], np.full(len(empty), unseen, dtype=np.int64)]
                              )[order_tok]
        lens = np.maximum(kept, 1)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        best: list[str] = []
        second: list[str] = []
        conf = np.zeros(n)
        for b0 in range(0, n, batch):
            b1 = min(b0 + batch, n)
            lo, hi = starts[b0], starts[b1 - 1] + lens[b1 - 1]
            scores = np.add.reduceat(self.log_like[:, flat[lo:hi]], starts[b0:b1] - lo,
                                     axis=1).T + self.log_prior
            order = np.argsort(-scores, axis=1, kind="stable")
            top = scores[np.arange(b1 - b0), order[:, 0]]
            conf[b0:b1] = 1.0 / np.exp(scores - top[:, None]).sum(axis=1)
            best.extend(self.classes[k] for k in order[:, 0])
            if len(self.classes) > 1:
                second.extend(self.classes[k] for k in order[:, 1])
            else:
                second.extend("" for _ in range(b1 - b0))
        return best, conf, second


def encode_rows(rows: Iterator[tuple], vocab: dict[str, int], grow: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (flat) and lengths of the documents of (narrative, practice area,
    classification) rows, without keeping their tokens. ``grow``: new tokens join ``vocab``
    in order of first appearance; otherwise they get the id ``len(vocab)`` (not in it)."""
    ids = array("q")
    lens = array("q")
    unseen = len(vocab)
    for narrative, area, classification in rows:
        toks = tokens(narrative, area, classification)
        if grow:
            ids.extend([vocab.setdefault(t, len(vocab)) for t in toks])
        else:
            ids.extend([vocab.get(t, unseen) for t in toks])
        lens.append(len(toks))
    return (np.frombuffer(ids, dtype=np.int64) if ids else np.zeros(0, dtype=np.int64),
            np.frombuffer(lens, dtype=np.int64) if lens else np.zeros(0, dtype=np.int64))


def encode(docs: list[list[str]], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of every document, flat, and each document's length; new tokens are added to
    ``vocab`` in order of first appearance."""
    ids: list[int] = []
    for doc in docs:
        ids.extend([vocab.setdefault(t, len(vocab)) for t in doc])
    lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    return np.asarray(ids, dtype=np.int64), lens


def class_counts(ids: np.ndarray, lens: np.ndarray, lab: np.ndarray, n_classes: int,
                 n_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Token counts per class (classes x tokens) and documents per class, in one pass."""
    cells = np.repeat(lab * n_tokens, lens) + ids
    counts = np.bincount(cells, minlength=n_classes * n_tokens).reshape(
        n_classes, n_tokens).astype(np.float64)
    return counts, np.bincount(lab, minlength=n_classes).astype(np.float64)


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


# Training sample: the most recent TRAIN_PER_PAIR coded entries of each (task, activity) pair
# (entry date, then key, newest first), so the cost is bounded however long the history grows;
# the class prior still counts every coded entry (a capped sample alone would flatten it).
TRAIN_PER_PAIR = 10_000
HELD_SQL = f"('0x' || left(sha256(te.time_entry_key), 8))::bigint % 100 < {HELD_OUT_SHARE}"

CODED_SQL = f"""
with ranked as (  -- keys only: the window sorts no narratives
    select time_entry_key,
           row_number() over (partition by task_code, activity_code
                              order by entry_date desc, time_entry_key desc) as recency
    from marts.fct_time_entries
    where task_code is not null and activity_code is not null
)
select te.time_entry_key, te.task_code || '|' || te.activity_code as pair, {HELD_SQL} as held,
       te.narrative, m.practice_area, t.classification
from ranked r
join marts.fct_time_entries te on te.time_entry_key = r.time_entry_key
left join marts.dim_matters m on m.matter_number = te.matter_number
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
where r.recency <= ?
order by te.time_entry_key
"""

PRIOR_SQL = """
select task_code || '|' || activity_code as pair, count(*) as entries
from marts.fct_time_entries
where task_code is not null and activity_code is not null
group by all
"""

UNCODED_SQL = """
select te.time_entry_key, te.status, te.client_code, te.matter_number, te.timekeeper_id,
       te.entry_date, te.hours_worked, te.narrative, te.task_code, te.activity_code,
       m.practice_area, t.classification
from marts.fct_time_entries te
left join marts.dim_matters m on m.matter_number = te.matter_number
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
where (te.task_code is null or te.activity_code is null) and coalesce(te.is_billable, false)
  and te.status = 'unbilled'
order by te.time_entry_key
"""


def _held_out(key: str) -> bool:
    """The held-out rule in Python (HELD_SQL computes the same in the warehouse)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_SHARE


def _tag(prefix: str, column: str) -> pl.Expr:
    value = pl.col(column)
    return pl.concat_str(pl.lit(prefix), pl.when(value.is_null() | (value == ""))
                         .then(pl.lit("?")).otherwise(value))


def token_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """(doc, token): the tokens of ``tokens()`` for every (narrative, practice_area,
    classification) row (doc = row position), grouped by doc in the same order, computed in
    polars (no Python string per token or narrative)."""
    docs = frame.select(
        pl.col("narrative").fill_null("").str.to_lowercase().str.extract_all(TOKEN.pattern)
        .alias("token"),
        _tag("area:", "practice_area").alias("area"),
        _tag("class:", "classification").alias("cls"),
    ).with_row_index("doc")
    words = docs.select("doc", "token").explode("token").drop_nulls("token")
    same_doc = pl.col("doc").shift(-1) == pl.col("doc")
    bigrams = words.with_columns(nxt=pl.col("token").shift(-1), same=same_doc.fill_null(False)
                                 ).filter("same").select(
        "doc", pl.concat_str(pl.col("token"), pl.lit("_"), pl.col("nxt")).alias("token"))
    return pl.concat([words, bigrams, docs.select("doc", token="area"),
                      docs.select("doc", token="cls")]).sort("doc", maintain_order=True)


def encode_frame(frame: pl.DataFrame, vocab: pl.DataFrame | None = None
                 ) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    """Token ids (flat, grouped by row) and each row's token count, and the vocabulary
    (token, id). With ``vocab`` None it is every token seen, in sorted order; otherwise tokens
    not in it get the id ``vocab.height`` (not in the vocabulary)."""
    toks = token_frame(frame)
    if vocab is None:
        vocab = toks.select(pl.col("token").unique().sort()).with_row_index("id")
    ids = toks.join(vocab, on="token", how="left", maintain_order="left").select(
        pl.col("id").cast(pl.Int64).fill_null(vocab.height))["id"].to_numpy()
    lens = np.bincount(toks["doc"].to_numpy(), minlength=frame.height).astype(np.int64)
    return ids, lens, vocab


def suggest_codes(serving_db: Source, train_per_pair: int = TRAIN_PER_PAIR) -> CodeSuggestions:
    """Suggestions for every uncoded unbilled billable entry; the model learns token counts
    from the most recent ``train_per_pair`` coded entries of each code pair and the class prior
    from every coded entry. Accuracy: tested on the sample's held-out entries (HELD_SQL), by a
    model whose counts and prior leave those entries out."""
    with warehouse(serving_db) as con:
        coded = _frame(con, CODED_SQL, [train_per_pair])
        per_pair = _frame(con, PRIOR_SQL)
        uncoded = _frame(con, UNCODED_SQL)
    if coded.height == 0:
        return CodeSuggestions(pl.DataFrame(), 0, 0, None, None, None, None)
    # Tokens are counted once, as ids: the final model learns from every sampled entry, the
    # evaluated model from the sampled entries not held out (the same as fitting on those
    # alone: only the tokens and classes they contain).
    ids, lens, vocab_frame = encode_frame(coded.select("narrative", "practice_area",
                                                       "classification"))
    vocab = dict(zip(vocab_frame["token"].to_list(), vocab_frame["id"].to_list(), strict=True))
    pairs = coded["pair"].to_list()
    held = coded["held"].to_numpy().astype(bool)
    classes = sorted(set(pairs))
    ci = {c: i for i, c in enumerate(classes)}
    lab = np.fromiter((ci[y] for y in pairs), dtype=np.int64, count=len(pairs))
    counts, _ = class_counts(ids, lens, lab, len(classes), len(vocab))
    entries = dict(zip(per_pair["pair"].to_list(), per_pair["entries"].to_list(), strict=True))
    prior = np.array([entries[c] for c in classes], dtype=np.float64)
    final = NaiveBayes.from_counts(classes, vocab, counts, prior)
    n_train, n_test = int((~held).sum()), int(held.sum())
    task_acc = act_acc = pair_acc = major = None
    if n_train and n_test:
        on_held = np.repeat(held, lens)
        tr_counts, tr_docs = class_counts(ids[~on_held], lens[~held], lab[~held],
                                          len(classes), len(vocab))
        # the evaluated model's prior: every coded entry but the held-out ones it is tested on
        tested = np.bincount(lab[held], minlength=len(classes))
        tr_prior = prior - tested
        keep_c = np.flatnonzero(tr_docs > 0)
        keep_t = np.flatnonzero(tr_counts.sum(axis=0) > 0)
        words = vocab_frame["token"].to_list()
        model = NaiveBayes.from_counts(
            [classes[i] for i in keep_c], {words[j]: k for k, j in enumerate(keep_t)},
            tr_counts[np.ix_(keep_c, keep_t)], tr_prior[keep_c])
        to_train = np.full(len(vocab), len(keep_t), dtype=np.int64)  # not seen in training
        to_train[keep_t] = np.arange(len(keep_t))
        got, _, _ = model.predict_ids(to_train[ids[on_held]], lens[held])
        test_y = [pairs[i] for i in np.flatnonzero(held)]
        n = len(test_y)
        pair_acc = sum(g == y for g, y in zip(got, test_y, strict=True)) / n
        task_acc = sum(g.split("|")[0] == y.split("|")[0]
                       for g, y in zip(got, test_y, strict=True)) / n
        act_acc = sum(g.split("|")[1] == y.split("|")[1]
                      for g, y in zip(got, test_y, strict=True)) / n
        common = classes[int(np.argmax(tr_docs))]
        major = sum(y == common for y in test_y) / n
    rows = uncoded.drop("practice_area", "classification")
    if rows.height:
        u_ids, u_lens, _ = encode_frame(
            uncoded.select("narrative", "practice_area", "classification"), vocab_frame)
        best, conf, second = final.predict_ids(u_ids, u_lens)
        rows = rows.with_columns(
            suggested_task_code=pl.Series([b.split("|")[0] for b in best], dtype=pl.Utf8),
            suggested_activity_code=pl.Series([b.split("|")[1] for b in best], dtype=pl.Utf8),
            confidence=pl.Series(np.round(conf, 3)).cast(CONFIDENCE),
            alternative=pl.Series([s.replace("|", " ") for s in second], dtype=pl.Utf8),
        )
    return CodeSuggestions(rows, n_test, n_train, task_acc, act_acc, pair_acc, major)
