"""Pre-bill exceptions: unbilled time that will break the client's OCG rules, and uncoded time
with a suggested UTBMS task and activity code.

``ocg_exceptions(serving_db, rules, bill_date)`` shapes every unbilled billable time entry as a
LEDES fee line of a pro-forma invoice per matter (``PREBILL-<matter>``, dated ``bill_date``)
and runs the project's OCG rules engine (:func:`lexrecon.ocg.engine.evaluate`) on it, so the
rules are the same ones ``lexrecon check`` and the warehouse apply. Findings come back keyed
by time entry, with the amount at risk. Only the entries of invoices a rules file governs are
read whole (DECIMAL and DATE kept typed) and evaluated, each with its line number among all
unbilled entries: the findings of evaluating them all.

``suggest_codes(serving_db)`` learns (task, activity) pairs from the firm's coded time
entries: a multinomial naive Bayes over the narrative's words, the matter's practice area and
the timekeeper's classification, with token counts from the most recent ``TRAIN_PER_PAIR``
coded entries of each pair and the prior from all of them. It reports accuracy on held-out coded
entries of that sample (a fixed 20% chosen by a hash of the entry key) and suggests codes, with
confidence, for every unbilled billable entry that lacks a task or an activity code. Tokens are
cut in polars and encoded as ids with numpy (``encode_frame``), never as Python strings per
narrative or token, once per distinct (narrative, practice area, classification). The
warehouse returns the sample already counted per (pair, held out, document).
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

from lexrecon.ledes.findings import empty_findings
from lexrecon.ocg.engine import evaluate, governed_lines
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


# The unbilled billable entries are the lines of pro-forma invoices, one per matter, in line
# order (matter, entry date, key; the order gives the line numbers of findings' messages).
# MATTERS_SQL gives each matter's first line number and the client of its first line, which
# decide whether a rules file reads the invoice (the engine's rule); only the entries of those
# matters are read further (GOVERNED_SQL, with their place in the matter): the engine's
# columns, DECIMAL and DATE kept typed, and the details a finding is reported with. The
# dimensions' keys are unique (contracts), so the joins add no rows.
UNBILLED_WHERE = ("te.status = 'unbilled' and te.is_billable "
                  "and not coalesce(te.is_no_charge, false)")
MATTERS_SQL = f"""
with matters as (
    select te.matter_number, count(*) as lines,
           first(coalesce(c.ledes_client_id, te.client_code)
                 order by te.entry_date, te.time_entry_key) as ledes_client_id
    from marts.fct_time_entries te
    left join marts.dim_clients c on c.client_code = te.client_code
    where {UNBILLED_WHERE}
    group by te.matter_number
)
select matter_number, ledes_client_id,
       3 + sum(lines) over (order by matter_number
                            rows between unbounded preceding and current row) - lines
       as first_record_no
from matters
"""
GOVERNED_SQL = f"""
select te.time_entry_key, te.matter_number, te.timekeeper_id, te.entry_date, te.task_code,
       te.activity_code, te.narrative, te.hours_billable, te.hours_worked, te.recorded_rate,
       te.recorded_value, t.classification, te.client_code, c.client_name,
       coalesce(c.ledes_client_id, te.client_code) as ledes_client_id, t.timekeeper_name,
       te.billing_partner_timekeeper_id, te.currency,
       row_number() over (partition by te.matter_number
                          order by te.entry_date, te.time_entry_key) - 1 as nth
from marts.fct_time_entries te
left join marts.dim_clients c on c.client_code = te.client_code
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
where {UNBILLED_WHERE}
  and (te.matter_number in (select unnest(?::varchar[])) or (te.matter_number is null and ?))
