"""Pre-bill exceptions: unbilled time that will break the client's OCG rules, and uncoded time
with a suggested UTBMS task and activity code.

``ocg_exceptions(serving_db, rules, bill_date)`` shapes every unbilled billable time entry as a
LEDES fee line of a pro-forma invoice per matter (``PREBILL-<matter>``, dated ``bill_date``)
and runs the project's OCG rules engine (:func:`lexrecon.ocg.engine.evaluate`) on it, so the
rules are the same ones ``lexrecon check`` and the warehouse apply. Findings come back keyed
by time entry, with the amount at risk. Only the columns the engine reads are queried (DECIMAL
and DATE kept typed); the other details are queried for the entries with findings.

``suggest_codes(serving_db)`` learns (task, activity) pairs from the firm's coded time
entries: a multinomial naive Bayes over the narrative's words, the matter's practice area and
the timekeeper's classification, with token counts from the most recent ``TRAIN_PER_PAIR``
coded entries of each pair and the prior from all of them. It reports accuracy on held-out coded
entries of that sample (a fixed 20% chosen by a hash of the entry key) and suggests codes, with
confidence, for every unbilled billable entry that lacks a task or an activity code. Tokens are
cut in polars and encoded as ids with numpy (``encode_frame``), never as Python strings per
narrative or token, once per distinct (narrative, practice area, classification).
"""
from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
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
PAIR_TABLE_LIMIT = 1 << 24  # bigrams are looked up in a table of every word pair up to this


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


# What the rules engine reads of each unbilled billable entry (the row order gives the line
# numbers of findings' messages); the rest of an entry is read for the entries with findings.
UNBILLED_WHERE = ("te.status = 'unbilled' and te.is_billable "
                  "and not coalesce(te.is_no_charge, false)")
UNBILLED_SQL = f"""
select te.time_entry_key, te.timekeeper_id, te.matter_number,
       coalesce(c.ledes_client_id, te.client_code) as ledes_client_id, te.entry_date,
       te.task_code, te.activity_code, te.narrative, te.hours_billable, te.hours_worked,
       te.recorded_rate, te.recorded_value, t.classification
from marts.fct_time_entries te
left join marts.dim_clients c on c.client_code = te.client_code
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
where {UNBILLED_WHERE}
order by te.matter_number, te.entry_date, te.time_entry_key
"""
DETAIL_SQL = f"""
select te.time_entry_key, te.client_code, c.client_name, te.matter_number, te.timekeeper_id,
       t.timekeeper_name, te.billing_partner_timekeeper_id, te.entry_date, te.hours_billable,
       te.recorded_rate, te.recorded_value, te.currency, te.task_code, te.activity_code,
       te.narrative
from marts.fct_time_entries te
left join marts.dim_clients c on c.client_code = te.client_code
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
where {UNBILLED_WHERE} and te.time_entry_key in (select unnest(?::varchar[]))
"""


def default_bill_date(con: duckdb.DuckDBPyConnection) -> date:
    row = con.execute("select max(entry_date) from marts.fct_time_entries").fetchall()[0]
    if not row or not row[0]:
        raise PrebillError("the warehouse has no time entries")
    return row[0]


