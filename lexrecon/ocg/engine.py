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
"""
from __future__ import annotations

import string
from collections.abc import Sequence
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


def evaluate(lines: pl.DataFrame, rules: Sequence[Rules]) -> pl.DataFrame:
    """Every OCG finding of ``lines`` under ``rules`` (see the module docstring)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in lines.columns]
    if missing:
        raise ValueError(f"lines frame lacks column(s) {', '.join(missing)}")
    if lines.height == 0 or not rules:
        return empty_findings()
    frame = prepare(lines)
    out: list[pl.DataFrame] = []
    for rule_set in rules:
        client_lines = frame.filter(pl.col("_client") == rule_set.client_id)
        if client_lines.height:
            out.extend(apply_rules(client_lines, rule_set))
    return combine_findings(out)


def prepare(lines: pl.DataFrame) -> pl.DataFrame:
    """The lines with their values read (``_`` columns) and invoice-level values attached."""
    frame = lines.with_columns(
        *[_as_ledes_text(c, lines.schema[c]) for c in REQUIRED_COLUMNS if c != "record_no"],
        pl.col("record_no").cast(pl.Int64),
    )
    frame = frame.sort(["file", "record_no"], maintain_order=True).with_columns(
        _inv=text("invoice_number"),
        _line=text("line_item_number"),
        _type=text("exp_fee_inv_adj_type"),
        _tk=text("timekeeper_id"),
        _class=text("timekeeper_classification"),
        _task=text("line_item_task_code"),
        _act=text("line_item_activity_code"),
        _exp=text("line_item_expense_code"),
        _desc=pl.col("line_item_description").fill_null(""),
        _desc_lower=pl.col("line_item_description").fill_null("").str.to_lowercase(),
        _units=number("line_item_number_of_units"),
        _cost=number("line_item_unit_cost"),
        _total=number("line_item_total"),
        _date=date("line_item_date"),
        _date_text=text("line_item_date"),
    )
    return frame.with_columns(
        _client=pl.col("client_id").fill_null("").str.strip_chars().first().over(INVOICE),
        _inv_date=date("invoice_date").first().over(INVOICE),
    )


def _as_ledes_text(column: str, dtype: pl.DataType) -> pl.Expr:
    """A warehouse column as LEDES text: dates as YYYYMMDD, numbers and others as text."""
    if dtype.is_temporal():
        return pl.col(column).dt.strftime("%Y%m%d")
    return pl.col(column).cast(pl.Utf8)


def apply_rules(frame: pl.DataFrame, rules: Rules) -> list[pl.DataFrame]:
    """Findings of one client's rules on that client's prepared lines."""
    frame = _with_caps(frame, rules)
    fees = frame.filter(FEE)
    if rules.duplicate_lines or (rules.vague is not None and rules.vague.phrases):
        fees = fees.with_columns(_norm_desc=normalised(pl.col("_desc")))
    out: list[pl.DataFrame] = []
    for check, lines in (
        (_rate_cap, fees), (_tk_unapproved, fees), (_block_billing, fees), (_vague, fees),
        (_increment, fees), (_daily_max, fees), (_task_code, fees), (_travel, fees),
        (_duplicate, fees), (_admin, fees), (_expense_disallowed, frame), (_late, frame),
    ):
        found = check(lines, rules)
        if found is not None and found.height:
            out.append(found)
    return out


def _finding(frame: pl.DataFrame, code: str, where: pl.Expr, message: pl.Expr,
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
    )


def _dec(value: Decimal | int) -> pl.Expr:
    return pl.lit(Decimal(value)).cast(DECIMAL)


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