"""
DETAIL_COLUMNS = ["time_entry_key", "client_code", "client_name", "matter_number",
                  "timekeeper_id", "timekeeper_name", "billing_partner_timekeeper_id",
                  "entry_date", "hours_billable", "recorded_rate", "recorded_value", "currency",
                  "task_code", "activity_code", "narrative"]


def default_bill_date(con: duckdb.DuckDBPyConnection) -> date:
    row = con.execute("select max(entry_date) from marts.fct_time_entries").fetchall()[0]
    if not row or not row[0]:
        raise PrebillError("the warehouse has no time entries")
    return row[0]


def invoice_head(entries: pl.DataFrame) -> list[pl.Expr]:
    """The pro-forma invoice of each entry (``record_no``: its line number, 3 on): file,
    line, invoice number and client, the columns that say which rules file reads a line."""
    return [
        pl.lit("prebill").alias("file"),
        pl.col("record_no").cast(pl.Int64),
        pl.concat_str(pl.lit("PREBILL-"), pl.col("matter_number")).alias("invoice_number"),
        pl.col("ledes_client_id").alias("client_id"),
    ]


def unbilled_as_ledes(entries: pl.DataFrame, bill_date: date) -> pl.DataFrame:
    """Unbilled entries (with their ``record_no``) as the OCG engine's LEDES line frame: text
    like a parsed file, but hours, rate and value kept DECIMAL and dates DATE (the engine reads
    those as their text would read, without the trip through text)."""
    units = pl.coalesce("hours_billable", "hours_worked")
    return entries.select(
        *invoice_head(entries),
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
    """One row per (unbilled time entry, rule broken), with the entry's details.

    Only the entries of invoices whose client has a rules file (about a tenth at scale large:
    :func:`lexrecon.ocg.engine.governed_lines` on each matter's first line, which carries the
    invoice's client) are read whole and evaluated, each with its line number among all
    unbilled entries; that gives the findings of evaluating every entry."""
    with warehouse(serving_db) as con:
        bill_date = bill_date or default_bill_date(con)
        heads = _frame(con, MATTERS_SQL).rename({"first_record_no": "record_no"})
        governed = heads.filter(governed_lines(heads.select(invoice_head(heads)), rules))
        matters = governed.get_column("matter_number")
        entries = _frame(con, GOVERNED_SQL, [matters.drop_nulls().to_list(),
                                             matters.null_count() > 0]
                         ) if governed.height else None
    if entries is None:
        findings = empty_findings()
    else:
        entries = entries.join(governed.select("matter_number", "record_no"),
                               on="matter_number", how="inner", nulls_equal=True
                               ).with_columns(record_no=pl.col("record_no") + pl.col("nth")
                                              ).sort("record_no")
        findings = evaluate(unbilled_as_ledes(entries, bill_date), rules)
    if findings.height == 0:
        return pl.DataFrame(schema={"time_entry_key": pl.Utf8, "code": pl.Utf8,
                                    "message": pl.Utf8, "amount_at_risk": pl.Utf8})
    keys = findings.get_column("line_item_number").unique().implode()
    detail = entries.filter(pl.col("time_entry_key").is_in(keys)).select(DETAIL_COLUMNS)
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
                       n_classes: int, n_tokens: int, entries: np.ndarray) -> np.ndarray:
    """Token counts per class (classes x tokens) of groups of ``entries`` entries each, given
    as their distinct document (``doc``, tokens in ``ids``/``lens``) and class (``lab``): the
    counts of the entries' own token lists (whole numbers, exact in float64)."""
    cells = pl.DataFrame({"c": lab, "u": doc, "n": entries},
                         schema={"c": pl.Int64, "u": pl.Int64, "n": pl.Int64}
                         ).group_by("c", "u").agg(pl.col("n").sum())
    c, u = cells["c"].to_numpy(), cells["u"].to_numpy()
    times = cells["n"].to_numpy().astype(np.float64)
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
# The warehouse returns the sample counted per (pair, held out, narrative, practice area,
# classification), with each pair's count of every coded entry: the model needs no more.
TRAIN_PER_PAIR = 10_000
HELD_SQL = f"('0x' || left(sha256(te.time_entry_key), 8))::bigint % 100 < {HELD_OUT_SHARE}"

CODED_SQL = f"""
with per_day as (  -- coded entries per code pair and day
    select task_code, activity_code, entry_date, count(*) as entries
    from marts.fct_time_entries
    where task_code is not null and activity_code is not null
    group by all
),
ranked as (  -- per pair and day: the entries of that day and newer ones (undated last)
    select *, sum(entries) over (partition by task_code, activity_code
                                 order by entry_date desc nulls last
                                 rows between unbounded preceding and current row) as newer,
           sum(entries) over (partition by task_code, activity_code) as pair_entries
    from per_day
),
cut as (  -- the day (null: the undated entries) on which a pair's count reaches $1, and how
          -- many entries newer days hold; a pair with fewer entries has none
    select task_code, activity_code, entry_date, newer - entries as before
    from ranked
    where newer >= $1 and newer - entries < $1
),
whole as (  -- pairs without a cut day: fewer entries, or cut on their undated entries (cut)
    select task_code, activity_code, bool_or(newer >= $1) as cut
    from ranked
    group by all
    having not bool_or(newer >= $1 and newer - entries < $1 and entry_date is not null)
),
sample as (
    -- A pair cut on a day: every entry newer than that day. The bounds compared with
    -- subqueries below (earliest cut day, task codes of whole pairs) only let the scan skip
    -- what no branch takes: only those rows' narratives are read, not all 4M.
    select te.time_entry_key, te.task_code, te.activity_code, te.narrative, te.matter_number,
           te.timekeeper_id
    from marts.fct_time_entries te
    join cut c on c.task_code = te.task_code and c.activity_code = te.activity_code
    where te.entry_date > c.entry_date
      and te.entry_date > (select min(entry_date) from cut)
    union all
    -- A pair without a cut day: every dated entry, and every undated one unless cut on them.
    select te.time_entry_key, te.task_code, te.activity_code, te.narrative, te.matter_number,
           te.timekeeper_id
    from marts.fct_time_entries te
    join whole w on w.task_code = te.task_code and w.activity_code = te.activity_code
    where (te.entry_date is not null or not w.cut)
      and te.task_code >= (select min(task_code) from whole)
      and te.task_code <= (select max(task_code) from whole)
    union all
    -- And the newest entries (by key) of the cut day (or undated ones) that fill the sample:
    -- only those entries are ranked.
    select time_entry_key, task_code, activity_code, narrative, matter_number, timekeeper_id
    from (
        select te.time_entry_key, te.task_code, te.activity_code, te.narrative,
               te.matter_number, te.timekeeper_id, c.before
        from marts.fct_time_entries te
        join cut c on c.task_code = te.task_code and c.activity_code = te.activity_code
                  and c.entry_date = te.entry_date
        where te.entry_date >= (select min(entry_date) from cut)
        union all
        select te.time_entry_key, te.task_code, te.activity_code, te.narrative,
               te.matter_number, te.timekeeper_id, c.before
        from marts.fct_time_entries te
        join cut c on c.task_code = te.task_code and c.activity_code = te.activity_code
        where c.entry_date is null and te.entry_date is null
    )
    qualify row_number() over (partition by task_code, activity_code
                               order by time_entry_key desc) <= $1 - before
),
pairs as (select distinct task_code, activity_code, pair_entries from ranked)
select te.task_code || '|' || te.activity_code as pair, {HELD_SQL} as held,
       te.narrative, m.practice_area, t.classification, count(*) as entries,
       p.pair_entries
from sample te
join pairs p on p.task_code = te.task_code and p.activity_code = te.activity_code
left join marts.dim_matters m on m.matter_number = te.matter_number
left join marts.dim_timekeepers t on t.timekeeper_id = te.timekeeper_id
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
    model whose counts and prior leave those entries out. The sample comes counted per
    (pair, held out, document): every count and accuracy is the one of entry-by-entry work."""
    with warehouse(serving_db) as con:
        coded = _frame(con, CODED_SQL, [train_per_pair])
        uncoded = _frame(con, UNCODED_SQL)
    return learn_codes(coded, uncoded)


def learn_codes(coded: pl.DataFrame, uncoded: pl.DataFrame) -> CodeSuggestions:
    """The model, its held-out accuracy and its suggestions for ``uncoded`` (UNCODED_SQL's
    rows), from ``coded``: CODED_SQL's rows, sampled entries counted per (pair, held out,
    narrative, practice area, classification) in ``entries``, with ``pair_entries``. Rows may
    repeat a (pair, held out, document) or count one entry each: the result is the same."""
    if coded.height == 0:
        return CodeSuggestions(pl.DataFrame(), 0, 0, None, None, None, None)
    # Tokens are counted once per distinct document, as ids: the final model learns from every
    # sampled entry, the evaluated model from the sampled entries not held out (the same as
    # fitting on those alone: only the tokens and classes they contain).
    docs, doc_of = distinct_docs(coded)
    ids, lens, vocab_frame = encode_frame(docs)
    vocab = dict(zip(vocab_frame["token"].to_list(), vocab_frame["id"].to_list(), strict=True))
    held = coded["held"].to_numpy().astype(bool)
    weight = coded["entries"].to_numpy().astype(np.int64)  # entries per row of ``coded``
    # classes: the code pairs in sorted order (polars sorts text by code point, as Python)
    class_frame = (coded.group_by("pair").agg(pl.col("pair_entries").first())
                   .sort("pair").with_row_index("lab"))
    classes = class_frame["pair"].to_list()
    lab = coded.select("pair").join(class_frame, on="pair", how="left", maintain_order="left"
                                    )["lab"].to_numpy().astype(np.int64)
    task_of = np.array([c.split("|")[0] for c in classes], dtype=object)
    activity_of = np.array([c.split("|")[1] for c in classes], dtype=object)
    counts = entry_class_counts(ids, lens, doc_of, lab, len(classes), len(vocab), weight)
    prior = class_frame["pair_entries"].to_numpy().astype(np.float64)
    final = NaiveBayes.from_counts(classes, vocab, counts, prior)
    n_train, n_test = int(weight[~held].sum()), int(weight[held].sum())
    task_acc = act_acc = pair_acc = major = None
    if n_train and n_test:
        tr_counts = entry_class_counts(ids, lens, doc_of[~held], lab[~held], len(classes),
                                       len(vocab), weight[~held])
        tr_docs = np.bincount(lab[~held], weights=weight[~held], minlength=len(classes))
        # the evaluated model's prior: every coded entry but the held-out ones it is tested on
        tested = np.bincount(lab[held], weights=weight[held], minlength=len(classes))
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
        test_y, test_n = lab[held], weight[held]

        def right(hit: np.ndarray) -> float:  # share of held-out entries (not rows)
            return int(test_n[hit].sum()) / n_test

        pair_acc = right(got == test_y)
        task_acc = right(task_of[got] == task_of[test_y])
        act_acc = right(activity_of[got] == activity_of[test_y])
        major = right(test_y == int(np.argmax(tr_docs)))
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