def unbilled_as_ledes(entries: pl.DataFrame, bill_date: date) -> pl.DataFrame:
    """Unbilled entries as the OCG engine's LEDES line frame: text like a parsed file, but
    hours, rate and value kept DECIMAL and dates DATE (the engine reads those as their text
    would read, without the trip through text)."""
    units = pl.coalesce("hours_billable", "hours_worked")
    return entries.with_row_index("record_no", offset=3).select(
        pl.lit("prebill").alias("file"),
        pl.col("record_no").cast(pl.Int64),
        pl.concat_str(pl.lit("PREBILL-"), pl.col("matter_number")).alias("invoice_number"),
        pl.col("ledes_client_id").alias("client_id"),
        pl.lit(bill_date, dtype=pl.Date).alias("invoice_date"),
        pl.col("time_entry_key").alias("line_item_number"),
        pl.lit("F").alias("exp_fee_inv_adj_type"),
        units.alias("line_item_number_of_units"),
        pl.col("recorded_value").alias("line_item_total"),
        pl.col("entry_date").alias("line_item_date"),
        pl.col("task_code").alias("line_item_task_code"),
        pl.lit(None, dtype=pl.Utf8).alias("line_item_expense_code"),
        pl.col("activity_code").alias("line_item_activity_code"),
        pl.col("timekeeper_id"),
        pl.col("narrative").alias("line_item_description"),
        pl.col("recorded_rate").alias("line_item_unit_cost"),
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
        findings = evaluate(unbilled_as_ledes(entries, bill_date), rules)
        if findings.height == 0:
            return pl.DataFrame(schema={"time_entry_key": pl.Utf8, "code": pl.Utf8,
                                        "message": pl.Utf8, "amount_at_risk": pl.Utf8})
        keys = findings.get_column("line_item_number").unique().to_list()
        detail = _frame(con, DETAIL_SQL, [keys])
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
    def from_counts(cls, classes: list[str], vocab: dict[str, int], counts: np.ndarray,
                    prior: np.ndarray) -> NaiveBayes:
        """From token counts per class (classes x vocab) and documents per class."""
        smoothed = np.column_stack([counts, np.zeros(len(classes))]) + ALPHA
        log_like = np.log(smoothed / smoothed.sum(axis=1, keepdims=True))
        return cls(classes, vocab, np.log(prior / prior.sum()), log_like)

    def predict_index(self, flat: np.ndarray, lens: np.ndarray, batch: int = 4096
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(best class, its posterior probability, second-best class, -1 with one class) per
        document, classes as positions in ``classes``. Tokens not in the vocabulary are
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
        best = np.zeros(n, dtype=np.int64)
        second = np.full(n, -1, dtype=np.int64)
        conf = np.zeros(n)
        for b0 in range(0, n, batch):
            b1 = min(b0 + batch, n)
            lo, hi = starts[b0], starts[b1 - 1] + lens[b1 - 1]
            scores = np.add.reduceat(self.log_like[:, flat[lo:hi]], starts[b0:b1] - lo,
                                     axis=1).T + self.log_prior
            order = np.argsort(-scores, axis=1, kind="stable")
            top = scores[np.arange(b1 - b0), order[:, 0]]
            conf[b0:b1] = 1.0 / np.exp(scores - top[:, None]).sum(axis=1)
            best[b0:b1] = order[:, 0]
            if len(self.classes) > 1:
                second[b0:b1] = order[:, 1]
        return best, conf, second


DOC_COLUMNS = ["narrative", "practice_area", "classification"]


def distinct_docs(frame: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """The distinct (narrative, practice_area, classification) rows of ``frame``, in order of
    first appearance, and each row's position among them: equal rows have equal tokens, so
    each is encoded and scored once (narratives repeat a lot)."""
    docs = frame.select(DOC_COLUMNS)
    distinct = docs.unique(maintain_order=True)
    at = docs.join(distinct.with_row_index("_u"), on=DOC_COLUMNS, how="left", nulls_equal=True,
                   maintain_order="left").get_column("_u").to_numpy().astype(np.int64)
    return distinct, at


def segments(lens: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Positions in a flat token array (documents of lengths ``lens``) of the tokens of the
    documents ``which``, in that order."""
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    n = lens[which]
    before = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    return np.repeat(starts[which] - before, n) + np.arange(int(n.sum()), dtype=np.int64)


def entry_class_counts(ids: np.ndarray, lens: np.ndarray, doc: np.ndarray, lab: np.ndarray,
                       n_classes: int, n_tokens: int) -> np.ndarray:
    """Token counts per class (classes x tokens) of entries given as their distinct document
    (``doc``, tokens in ``ids``/``lens``) and class (``lab``): the counts of the entries' own
    token lists (whole numbers, exact in float64)."""
    cells = pl.DataFrame({"c": lab, "u": doc}, schema={"c": pl.Int64, "u": pl.Int64}
                         ).group_by("c", "u").len()
    c, u = cells["c"].to_numpy(), cells["u"].to_numpy()
    times = cells["len"].to_numpy().astype(np.float64)
    flat = np.repeat(c * n_tokens, lens[u]) + ids[segments(lens, u)]
    return np.bincount(flat, weights=np.repeat(times, lens[u]),
                       minlength=n_classes * n_tokens).reshape(n_classes, n_tokens)


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
with per_day as (  -- coded entries per code pair and day
    select task_code, activity_code, entry_date, count(*) as entries
    from marts.fct_time_entries
    where task_code is not null and activity_code is not null
    group by all
),
since as (  -- the day by which each pair has its sample (null: fewer entries, take them all)
    select task_code, activity_code, max(entry_date) filter (where newer >= $1) as since
    from (select *, sum(entries) over (partition by task_code, activity_code
                                       order by entry_date desc nulls last
                                       rows between unbounded preceding and current row
                                       ) as newer
          from per_day)
    group by all
),
sample as (  -- the window ranks only the entries of those days (and any undated ones)
    select te.time_entry_key, te.task_code, te.activity_code, te.narrative, te.matter_number,
           te.timekeeper_id
    from marts.fct_time_entries te
    join since s on s.task_code = te.task_code and s.activity_code = te.activity_code
    where s.since is null or te.entry_date >= s.since or te.entry_date is null
    qualify row_number() over (partition by te.task_code, te.activity_code
                               order by te.entry_date desc, te.time_entry_key desc) <= $1
)
select te.time_entry_key, te.task_code || '|' || te.activity_code as pair, {HELD_SQL} as held,
       te.narrative, m.practice_area, t.classification
from sample te
left join marts.dim_matters m on m.matter_number = te.matter_number
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
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
    classification) row (doc = row position), grouped by doc in the same order: the tokens
    ``encode_frame`` counts, spelled out."""
    ids, lens, vocab = encode_frame(frame)
    return pl.DataFrame({
        "doc": np.repeat(np.arange(frame.height, dtype=np.int64), lens),
        "token": vocab.get_column("token").gather(ids),
    })


def encode_frame(frame: pl.DataFrame, vocab: pl.DataFrame | None = None
                 ) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    """Token ids (flat, grouped by row) and each row's token count, and the vocabulary
    (token, id), for the tokens of ``tokens()`` of every (narrative, practice_area,
    classification) row: per row its words, then its bigrams, then its area and class tags.
    With ``vocab`` None the vocabulary is every token seen, in sorted order; otherwise tokens
    not in it get the id ``vocab.height`` (not in the vocabulary).

    Words are cut in polars and numbered once per distinct word; a bigram is a pair of word
    numbers, spelled out only once per distinct pair; the flat ids are laid out with numpy
    (no Python string per token or narrative)."""
    docs = frame.select(
        pl.col("narrative").fill_null("").str.to_lowercase().str.extract_all(TOKEN.pattern)
        .alias("words"),
        _tag("area:", "practice_area").alias("area"),
        _tag("class:", "classification").alias("cls"),
    )
    n_words = docs.get_column("words").list.len().fill_null(0).to_numpy().astype(np.int64)
    words = docs.get_column("words").explode().drop_nulls()
    distinct = words.unique().sort()  # word number = position here
    word_no = words.replace_strict(distinct, pl.Series(np.arange(len(distinct))),
                                   return_dtype=pl.Int64).to_numpy().astype(np.int64)
    # bigrams: a word and the next one of the same document, numbered first * width + next
    doc_of = np.repeat(np.arange(frame.height, dtype=np.int64), n_words)
    follows = doc_of[1:] == doc_of[:-1]
    width = max(len(distinct), 1)
    pair_no = word_no[:-1][follows] * width + word_no[1:][follows]
    if width * width <= PAIR_TABLE_LIMIT:  # a table of every possible pair: no sort
        pairs = np.flatnonzero(np.bincount(pair_no, minlength=width * width))
        position = np.zeros(width * width, dtype=np.int64)
        position[pairs] = np.arange(len(pairs))
        pair_at = position[pair_no]
    else:
        pairs = np.unique(pair_no)
        pair_at = np.searchsorted(pairs, pair_no)
    pair_text = pl.DataFrame({"a": distinct.gather(pairs // width),
                              "b": distinct.gather(pairs % width)}
                             ).select(pl.concat_str("a", pl.lit("_"), "b")).to_series()
    area, cls = docs.get_column("area"), docs.get_column("cls")
    if vocab is None:
        vocab = (pl.concat([distinct, pair_text, area.unique(), cls.unique()])
                 .unique().sort().to_frame("token").with_row_index("id"))

    def ids_of(tokens: pl.Series) -> np.ndarray:
        return (tokens.to_frame("token").join(vocab, on="token", how="left",
                                              maintain_order="left")
                .select(pl.col("id").cast(pl.Int64).fill_null(vocab.height))
                .get_column("id").to_numpy())

    n_pairs = np.maximum(n_words - 1, 0)
    lens = n_words + n_pairs + 2
    start = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    ids = np.empty(int(lens.sum()), dtype=np.int64)
    word_start = np.repeat(start - np.concatenate([[0], np.cumsum(n_words)[:-1]]), n_words)
    ids[word_start + np.arange(len(word_no))] = ids_of(distinct)[word_no]
    pair_start = np.repeat(start + n_words - np.concatenate([[0], np.cumsum(n_pairs)[:-1]]),
                           n_pairs)
    ids[pair_start + np.arange(len(pair_no))] = ids_of(pair_text)[pair_at]
    ids[start + n_words + n_pairs] = ids_of(area)
    ids[start + n_words + n_pairs + 1] = ids_of(cls)
    return ids, lens.astype(np.int64), vocab


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
    # Tokens are counted once per distinct document, as ids: the final model learns from every
    # sampled entry, the evaluated model from the sampled entries not held out (the same as
    # fitting on those alone: only the tokens and classes they contain).
    docs, doc_of = distinct_docs(coded)
    ids, lens, vocab_frame = encode_frame(docs)
    vocab = dict(zip(vocab_frame["token"].to_list(), vocab_frame["id"].to_list(), strict=True))
    held = coded["held"].to_numpy().astype(bool)
    # classes: the code pairs in sorted order (polars sorts text by code point, as Python)
    class_frame = coded.select(pl.col("pair").unique().sort()).with_row_index("lab")
    classes = class_frame["pair"].to_list()
    lab = coded.select("pair").join(class_frame, on="pair", how="left", maintain_order="left"
                                    )["lab"].to_numpy().astype(np.int64)
    task_of = np.array([c.split("|")[0] for c in classes], dtype=object)
    activity_of = np.array([c.split("|")[1] for c in classes], dtype=object)
    counts = entry_class_counts(ids, lens, doc_of, lab, len(classes), len(vocab))
    entries = dict(zip(per_pair["pair"].to_list(), per_pair["entries"].to_list(), strict=True))
    prior = np.array([entries[c] for c in classes], dtype=np.float64)
    final = NaiveBayes.from_counts(classes, vocab, counts, prior)
    n_train, n_test = int((~held).sum()), int(held.sum())
    task_acc = act_acc = pair_acc = major = None
    if n_train and n_test:
        tr_counts = entry_class_counts(ids, lens, doc_of[~held], lab[~held], len(classes),
                                       len(vocab))
        tr_docs = np.bincount(lab[~held], minlength=len(classes)).astype(np.float64)
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
        held_docs = np.unique(doc_of[held])  # each distinct held-out document scored once
        got_doc, _, _ = model.predict_index(to_train[ids[segments(lens, held_docs)]],
                                            lens[held_docs])
        got = keep_c[got_doc[np.searchsorted(held_docs, doc_of[held])]]
        test_y = lab[held]
        n = len(test_y)
        pair_acc = int((got == test_y).sum()) / n
        task_acc = int((task_of[got] == task_of[test_y]).sum()) / n
        act_acc = int((activity_of[got] == activity_of[test_y]).sum()) / n
        major = int((test_y == int(np.argmax(tr_docs))).sum()) / n
    rows = uncoded.drop("practice_area", "classification")
    if rows.height:
        u_docs, u_doc_of = distinct_docs(uncoded)
        u_ids, u_lens, _ = encode_frame(u_docs, vocab_frame)
        best, conf, second = (a[u_doc_of] for a in final.predict_index(u_ids, u_lens))
        alternative = np.array([*(c.replace("|", " ") for c in classes), ""], dtype=object)
        rows = rows.with_columns(
            suggested_task_code=pl.Series(task_of[best].tolist(), dtype=pl.Utf8),
            suggested_activity_code=pl.Series(activity_of[best].tolist(), dtype=pl.Utf8),
            confidence=pl.Series(np.round(conf, 3)).cast(CONFIDENCE),
            alternative=pl.Series(alternative[second].tolist(), dtype=pl.Utf8),
        )
    return CodeSuggestions(rows, n_test, n_train, task_acc, act_acc, pair_acc, major)