def _with_caps(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Attach ``_cap``: the timekeeper's own cap, else its classification's (null: none)."""
    caps = rules.rate_caps
    by_tk = dict(caps.by_timekeeper) if caps else {}
    by_class = dict(caps.by_classification) if caps else {}
    tk_caps = pl.DataFrame(
        {"_tk": list(by_tk), "_cap_tk": pl.Series(list(by_tk.values()), dtype=DECIMAL)},
        schema={"_tk": pl.Utf8, "_cap_tk": DECIMAL},
    )
    class_caps = pl.DataFrame(
        {"_class": list(by_class),
         "_cap_class": pl.Series(list(by_class.values()), dtype=DECIMAL)},
        schema={"_class": pl.Utf8, "_cap_class": DECIMAL},
    )
    return (
        frame.join(tk_caps, on="_tk", how="left", maintain_order="left")
        .join(class_caps, on="_class", how="left", maintain_order="left")
        .with_columns(
            _cap=pl.coalesce("_cap_tk", "_cap_class"),
            _cap_basis=pl.when(pl.col("_cap_tk").is_not_null())
            .then(pl.lit("timekeeper cap"))
            .otherwise(pl.concat_str(pl.lit("cap for "), pl.col("_class"))),
        )
    )


def _rate_cap(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    if rules.rate_caps is None:
        return None
    where = FEE & pl.col("_units").is_not_null() & (pl.col("_cost") > pl.col("_cap"))
    message = pl.concat_str(
        pl.lit("timekeeper "), pl.col("_tk"), pl.lit(" billed "), _show(pl.col("_cost")),
        pl.lit(" per hour, above the "), pl.col("_cap_basis"), pl.lit(" "),
        _show(pl.col("_cap")),
    )
    return _finding(frame, "RATE_CAP", where, message,
                    (pl.col("_cost") - pl.col("_cap")) * pl.col("_units"))


def _tk_unapproved(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    if rules.approved_timekeepers is None:
        return None
    where = FEE & (pl.col("_tk") != "") & ~pl.col("_tk").is_in(rules.approved_timekeepers)
    message = pl.concat_str(
        pl.lit("timekeeper "), pl.col("_tk"), pl.lit(" is not approved by "),
        pl.lit(rules.client_name or rules.client_id),
    )
    return _finding(frame, "TK_UNAPPROVED", where, message, pl.col("_total"))


def _block_billing(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    if rules.block_billing_max_tasks is None:
        return None
    clauses = (
        pl.col("_desc").str.split(";")
        .list.eval(pl.element().str.strip_chars().str.len_chars() > 0).list.sum()
    )
    # Without a ';' a description is one clause at most, never over max_tasks (>= 1).
    frame = frame.filter(pl.col("_desc").str.contains(";", literal=True))
    frame = frame.with_columns(_clauses=clauses)
    where = FEE & (pl.col("_clauses") > rules.block_billing_max_tasks)
    message = pl.concat_str(
        pl.lit("description holds "), pl.col("_clauses").cast(pl.Utf8),
        pl.lit(f" tasks separated by ';' (at most {rules.block_billing_max_tasks} per entry)"),
    )
    return _finding(frame, "BLOCK_BILLING", where, message, pl.col("_total"))


def _vague(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    vague = rules.vague
    if vague is None:
        return None
    phrases = (
        pl.DataFrame({"p": list(vague.phrases)}, schema={"p": pl.Utf8})
        .select(normalised(pl.col("p"))).get_column("p").to_list()
    )
    words = pl.col("_desc").str.count_matches(r"\S+")
    too_short = (words < vague.min_words) if vague.min_words is not None else pl.lit(False)
    stock = pl.col("_norm_desc").is_in(phrases) if phrases else pl.lit(False)
    message = pl.concat_str([
        pl.lit("description "), _quoted("_desc"), pl.lit(" is too vague: "),
        pl.concat_str([
            pl.when(too_short).then(pl.concat_str(
                words.cast(pl.Utf8), pl.lit(f" word(s), fewer than {vague.min_words}"))),
            pl.when(stock).then(pl.lit("a stock phrase the client rejects")),
        ], separator="; ", ignore_nulls=True),
    ])
    return _finding(frame, "VAGUE", FEE & (too_short | stock), message, pl.col("_total"))


def _increment(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    step = rules.billing_increment_hours
    if step is None:
        return None
    where = FEE & pl.col("_units").is_not_null() & ((pl.col("_units") % _dec(step)) != 0)
    message = pl.concat_str(
        pl.lit("units "), text("line_item_number_of_units"),
        pl.lit(f" are not a whole multiple of the billing increment {step} hours"),
    )
    return _finding(frame, "INCREMENT", where, message, None)


def _daily_max(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    limit = rules.max_daily_hours
    if limit is None:
        return None
    day = ["_tk", "_date"]
    counted = FEE & (pl.col("_tk") != "") & pl.col("_date").is_not_null()
    frame = frame.filter(counted & pl.col("_units").is_not_null()).with_columns(
        _day_hours=pl.col("_units").sum().over(day),
    )
    message = pl.concat_str(
        pl.lit("timekeeper "), pl.col("_tk"), pl.lit(" billed "), _show(pl.col("_day_hours")),
        pl.lit(" hours on "), pl.col("_date_text"),
        pl.lit(f" across the invoices checked, more than the daily maximum {limit}"),
    )
    return _finding(frame, "DAILY_MAX", pl.col("_day_hours") > _dec(limit), message, None)


def _code_allowed(column: str, patterns: Sequence[str]) -> pl.Expr:
    tests = [
        pl.col(column).str.starts_with(p[:-1]) if p.endswith("*") else pl.col(column) == p
        for p in patterns
    ]
    return pl.any_horizontal(tests) if tests else pl.lit(False)


def _task_code(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    checks = [
        (label, column, allowed)
        for label, column, allowed in (
            ("task", "_task", rules.allowed_task_codes),
            ("activity", "_act", rules.allowed_activity_codes),
        )
        if allowed is not None
    ]
    if not checks:
        return None
    problems = []
    for label, column, allowed in checks:
        blank = pl.col(column) == ""
        problems.append(
            pl.when(blank).then(pl.lit(f"{label} code is blank"))
            .when(~_code_allowed(column, allowed)).then(pl.concat_str(
                pl.lit(f"{label} code "), _quoted(column),
                pl.lit(f" is not allowed (allowed: {', '.join(allowed)})"),
            ))
        )
    frame = frame.with_columns(
        _problem=pl.concat_str(problems, separator="; ", ignore_nulls=True).fill_null("")
    )
    return _finding(frame, "TASK_CODE", FEE & (pl.col("_problem") != ""), pl.col("_problem"),
                    pl.col("_total"))


def _expense_disallowed(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    codes = rules.disallowed_expense_codes
    if codes is None:
        return None
    message = pl.concat_str(pl.lit("expense code "), pl.col("_exp"),
                            pl.lit(" is not reimbursed under the guidelines"))
    return _finding(frame, "EXPENSE_DISALLOWED", EXPENSE & pl.col("_exp").is_in(codes),
                    message, pl.col("_total"))


def _travel(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    travel = rules.travel
    if travel is None:
        return None
    group = [*INVOICE, "_tk"]
    fees = frame.filter(FEE & pl.col("_cost").is_not_null())
    trips = fees.filter(_contains_any(travel.keywords) & pl.col("_units").is_not_null())
    if trips.height == 0:
        return None
    # Only the timekeepers' lines in invoices with travel matter for the other-rate fallback.
    fees = fees.join(trips.select(group).unique(), on=group, how="semi",
                     nulls_equal=True, maintain_order="left")
    top = pl.col("_cost").max().over(group)
    at_top = (pl.col("_cost") == top).sum().over(group)
    second = pl.when(pl.col("_cost") < top).then(pl.col("_cost")).otherwise(None).max().over(group)
    fees = fees.with_columns(
        _other_max=pl.when((pl.col("_cost") == top) & (at_top == 1)).then(second).otherwise(top),
    ).with_columns(
        _base=pl.coalesce("_cap", "_other_max"),
        _basis=pl.when(pl.col("_cap").is_not_null()).then(pl.col("_cap_basis"))
        .otherwise(pl.lit("highest other rate of the timekeeper in the invoice")),
    ).with_columns(_travel_rate=(_dec(travel.rate_factor) * pl.col("_base")).cast(DECIMAL))
    where = (
        _contains_any(travel.keywords)
        & pl.col("_units").is_not_null()
        & (pl.col("_cost") > pl.col("_travel_rate"))
    )
    message = pl.concat_str(
        pl.lit("travel billed at "), _show(pl.col("_cost")),
        pl.lit(f" per hour, above {travel.rate_factor} x "), pl.col("_basis"), pl.lit(" "),
        _show(pl.col("_base")), pl.lit(" = "), _show(pl.col("_travel_rate")),
    )
    return _finding(fees, "TRAVEL", where, message,
                    (pl.col("_cost") - pl.col("_travel_rate")) * pl.col("_units"))


def _late(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    days = rules.submission_deadline_days
    if days is None:
        return None
    age = (pl.col("_inv_date") - pl.col("_date")).dt.total_days()
    message = pl.concat_str(
        pl.lit("work dated "), pl.col("_date_text"), pl.lit(" was invoiced "),
        age.cast(pl.Utf8), pl.lit(f" days later (limit {days} days)"),
    )
    return _finding(frame, "LATE", age > days, message, pl.col("_total"))


def _duplicate(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    if not rules.duplicate_lines:
        return None
    keys = [*INVOICE, "_tk", "_date_text", "_units", "_task", "_act", "_norm_desc"]
    fees = frame.filter(FEE & pl.col("_units").is_not_null())
    # Only the (rare) repeated entries need the window below.
    fees = fees.filter(pl.struct(keys).is_duplicated()).with_columns(
        _nth=pl.int_range(pl.len()).over(keys),
        _first=pl.col("record_no").first().over(keys),
    )
    message = pl.concat_str(
        pl.lit("repeats the fee on line "), pl.col("_first").cast(pl.Utf8),
        pl.lit(" (same timekeeper, date, units, codes and description)"),
    )
    return _finding(fees, "DUPLICATE", pl.col("_nth") > 0, message, pl.col("_total"))


def _admin(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame | None:
    keywords = rules.admin_keywords
    if keywords is None:
        return None
    message = pl.concat_str(pl.lit("administrative work is not billable: "), _quoted("_desc"))
    return _finding(frame, "ADMIN", FEE & _contains_any(keywords), message,
                    pl.col("_total"))
