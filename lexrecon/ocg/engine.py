"""The OCG rules engine: apply clients' rules files to invoice lines, vectorised with polars.

Public API (the one implementation of each rule, shared by ``lexrecon check`` and the
warehouse's OCG violations mart):

``evaluate(lines: pl.DataFrame, rules: Sequence[Rules]) -> pl.DataFrame``
    ``lines`` is any frame with these Utf8 columns (nulls read as blank; extra columns are
    ignored), named by :func:`lexrecon.ledes.fields.column_name`:
    ``file, record_no (integer: line order within the file), invoice_number, client_id,
    invoice_date, line_item_number, exp_fee_inv_adj_type, line_item_number_of_units,
    line_item_total, line_item_date, line_item_task_code, line_item_expense_code,
    line_item_activity_code, timekeeper_id, line_item_description, line_item_unit_cost,
    timekeeper_classification`` (see ``REQUIRED_COLUMNS``). A frame from
    :func:`lexrecon.ledes.parser.parse_ledes` has them; the warehouse builds one from its
    invoice lines (``file`` = any source label, ``record_no`` = line order). Columns that
    are not Utf8 are converted: Date/Datetime to YYYYMMDD, numbers (e.g. Decimal) to text.

    Invoices are grouped by (``file``, ``invoice_number``); the invoice's CLIENT_ID and
    INVOICE_DATE come from its first row by ``record_no``. A ``Rules`` applies to the
    invoices whose CLIENT_ID equals its ``client_id``; DAILY_MAX adds up over every file in
    ``lines`` for that client.

    Returns a findings frame (:data:`lexrecon.ledes.findings.FINDING_SCHEMA`): ``file,
    invoice_number, line_item_number, code, severity, message, amount_at_risk`` (Utf8;
    ``amount_at_risk`` a decimal string with 2 places, rounded half-up, or null) and
    ``record_no``; one row per (file, invoice, line, code), ordered by file and record.

Values that cannot be read (an invalid number or date) switch off the rules that need them
for that line; the LEDES file checks report those. Money is ``pl.Decimal``, never float.

How it runs: the rules become tables (one row per rules file with its parameters, plus one row
per rate cap, approved timekeeper, stock phrase, allowed code pattern and disallowed expense
code), the lines are joined to the rules of their invoice's client, and each rule kind is
evaluated once over every client's lines (joins on the rule's tables, windows partitioned by
rules file). Only the lines of clients with a rules file are read further than their client.
Findings come out in the order a loop over the rules files (then over the rule kinds) gives.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from lexrecon.ledes.findings import combine_findings, empty_findings
from lexrecon.ledes.values import DECIMAL, date, money_text, normalised, number, text
from lexrecon.ocg.rules import Rules

REQUIRED_COLUMNS: tuple[str, ...] = (
    "file", "record_no", "invoice_number", "client_id", "invoice_date", "line_item_number",
    "exp_fee_inv_adj_type", "line_item_number_of_units", "line_item_total", "line_item_date",
    "line_item_task_code", "line_item_expense_code", "line_item_activity_code",
    "timekeeper_id", "line_item_description", "line_item_unit_cost",
    "timekeeper_classification",
)
INVOICE = ["file", "_inv"]
FEE = pl.col("_type") == "F"
EXPENSE = pl.col("_type") == "E"
NUMBER_COLUMNS = ("line_item_number_of_units", "line_item_unit_cost", "line_item_total")
DATE_COLUMNS = ("invoice_date", "line_item_date")
# The rule kinds, in the order their findings are listed for one rules file.
(RATE_CAP, TK_UNAPPROVED, BLOCK_BILLING, VAGUE, INCREMENT, DAILY_MAX, TASK_CODE, TRAVEL,
 DUPLICATE, ADMIN, EXPENSE_DISALLOWED, LATE) = range(12)


def evaluate(lines: pl.DataFrame, rules: Sequence[Rules]) -> pl.DataFrame:
    """Every OCG finding of ``lines`` under ``rules`` (see the module docstring)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in lines.columns]
    if missing:
        raise ValueError(f"lines frame lacks column(s) {', '.join(missing)}")
    if lines.height == 0 or not rules:
        return empty_findings()
    tables = RuleTables.of(rules)
    frame = prepare(lines, tables.rules)
    if frame.height == 0:
        return empty_findings()
    fees = frame.filter(FEE)
    if tables.normalise:
        fees = fees.with_columns(_norm_desc=normalised(pl.col("_desc")))
    found = [
        check(frame if check in (_expense_disallowed, _late) else fees, tables)
        for check in (_rate_cap, _tk_unapproved, _block_billing, _vague, _increment,
                      _daily_max, _task_code, _travel, _duplicate, _admin,
                      _expense_disallowed, _late)
    ]
    parts = [f for f in found if f is not None and f.height]
    if not parts:
        return empty_findings()
    # The order of a loop over rules files, then rule kinds, then lines: combine_findings
    # keeps the first of merged messages and orders files by their first finding.
    return combine_findings([pl.concat(parts).sort("_rule", "_check", "_row")])


@dataclass(frozen=True)
class RuleTables:
    """The rules files as tables: ``rules`` one row per file (``_rule`` = its position),
    the others one row per listed value, keyed by ``_rule``."""

    rules: pl.DataFrame
    tk_caps: pl.DataFrame
    class_caps: pl.DataFrame
    approved: pl.DataFrame
    phrases: pl.DataFrame
    codes: pl.DataFrame
    expenses: pl.DataFrame
    travel_sets: tuple[tuple[str, ...], ...]
    admin_sets: tuple[tuple[str, ...], ...]
    normalise: bool

    @classmethod
    def of(cls, rules: Sequence[Rules]) -> RuleTables:
        travel_sets = _distinct(r.travel.keywords for r in rules if r.travel is not None)
        admin_sets = _distinct(r.admin_keywords for r in rules if r.admin_keywords is not None)
        exact = _exact_decimals(
            [r.billing_increment_hours for r in rules] + [r.max_daily_hours for r in rules]
            + [r.travel.rate_factor for r in rules if r.travel is not None])
        row: dict[str, list] = {k: [] for k in (
            "_client", "_label", "_approved_on", "_max_tasks", "_vague_on", "_min_words",
            "_step", "_step_text", "_limit", "_limit_text", "_task_on", "_task_list",
            "_act_on", "_act_list", "_travel_set", "_factor", "_factor_text", "_deadline",
            "_dup", "_admin_set")}
        tk_caps: dict[str, list] = {"_rule": [], "_tk": [], "_cap_tk": []}
        class_caps: dict[str, list] = {"_rule": [], "_class": [], "_cap_class": []}
        approved: dict[str, list] = {"_rule": [], "_tk": []}
        phrases: dict[str, list] = {"_rule": [], "_phrase": []}
        codes: dict[str, list] = {"_rule": [], "_kind": [], "_pattern": []}
        expenses: dict[str, list] = {"_rule": [], "_exp": []}
        for i, r in enumerate(rules):
            caps = r.rate_caps
            for table, values, key, cap in ((tk_caps, caps.by_timekeeper if caps else {},
                                             "_tk", "_cap_tk"),
                                            (class_caps, caps.by_classification if caps else {},
                                             "_class", "_cap_class")):
                table["_rule"] += [i] * len(values)
                table[key] += list(values)
                table[cap] += list(values.values())
            approved["_rule"] += [i] * len(r.approved_timekeepers or ())
            approved["_tk"] += list(r.approved_timekeepers or ())
            vague = r.vague
            phrases["_rule"] += [i] * len(vague.phrases if vague else ())
            phrases["_phrase"] += list(vague.phrases if vague else ())
            for kind, allowed in (("task", r.allowed_task_codes),
                                  ("act", r.allowed_activity_codes)):
                codes["_rule"] += [i] * len(allowed or ())
                codes["_kind"] += [kind] * len(allowed or ())
                codes["_pattern"] += list(allowed or ())
            expenses["_rule"] += [i] * len(r.disallowed_expense_codes or ())
            expenses["_exp"] += list(r.disallowed_expense_codes or ())
            travel = r.travel
            for key, value in (
                ("_client", r.client_id), ("_label", r.client_name or r.client_id),
                ("_approved_on", r.approved_timekeepers is not None),
                ("_max_tasks", r.block_billing_max_tasks), ("_vague_on", vague is not None),
                ("_min_words", vague.min_words if vague else None),
                ("_step", exact.get(r.billing_increment_hours)),
                ("_step_text", _text(r.billing_increment_hours)),
                ("_limit", exact.get(r.max_daily_hours)),
                ("_limit_text", _text(r.max_daily_hours)),
                ("_task_on", r.allowed_task_codes is not None),
                ("_task_list", ", ".join(r.allowed_task_codes or ())),
                ("_act_on", r.allowed_activity_codes is not None),
                ("_act_list", ", ".join(r.allowed_activity_codes or ())),
                ("_travel_set", travel_sets.index(travel.keywords) if travel else None),
                ("_factor", exact[travel.rate_factor] if travel else None),
                ("_factor_text", str(travel.rate_factor) if travel else None),
                ("_deadline", r.submission_deadline_days), ("_dup", r.duplicate_lines),
                ("_admin_set", admin_sets.index(r.admin_keywords)
                 if r.admin_keywords is not None else None),
            ):
                row[key].append(value)
        types = {"_max_tasks": pl.Int64, "_min_words": pl.Int64, "_step": DECIMAL,
                 "_limit": DECIMAL, "_travel_set": pl.Int64, "_factor": DECIMAL,
                 "_deadline": pl.Int64, "_admin_set": pl.Int64, "_approved_on": pl.Boolean,
                 "_vague_on": pl.Boolean, "_task_on": pl.Boolean, "_act_on": pl.Boolean,
                 "_dup": pl.Boolean}
        table = pl.DataFrame(
            {k: pl.Series(k, v, dtype=types.get(k, pl.Utf8)) for k, v in row.items()}
        ).with_row_index("_rule").with_columns(pl.col("_rule").cast(pl.Int64))
        phrase_frame = pl.DataFrame(phrases, schema={"_rule": pl.Int64, "_phrase": pl.Utf8})
        return cls(
            rules=table,
            tk_caps=_keyed(tk_caps, "_tk", "_cap_tk", DECIMAL),
            class_caps=_keyed(class_caps, "_class", "_cap_class", DECIMAL),
            approved=_keyed(approved, "_tk"),  # anti-joined only: repeats do not matter
            phrases=phrase_frame.select("_rule", _norm_desc=normalised(pl.col("_phrase")))
            .unique().with_columns(_stock=pl.lit(True)),
            codes=pl.DataFrame(codes, schema={"_rule": pl.Int64, "_kind": pl.Utf8,
                                              "_pattern": pl.Utf8}).with_columns(
                _prefix=pl.col("_pattern").str.ends_with("*"),
                _stem=pl.col("_pattern").str.strip_suffix("*")),
            expenses=_keyed(expenses, "_exp").unique(),
            travel_sets=tuple(travel_sets),
            admin_sets=tuple(admin_sets),
            normalise=any(r.duplicate_lines or (r.vague is not None and r.vague.phrases)
                          for r in rules),
        )


def _distinct(values) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _exact_decimals(values: Sequence[Decimal | None]) -> dict[Decimal, Decimal]:
    """Each value as the engine compares with it: a literal cast to ``DECIMAL``."""
    distinct = list(dict.fromkeys(v for v in values if v is not None))
    if not distinct:
        return {}
    got = pl.select(*(pl.lit(Decimal(v)).cast(DECIMAL).alias(str(i))
                      for i, v in enumerate(distinct))).row(0)
    return dict(zip(distinct, got, strict=True))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _keyed(data: dict[str, list], key: str, value: str | None = None,
           dtype: pl.DataType | None = None) -> pl.DataFrame:
    schema = {"_rule": pl.Int64, key: pl.Utf8}
    if value is not None:
        schema[value] = dtype or pl.Utf8
        data = {**data, value: pl.Series(data[value], dtype=schema[value])}
    return pl.DataFrame(data, schema=schema)


def prepare(lines: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """The lines of the clients in ``rules`` (one row per line and rules file, ``_row`` its
    position in file and record order), with their values read (``_`` columns)."""
    frame = lines.select(
        *[_as_ledes_text(c, lines.schema[c]) for c in REQUIRED_COLUMNS
          if c not in ("record_no", *NUMBER_COLUMNS, *DATE_COLUMNS)],
        *[_typed(c, lines.schema[c]) for c in (*NUMBER_COLUMNS, *DATE_COLUMNS)],
        pl.col("record_no").cast(pl.Int64),
    )
    frame = (
        _with_invoice_client(frame.sort(["file", "record_no"], maintain_order=True)
                             .with_row_index("_row"))
        .join(rules, on="_client", how="inner", maintain_order="left")
    )
    return frame.with_columns(
        _line=text("line_item_number"),
        _type=text("exp_fee_inv_adj_type"),
        _tk=text("timekeeper_id"),
        _class=text("timekeeper_classification"),
        _task=text("line_item_task_code"),
        _act=text("line_item_activity_code"),
        _exp=text("line_item_expense_code"),
        _desc=pl.col("line_item_description").fill_null(""),
        _desc_lower=pl.col("line_item_description").fill_null("").str.to_lowercase(),
        _units=_number(lines, "line_item_number_of_units"),
        _cost=_number(lines, "line_item_unit_cost"),
        _total=_number(lines, "line_item_total"),
        _date=_date(lines, "line_item_date"),
        _date_text=_date_text(lines, "line_item_date"),
        _inv_date=_date(lines, "invoice_date").first().over(INVOICE),
    ).drop("invoice_number", "client_id", "invoice_date", "line_item_number",
           "exp_fee_inv_adj_type", "line_item_unit_cost", "line_item_total",
           "line_item_date", "line_item_task_code", "line_item_activity_code",
           "line_item_expense_code", "timekeeper_id", "line_item_description",
           "timekeeper_classification")


def _with_invoice_client(frame: pl.DataFrame) -> pl.DataFrame:
    """``_inv`` (the invoice number read) and ``_client``: the CLIENT_ID of the invoice's first
    row (``frame`` in file and record order), the key its rules files are found by."""
    return frame.with_columns(_inv=text("invoice_number")).with_columns(
        _client=pl.col("client_id").fill_null("").str.strip_chars().first().over(INVOICE))


def governed_lines(lines: pl.DataFrame, rules: Sequence[Rules]) -> pl.Series:
    """Per row of ``lines``, in its order: whether its invoice's client has one of ``rules``
    (the rows :func:`evaluate` reads further than their client). Needs only ``file``,
    ``record_no``, ``invoice_number`` and ``client_id``. Evaluating only the rows marked true,
    each keeping its ``record_no``, gives the findings of evaluating every row: a rule reads
    only the lines of its own client's invoices, and whole invoices are kept or left out."""
    clients = pl.Series("_client", sorted({r.client_id for r in rules}), dtype=pl.Utf8)
    marked = _with_invoice_client(
        lines.select(
            *[_as_ledes_text(c, lines.schema[c]) for c in ("file", "invoice_number",
                                                           "client_id")],
            pl.col("record_no").cast(pl.Int64),
        ).with_row_index("_at").sort(["file", "record_no"], maintain_order=True)
    ).select("_at", _governed=pl.col("_client").is_in(clients.implode()))
    return marked.sort("_at").get_column("_governed").alias("governed")


def _as_ledes_text(column: str, dtype: pl.DataType) -> pl.Expr:
    """A warehouse column as LEDES text: dates as YYYYMMDD, numbers and others as text."""
    if dtype.is_temporal():
        return pl.col(column).dt.strftime("%Y%m%d")
    return pl.col(column).cast(pl.Utf8)


def _typed(column: str, dtype: pl.DataType) -> pl.Expr:
    """Number and date columns kept as they are when read directly (see ``_number``)."""
    return pl.col(column) if _direct(dtype) else _as_ledes_text(column, dtype)


def _direct(dtype: pl.DataType) -> bool:
    """Decimals of at most 6 places, integers and dates are read without a trip to text:
    the value is the one their text would read as (``DECIMAL`` holds them exactly)."""
    return ((isinstance(dtype, pl.Decimal) and (dtype.scale or 0) <= 6)
            or dtype.is_integer() or dtype == pl.Date)


def _number(lines: pl.DataFrame, column: str) -> pl.Expr:
    if not _direct(lines.schema[column]):
        return number(column)
    # A plain number has at most 15 digits before the point (values.NUMBER_PATTERN).
    value = pl.col(column).cast(DECIMAL, strict=False)
    limit = pl.lit(Decimal(10) ** 15).cast(DECIMAL)
    return pl.when((value < limit) & (value > -limit)).then(value)


def _date(lines: pl.DataFrame, column: str) -> pl.Expr:
    if lines.schema[column] != pl.Date:
        return date(column)
    # YYYYMMDD text exists (and reads back) for the years 1 to 9999.
    value = pl.col(column)
    return pl.when(value.dt.year().is_between(1, 9999)).then(value)


def _date_text(lines: pl.DataFrame, column: str) -> pl.Expr:
    if lines.schema[column] != pl.Date:
        return text(column)
    return pl.col(column).dt.strftime("%Y%m%d").fill_null("")


def _finding(frame: pl.DataFrame, check: int, code: str, where: pl.Expr, message: pl.Expr,
             amount: pl.Expr | None) -> pl.DataFrame:
    risk = money_text(amount) if amount is not None else pl.lit(None, dtype=pl.Utf8)
    return frame.filter(where).select(
        "file",
        pl.col("_inv").alias("invoice_number"),
        pl.col("_line").alias("line_item_number"),
        pl.lit(code).alias("code"),
        pl.lit("error").alias("severity"),
        pl.concat_str(pl.lit("line "), pl.col("record_no").cast(pl.Utf8), pl.lit(": "), message)
        .alias("message"),
        risk.alias("amount_at_risk"),
        "record_no",
        "_rule",
        pl.lit(check, dtype=pl.Int64).alias("_check"),
        "_row",
    )


def _show(expr: pl.Expr) -> pl.Expr:
    """A decimal for a message: 2 places, half-up."""
    return money_text(expr)


def _quoted(column: str) -> pl.Expr:
    return pl.concat_str(pl.lit("'"), pl.col(column).str.slice(0, 60), pl.lit("'"))


def _literal_pattern(text: str) -> str:
    """``text`` as a regular expression matching itself (ASCII punctuation escaped)."""
    return "".join("\\" + c if c in _PUNCTUATION else c for c in text)


_PUNCTUATION = frozenset(string.punctuation) - {"<", ">"}


def _contains_any(keywords: Sequence[str]) -> pl.Expr:
    """The description contains one of the keywords, ignoring case (one regex pass)."""
    if not keywords:
        return pl.lit(False)
    return pl.col("_desc_lower").str.contains("|".join(_literal_pattern(k.lower())
                                                        for k in keywords))


def _with_keyword_hits(frame: pl.DataFrame, set_column: str,
                       sets: Sequence[tuple[str, ...]]) -> pl.DataFrame:
    """``_hit``: the description holds one of the keywords of the line's rules file
    (``set_column``: the index of its keyword list in ``sets``; never null here). One regex
    pass per distinct keyword list, over the lines of the rules files that use it."""
    if len(sets) == 1 or frame.height == 0:
        return frame.with_columns(_hit=_contains_any(sets[0]))
    frame = frame.with_row_index("_at")
    hits = pl.concat([
        part.with_columns(_hit=_contains_any(sets[key])).select("_at", "_hit")
        for (key,), part in frame.select("_at", set_column, "_desc_lower")
        .partition_by(set_column, as_dict=True).items()
    ]).sort("_at")
    return frame.drop("_at").with_columns(_hit=hits.get_column("_hit"))


def _with_caps(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame:
    """Attach ``_cap``: the timekeeper's own cap, else its classification's (null: none)."""
    return (
        frame.join(tables.tk_caps, on=["_rule", "_tk"], how="left", maintain_order="left")
        .join(tables.class_caps, on=["_rule", "_class"], how="left", maintain_order="left")
        .with_columns(
            _cap=pl.coalesce("_cap_tk", "_cap_class"),
            _cap_basis=pl.when(pl.col("_cap_tk").is_not_null())
            .then(pl.lit("timekeeper cap"))
            .otherwise(pl.concat_str(pl.lit("cap for "), pl.col("_class"))),
        )
    )


def _rate_cap(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    if tables.tk_caps.height + tables.class_caps.height == 0:
        return None
    frame = _with_caps(frame.filter(pl.col("_units").is_not_null()
                                    & pl.col("_cost").is_not_null()), tables)
    where = pl.col("_cost") > pl.col("_cap")
    message = pl.concat_str(
        pl.lit("timekeeper "), pl.col("_tk"), pl.lit(" billed "), _show(pl.col("_cost")),
        pl.lit(" per hour, above the "), pl.col("_cap_basis"), pl.lit(" "),
        _show(pl.col("_cap")),
    )
    return _finding(frame, RATE_CAP, "RATE_CAP", where, message,
                    (pl.col("_cost") - pl.col("_cap")) * pl.col("_units"))


def _tk_unapproved(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    frame = frame.filter(pl.col("_approved_on") & (pl.col("_tk") != "")).join(
        tables.approved, on=["_rule", "_tk"], how="anti")
    message = pl.concat_str(
        pl.lit("timekeeper "), pl.col("_tk"), pl.lit(" is not approved by "), pl.col("_label"),
    )
    return _finding(frame, TK_UNAPPROVED, "TK_UNAPPROVED", pl.lit(True), message,
                    pl.col("_total"))


def _block_billing(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    clauses = (
        pl.col("_desc").str.split(";")
        .list.eval(pl.element().str.strip_chars().str.len_chars() > 0).list.sum()
    )
    # Without a ';' a description is one clause at most, never over max_tasks (>= 1).
    frame = frame.filter(pl.col("_max_tasks").is_not_null()
                         & pl.col("_desc").str.contains(";", literal=True))
    frame = frame.with_columns(_clauses=clauses)
    where = pl.col("_clauses") > pl.col("_max_tasks")
    message = pl.concat_str(
        pl.lit("description holds "), pl.col("_clauses").cast(pl.Utf8),
        pl.lit(" tasks separated by ';' (at most "), pl.col("_max_tasks").cast(pl.Utf8),
        pl.lit(" per entry)"),
    )
    return _finding(frame, BLOCK_BILLING, "BLOCK_BILLING", where, message, pl.col("_total"))


def _vague(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    frame = frame.filter(pl.col("_vague_on"))
    if tables.phrases.height:
        frame = frame.join(tables.phrases, on=["_rule", "_norm_desc"], how="left",
                           maintain_order="left")
        stock = pl.col("_stock").fill_null(False)
    else:
        stock = pl.lit(False)
    words = pl.col("_desc").str.count_matches(r"\S+")
    too_short = (words < pl.col("_min_words")).fill_null(False)
    message = pl.concat_str([
        pl.lit("description "), _quoted("_desc"), pl.lit(" is too vague: "),
        pl.concat_str([
            pl.when(too_short).then(pl.concat_str(
                words.cast(pl.Utf8), pl.lit(" word(s), fewer than "),
                pl.col("_min_words").cast(pl.Utf8))),
            pl.when(stock).then(pl.lit("a stock phrase the client rejects")),
        ], separator="; ", ignore_nulls=True),
    ])
    return _finding(frame, VAGUE, "VAGUE", too_short | stock, message, pl.col("_total"))


def _increment(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    frame = frame.filter(pl.col("_step").is_not_null() & pl.col("_units").is_not_null())
    where = (pl.col("_units") % pl.col("_step")) != 0
    message = pl.concat_str(
        pl.lit("units "),
        _as_ledes_text("line_item_number_of_units",
                       frame.schema["line_item_number_of_units"]).fill_null("").str.strip_chars(),
        pl.lit(" are not a whole multiple of the billing increment "), pl.col("_step_text"),
        pl.lit(" hours"),
    )
    return _finding(frame, INCREMENT, "INCREMENT", where, message, None)


def _daily_max(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    day = ["_rule", "_tk", "_date"]
    counted = (pl.col("_limit").is_not_null() & (pl.col("_tk") != "")
               & pl.col("_date").is_not_null() & pl.col("_units").is_not_null())
    frame = frame.filter(counted).with_columns(_day_hours=pl.col("_units").sum().over(day))
    message = pl.concat_str(
        pl.lit("timekeeper "), pl.col("_tk"), pl.lit(" billed "), _show(pl.col("_day_hours")),
        pl.lit(" hours on "), pl.col("_date_text"),
        pl.lit(" across the invoices checked, more than the daily maximum "),
        pl.col("_limit_text"),
    )
    return _finding(frame, DAILY_MAX, "DAILY_MAX", pl.col("_day_hours") > pl.col("_limit"),
                    message, None)


def _with_allowed(frame: pl.DataFrame, column: str, kind: str, codes: pl.DataFrame
                  ) -> pl.DataFrame:
    """``_ok_<kind>``: the code matches one of its rules file's allowed entries of that kind
    (an entry ending in ``*`` is a prefix); each distinct (rules file, code) is tested once."""
    patterns = codes.filter(pl.col("_kind") == kind)
    pairs = frame.select("_rule", column).unique()
    matched = pairs.join(patterns, on="_rule", how="inner").with_columns(
        _m=pl.when(pl.col("_prefix")).then(pl.col(column).str.starts_with(pl.col("_stem")))
        .otherwise(pl.col(column) == pl.col("_pattern"))
    ).group_by("_rule", column).agg(pl.col("_m").any().alias(f"_ok_{kind}"))
    return frame.join(matched, on=["_rule", column], how="left", maintain_order="left"
                      ).with_columns(pl.col(f"_ok_{kind}").fill_null(False))


def _task_code(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    frame = frame.filter(pl.col("_task_on") | pl.col("_act_on"))
    problems = []
    for label, column, kind in (("task", "_task", "task"), ("activity", "_act", "act")):
        frame = _with_allowed(frame, column, kind, tables.codes)
        on = pl.col(f"_{kind}_on")
        problems.append(
            pl.when(on & (pl.col(column) == "")).then(pl.lit(f"{label} code is blank"))
            .when(on & ~pl.col(f"_ok_{kind}")).then(pl.concat_str(
                pl.lit(f"{label} code "), _quoted(column),
                pl.lit(" is not allowed (allowed: "), pl.col(f"_{kind}_list"), pl.lit(")"),
            ))
        )
    frame = frame.with_columns(
        _problem=pl.concat_str(problems, separator="; ", ignore_nulls=True).fill_null("")
    )
    return _finding(frame, TASK_CODE, "TASK_CODE", pl.col("_problem") != "",
                    pl.col("_problem"), pl.col("_total"))


def _expense_disallowed(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    frame = frame.filter(EXPENSE).join(tables.expenses, on=["_rule", "_exp"], how="semi")
    message = pl.concat_str(pl.lit("expense code "), pl.col("_exp"),
                            pl.lit(" is not reimbursed under the guidelines"))
    return _finding(frame, EXPENSE_DISALLOWED, "EXPENSE_DISALLOWED", pl.lit(True), message,
                    pl.col("_total"))


def _travel(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    if not tables.travel_sets:
        return None
    group = ["_rule", *INVOICE, "_tk"]
    fees = frame.filter(pl.col("_travel_set").is_not_null() & pl.col("_cost").is_not_null())
    fees = _with_keyword_hits(fees, "_travel_set", tables.travel_sets)
    trips = fees.filter(pl.col("_hit") & pl.col("_units").is_not_null())
    if trips.height == 0:
        return None
    # Only the timekeepers' lines in invoices with travel matter for the other-rate fallback.
    fees = _with_caps(fees.join(trips.select(group).unique(), on=group, how="semi",
                                nulls_equal=True, maintain_order="left"), tables)
    top = pl.col("_cost").max().over(group)
    at_top = (pl.col("_cost") == top).sum().over(group)
    second = pl.when(pl.col("_cost") < top).then(pl.col("_cost")).otherwise(None).max().over(group)
    fees = fees.with_columns(
        _other_max=pl.when((pl.col("_cost") == top) & (at_top == 1)).then(second).otherwise(top),
    ).with_columns(
        _base=pl.coalesce("_cap", "_other_max"),
        _basis=pl.when(pl.col("_cap").is_not_null()).then(pl.col("_cap_basis"))
        .otherwise(pl.lit("highest other rate of the timekeeper in the invoice")),
    ).with_columns(_travel_rate=(pl.col("_factor") * pl.col("_base")).cast(DECIMAL))
    where = (
        pl.col("_hit")
        & pl.col("_units").is_not_null()
        & (pl.col("_cost") > pl.col("_travel_rate"))
    )
    message = pl.concat_str(
        pl.lit("travel billed at "), _show(pl.col("_cost")),
        pl.lit(" per hour, above "), pl.col("_factor_text"), pl.lit(" x "), pl.col("_basis"),
        pl.lit(" "), _show(pl.col("_base")), pl.lit(" = "), _show(pl.col("_travel_rate")),
    )
    return _finding(fees, TRAVEL, "TRAVEL", where, message,
                    (pl.col("_cost") - pl.col("_travel_rate")) * pl.col("_units"))


def _late(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    frame = frame.filter(pl.col("_deadline").is_not_null())
    age = (pl.col("_inv_date") - pl.col("_date")).dt.total_days()
    message = pl.concat_str(
        pl.lit("work dated "), pl.col("_date_text"), pl.lit(" was invoiced "),
        age.cast(pl.Utf8), pl.lit(" days later (limit "), pl.col("_deadline").cast(pl.Utf8),
        pl.lit(" days)"),
    )
    return _finding(frame, LATE, "LATE", age > pl.col("_deadline"), message, pl.col("_total"))


def _duplicate(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    if not tables.rules.get_column("_dup").any():
        return None
    keys = ["_rule", *INVOICE, "_tk", "_date_text", "_units", "_task", "_act", "_norm_desc"]
    fees = frame.filter(pl.col("_dup") & pl.col("_units").is_not_null())
    # Only the (rare) repeated entries need the window below, in line order.
    fees = fees.filter(pl.struct(keys).is_duplicated()).sort("_row").with_columns(
        _nth=pl.int_range(pl.len()).over(keys),
        _first=pl.col("record_no").first().over(keys),
    )
    message = pl.concat_str(
        pl.lit("repeats the fee on line "), pl.col("_first").cast(pl.Utf8),
        pl.lit(" (same timekeeper, date, units, codes and description)"),
    )
    return _finding(fees, DUPLICATE, "DUPLICATE", pl.col("_nth") > 0, message, pl.col("_total"))


def _admin(frame: pl.DataFrame, tables: RuleTables) -> pl.DataFrame | None:
    if not tables.admin_sets:
        return None
    frame = _with_keyword_hits(frame.filter(pl.col("_admin_set").is_not_null()), "_admin_set",
                               tables.admin_sets)
    message = pl.concat_str(pl.lit("administrative work is not billable: "), _quoted("_desc"))
    return _finding(frame, ADMIN, "ADMIN", pl.col("_hit"), message, pl.col("_total"))
