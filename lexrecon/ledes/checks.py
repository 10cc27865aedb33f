"""The LEDES file checks (codes LEDES_*), vectorised over a line-record frame.

``check_file(parsed)`` returns every finding of one parsed file: the structural ones found
while parsing plus the field, arithmetic and invoice checks below. ``check_lines`` runs the
latter on any frame shaped like :attr:`LedesFile.lines` (several files may be stacked; they
are told apart by the ``file`` column). See shared/spec/check-contract.md for each code.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import polars as pl

from lexrecon.ledes.fields import FIELDS_1998B, FIELDS_1998BI, column_name
from lexrecon.ledes.findings import combine_findings, empty_findings
from lexrecon.ledes.parser import LedesFile
from lexrecon.ledes.values import (
    DECIMAL,
    NON_NEGATIVE_ON_FEES_AND_EXPENSES,
    date,
    is_bad_date,
    is_bad_number,
    is_blank,
    is_negative_on_fee_or_expense,
    money_text,
    number,
    text,
)

TOLERANCE = Decimal("0.01")
LINE_TYPES = ("F", "E", "IF", "IE")
REQUIRED_FIELDS = (
    "INVOICE_DATE", "INVOICE_NUMBER", "CLIENT_ID", "LAW_FIRM_MATTER_ID", "INVOICE_TOTAL",
    "LINE_ITEM_NUMBER", "EXP/FEE/INV_ADJ_TYPE", "LINE_ITEM_TOTAL", "LINE_ITEM_DATE",
    "LAW_FIRM_ID",
)
REQUIRED_ON_FEES_AND_EXPENSES = ("LINE_ITEM_NUMBER_OF_UNITS", "LINE_ITEM_UNIT_COST")
REQUIRED_ON_FEES = ("TIMEKEEPER_ID", "TIMEKEEPER_NAME")
REQUIRED_ON_FEES_1998BI = ("TIMEKEEPER_LAST_NAME",)
DATE_FIELDS = ("INVOICE_DATE", "BILLING_START_DATE", "BILLING_END_DATE", "LINE_ITEM_DATE")
NUMBER_FIELDS = (
    "INVOICE_TOTAL", "LINE_ITEM_NUMBER_OF_UNITS", "LINE_ITEM_ADJUSTMENT_AMOUNT",
    "LINE_ITEM_TOTAL", "LINE_ITEM_UNIT_COST",
)
NUMBER_FIELDS_1998BI = (
    "INVOICE_TAX_TOTAL", "INVOICE_NET_TOTAL", "LINE_ITEM_TAX_TOTAL",
    "INVOICE_REPORTED_TAX_TOTAL",
)
HEADER_FIELDS = (
    "INVOICE_DATE", "CLIENT_ID", "INVOICE_TOTAL", "BILLING_START_DATE", "BILLING_END_DATE",
)

INVOICE = ["file", "_inv"]
TYPE = column_name("EXP/FEE/INV_ADJ_TYPE")


def check_file(parsed: LedesFile) -> pl.DataFrame:
    """All LEDES_* findings of one parsed file."""
    return check_files([parsed])


def check_files(parsed: Sequence[LedesFile]) -> pl.DataFrame:
    """All LEDES_* findings of several parsed files (checked together, per format)."""
    out = [p.findings for p in parsed if p.findings.height]
    for is_1998bi in (False, True):
        group = [p for p in parsed if p.lines.height and p.is_1998bi == is_1998bi]
        if not group:
            continue
        structural = [p.findings for p in group if p.findings.height]
        incomplete = (
            pl.concat(structural).filter(pl.col("code") == "LEDES_FIELD_COUNT")
            .select("file", "invoice_number")
            if structural else None
        )
        lines = pl.concat([p.lines for p in group]) if len(group) > 1 else group[0].lines
        out.append(check_lines(lines, is_1998bi=is_1998bi, incomplete_invoices=incomplete))
    return combine_findings(out)


def _quoted(column: str) -> pl.Expr:
    return pl.concat_str(pl.lit("'"), pl.col(column).fill_null("").str.slice(0, 40), pl.lit("'"))


def _listing(parts: list[pl.Expr]) -> pl.Expr:
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)


def _line_finding(frame: pl.DataFrame, code: str, where: pl.Expr, message: pl.Expr,
                  severity: str = "error") -> pl.DataFrame:
    return frame.filter(where).select(
        "file",
        pl.col("_inv").alias("invoice_number"),
        pl.col("_line").alias("line_item_number"),
        pl.lit(code).alias("code"),
        pl.lit(severity).alias("severity"),
        pl.concat_str(pl.lit("line "), pl.col("record_no").cast(pl.Utf8), pl.lit(": "), message)
        .alias("message"),
        pl.lit(None, dtype=pl.Utf8).alias("amount_at_risk"),
        "record_no",
    )


def _invoice_finding(frame: pl.DataFrame, code: str, message: pl.Expr) -> pl.DataFrame:
    """``frame`` has one row per invoice (file, _inv, record_no of its first row)."""
    return frame.select(
        "file",
        pl.col("_inv").alias("invoice_number"),
        pl.lit(None, dtype=pl.Utf8).alias("line_item_number"),
        pl.lit(code).alias("code"),
        pl.lit("error").alias("severity"),
        message.alias("message"),
        pl.lit(None, dtype=pl.Utf8).alias("amount_at_risk"),
        "record_no",
    )


def _required(is_1998bi: bool) -> tuple[pl.Expr, pl.Expr]:
    kind = pl.col("_type")
    on_fees = REQUIRED_ON_FEES + (REQUIRED_ON_FEES_1998BI if is_1998bi else ())
    tests = [(f, is_blank(column_name(f))) for f in REQUIRED_FIELDS]
    tests += [(f, kind.is_in(["F", "E"]) & is_blank(column_name(f)))
              for f in REQUIRED_ON_FEES_AND_EXPENSES]
    tests += [(f, (kind == "F") & is_blank(column_name(f))) for f in on_fees]
    blank = pl.concat_str([pl.when(t).then(pl.lit(f)) for f, t in tests], separator=", ",
                          ignore_nulls=True)
    where = pl.any_horizontal([t for _, t in tests])
    return where, pl.concat_str(pl.lit("required field(s) blank: "), blank)


def _bad_values(fields: tuple[str, ...], bad: Callable[[str], pl.Expr], what: str
                ) -> tuple[pl.Expr, pl.Expr]:
    parts = [
        pl.when(bad(column_name(f))).then(
            pl.concat_str(pl.lit(f + " "), _quoted(column_name(f)), pl.lit(what))
        )
        for f in fields
    ]
    return pl.any_horizontal([bad(column_name(f)) for f in fields]), _listing(parts)


def _negative_on_fees_and_expenses() -> tuple[pl.Expr, pl.Expr]:
    """(where, message): units, unit cost or total below zero on an F or E line. A fee or an
    expense is never negative; a discount goes in LINE_ITEM_ADJUSTMENT_AMOUNT, a credit on an
    IF/IE line."""
    kind = pl.col("_type")
    tests = [(f, is_negative_on_fee_or_expense(kind, column_name(f)))
             for f in NON_NEGATIVE_ON_FEES_AND_EXPENSES]
    parts = [pl.when(t).then(pl.concat_str(pl.lit(f + " "), _quoted(column_name(f))))
             for f, t in tests]
    message = pl.concat_str(
        pl.concat_str(parts, separator=", ", ignore_nulls=True), pl.lit(" below zero on an "),
        kind, pl.lit(" line (a fee or expense line cannot be negative: put a discount in "
                     "LINE_ITEM_ADJUSTMENT_AMOUNT, a credit on an IF or IE line)"))
    return pl.any_horizontal([t for _, t in tests]), message


def _number_problems(fields: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    """LEDES_NUMBER: a value that is not a decimal number, or a negative F/E amount."""
    bad_where, bad_message = _bad_values(fields, is_bad_number, " is not a decimal number")
    neg_where, neg_message = _negative_on_fees_and_expenses()
    return bad_where | neg_where, _listing([pl.when(bad_where).then(bad_message),
                                            pl.when(neg_where).then(neg_message)])


def check_lines(lines: pl.DataFrame, *, is_1998bi: bool = False,
                incomplete_invoices: pl.DataFrame | None = None) -> pl.DataFrame:
    """The record-level and invoice-level LEDES_* checks on well-formed records.

    ``incomplete_invoices`` (columns ``file``, ``invoice_number``) lists invoices with a
    record of the wrong field count, whose sum checks are skipped.
    """
    if lines.height == 0:
        return empty_findings()
    fields = FIELDS_1998BI if is_1998bi else FIELDS_1998B
    frame = lines.sort(["file", "record_no"]).with_columns(
        _inv=text("invoice_number"),
        _line=text("line_item_number"),
        _type=text(TYPE),
    )
    expected, math_where, math_message = _line_math(is_1998bi)
    frame = frame.with_columns(_expected=expected)
    number_fields = NUMBER_FIELDS + (NUMBER_FIELDS_1998BI if is_1998bi else ())
    # A value is ASCII when its UTF-8 byte count equals its character count.
    non_ascii = [
        (f, pl.col(column_name(f)).str.len_bytes() != pl.col(column_name(f)).str.len_chars())
        for f in fields
    ]
    listing = pl.concat_str([pl.when(t).then(pl.lit(f)) for f, t in non_ascii],
                            separator=", ", ignore_nulls=True)
    checks: list[tuple[str, pl.Expr, pl.Expr, str]] = [
        ("LEDES_REQUIRED", *_required(is_1998bi), "error"),
        ("LEDES_DATE", *_bad_values(DATE_FIELDS, is_bad_date, " is not a real date (YYYYMMDD)"),
         "error"),
        ("LEDES_NUMBER", *_number_problems(number_fields), "error"),
        ("LEDES_TYPE", (pl.col("_type") != "") & ~pl.col("_type").is_in(LINE_TYPES),
         pl.concat_str(pl.lit("EXP/FEE/INV_ADJ_TYPE "), _quoted(TYPE),
                       pl.lit(" is not one of F, E, IF, IE")), "error"),
        ("LEDES_LINE_MATH", math_where, math_message, "error"),
        ("LEDES_ENCODING", pl.any_horizontal([t for _, t in non_ascii]),
         pl.concat_str(pl.lit("non-ASCII character in "), listing,
                       pl.lit(" (portals expect ASCII; replace curly quotes and accents)")),
         "warning"),
    ]
    # One pass computes every test; messages are built only for the (few) flagged records.
    flags = [f"_flag{i}" for i in range(len(checks))]
    flagged = frame.with_columns(
        *[where.fill_null(False).alias(flag) for flag, (_, where, _, _) in zip(flags, checks,
                                                                              strict=True)]
    ).filter(pl.any_horizontal(flags))
    out = [
        _line_finding(flagged, code, pl.col(flag), message, severity)
        for flag, (code, _, message, severity) in zip(flags, checks, strict=True)
    ]
    if incomplete_invoices is None:
        incomplete_invoices = pl.DataFrame(schema={"file": pl.Utf8, "invoice_number": pl.Utf8})
    out.extend(_invoice_checks(frame, is_1998bi, incomplete_invoices))
    return combine_findings(out)


def _line_math(is_1998bi: bool) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(expected total, where, message) for LEDES_LINE_MATH; where reads ``_expected``."""
    units = number(column_name("LINE_ITEM_NUMBER_OF_UNITS"))
    cost = number(column_name("LINE_ITEM_UNIT_COST"))
    total = number(column_name("LINE_ITEM_TOTAL"))
    adj_col = column_name("LINE_ITEM_ADJUSTMENT_AMOUNT")
    adj = number(adj_col).fill_null(Decimal(0))
    ok = units.is_not_null() & cost.is_not_null() & total.is_not_null() & ~is_bad_number(adj_col)
    expected = units * cost + adj
    tax_text = pl.lit("")
    if is_1998bi:
        tax_col = column_name("LINE_ITEM_TAX_TOTAL")
        expected = expected + number(tax_col).fill_null(Decimal(0))
        ok = ok & ~is_bad_number(tax_col)
        tax_text = pl.concat_str(pl.lit(" + tax "), text(tax_col))
    where = (
        pl.col("_type").is_in(["F", "E"])
        & ok
        & ((total - pl.col("_expected")).abs() > TOLERANCE)
    )
    message = pl.concat_str(
        pl.lit("LINE_ITEM_TOTAL "), text(column_name("LINE_ITEM_TOTAL")),
        pl.lit(" differs from units "), text(column_name("LINE_ITEM_NUMBER_OF_UNITS")),
        pl.lit(" x unit cost "), text(column_name("LINE_ITEM_UNIT_COST")),
        pl.lit(" + adjustment "), pl.when(text(adj_col) == "").then(pl.lit("0"))
        .otherwise(text(adj_col)),
        tax_text, pl.lit(" = "), money_text(pl.col("_expected")),
    )
    return expected.cast(DECIMAL), where, message


def _invoice_checks(frame: pl.DataFrame, is_1998bi: bool,
                    incomplete: pl.DataFrame) -> list[pl.DataFrame]:
    out: list[pl.DataFrame] = []
    named = frame.filter(pl.col("_inv") != "")
    if named.height == 0:
        return out

    # LEDES_DUPLICATE_LINE: one finding per repeated (invoice, line item number).
    dup = (
        named.filter((pl.col("_line") != "")
                     & pl.struct([*INVOICE, "_line"]).is_duplicated())
        .group_by([*INVOICE, "_line"], maintain_order=True)
        .agg(pl.col("record_no"), pl.len().alias("n"))
        .filter(pl.col("n") > 1)
    )
    if dup.height:
        out.append(dup.select(
            "file",
            pl.col("_inv").alias("invoice_number"),
            pl.col("_line").alias("line_item_number"),
            pl.lit("LEDES_DUPLICATE_LINE").alias("code"),
            pl.lit("error").alias("severity"),
            pl.concat_str(
                pl.lit("LINE_ITEM_NUMBER "), pl.col("_line"), pl.lit(" appears "),
                pl.col("n").cast(pl.Utf8), pl.lit(" times in invoice "), pl.col("_inv"),
                pl.lit(" (lines "),
                pl.col("record_no").list.eval(pl.element().cast(pl.Utf8)).list.join(", "),
                pl.lit(")"),
            ).alias("message"),
            pl.lit(None, dtype=pl.Utf8).alias("amount_at_risk"),
            pl.col("record_no").list.first().alias("record_no"),
        ))

    # LEDES_HEADER_CONFLICT: invoice-level fields that differ between rows.
    header_cols = [column_name(f) for f in HEADER_FIELDS]
    # Amounts compare by value ("1250" = "1250.00"), other fields as trimmed text.
    comparable = [
        pl.coalesce(number(c).cast(pl.Utf8), text(c)) if c == column_name("INVOICE_TOTAL")
        else text(c)
        for c in header_cols
    ]
    differing = named.group_by(INVOICE).agg(
        pl.any_horizontal([value.n_unique() > 1 for value in comparable]).alias("_differs")
    ).filter(pl.col("_differs"))
    conflicts = (
        named.join(differing.select(INVOICE), on=INVOICE, how="semi", maintain_order="left")
        .group_by(INVOICE, maintain_order=True)
        .agg(
            pl.col("record_no").first(),
            *[text(c).unique(maintain_order=True).alias(c) for c in header_cols],
            *[value.n_unique().alias(f"_n_{c}")
              for c, value in zip(header_cols, comparable, strict=True)],
        )
    )
    parts = [
        pl.when(pl.col(f"_n_{c}") > 1).then(pl.concat_str(
            pl.lit(f + " has values "),
            pl.col(c).list.eval(pl.concat_str(pl.lit("'"), pl.element().str.slice(0, 40),
                                              pl.lit("'"))).list.join(", "),
        ))
        for f, c in zip(HEADER_FIELDS, header_cols, strict=True)
    ]
    conflicts = conflicts.with_columns(_msg=_listing(parts)).filter(
        pl.col("_msg").fill_null("") != ""
    )
    if conflicts.height:
        out.append(_invoice_finding(conflicts, "LEDES_HEADER_CONFLICT", pl.concat_str(
            pl.lit("rows of invoice "), pl.col("_inv"), pl.lit(" disagree: "), pl.col("_msg"),
            pl.lit(" (the first row's value counts)"),
        )))

    # Invoice-level values come from the first row.
    with_first = named.with_columns(
        _start=date(column_name("BILLING_START_DATE")).first().over(INVOICE),
        _end=date(column_name("BILLING_END_DATE")).first().over(INVOICE),
        _date=date(column_name("LINE_ITEM_DATE")),
    )
    outside = (
        ((pl.col("_start").is_not_null()) & (pl.col("_date") < pl.col("_start")))
        | ((pl.col("_end").is_not_null()) & (pl.col("_date") > pl.col("_end")))
    )
    out.append(_line_finding(
        with_first, "LEDES_PERIOD", pl.col("_date").is_not_null() & outside,
        pl.concat_str(
            pl.lit("LINE_ITEM_DATE "), text(column_name("LINE_ITEM_DATE")),
            pl.lit(" is outside the billing period "),
            text(column_name("BILLING_START_DATE")).first().over(INVOICE),
            pl.lit("-"), text(column_name("BILLING_END_DATE")).first().over(INVOICE),
        ),
    ))

    # Sum checks, skipped for invoices with a record of the wrong field count.
    complete = named.join(
        incomplete.select("file", pl.col("invoice_number").alias("_inv")).drop_nulls(),
        on=INVOICE, how="anti", maintain_order="left",
    )
    if complete.height == 0:
        return out
    aggs = [
        pl.col("record_no").first(),
        number(column_name("INVOICE_TOTAL")).first().alias("_inv_total"),
        number(column_name("LINE_ITEM_TOTAL")).sum().alias("_line_sum"),
        number(column_name("LINE_ITEM_TOTAL")).null_count().alias("_line_bad"),
    ]
    if is_1998bi:
        tax = column_name("LINE_ITEM_TAX_TOTAL")
        aggs += [
            number(column_name("INVOICE_TAX_TOTAL")).first().alias("_inv_tax"),
            number(column_name("INVOICE_NET_TOTAL")).first().alias("_inv_net"),
            number(tax).fill_null(Decimal(0)).sum().alias("_tax_sum"),
            is_bad_number(tax).sum().alias("_tax_bad"),
        ]
    sums = complete.group_by(INVOICE, maintain_order=True).agg(aggs)
    bad_total = sums.filter(
        pl.col("_inv_total").is_not_null() & (pl.col("_line_bad") == 0)
        & ((pl.col("_inv_total") - pl.col("_line_sum")).abs() > TOLERANCE)
    )
    if bad_total.height:
        out.append(_invoice_finding(bad_total, "LEDES_INVOICE_TOTAL", pl.concat_str(
            pl.lit("INVOICE_TOTAL "), money_text(pl.col("_inv_total")),
            pl.lit(" of invoice "), pl.col("_inv"),
            pl.lit(" differs from the sum of its LINE_ITEM_TOTAL values "),
            money_text(pl.col("_line_sum")),
        )))
    if is_1998bi:
        tax_off = (
            pl.col("_inv_tax").is_not_null() & (pl.col("_tax_bad") == 0)
            & ((pl.col("_inv_tax") - pl.col("_tax_sum")).abs() > TOLERANCE)
        )
        net_off = (
            pl.col("_inv_tax").is_not_null() & pl.col("_inv_net").is_not_null()
            & pl.col("_inv_total").is_not_null()
            & ((pl.col("_inv_net") + pl.col("_inv_tax") - pl.col("_inv_total")).abs()
               > TOLERANCE)
        )
        taxes = sums.with_columns(_msg=_listing([
            pl.when(tax_off).then(pl.concat_str(
                pl.lit("INVOICE_TAX_TOTAL "), money_text(pl.col("_inv_tax")),
                pl.lit(" differs from the sum of LINE_ITEM_TAX_TOTAL "),
                money_text(pl.col("_tax_sum")),
            )),
            pl.when(net_off).then(pl.concat_str(
                pl.lit("INVOICE_NET_TOTAL "), money_text(pl.col("_inv_net")),
                pl.lit(" + INVOICE_TAX_TOTAL "), money_text(pl.col("_inv_tax")), pl.lit(" = "),
                money_text(pl.col("_inv_net") + pl.col("_inv_tax")),
                pl.lit(" differs from INVOICE_TOTAL "), money_text(pl.col("_inv_total")),
            )),
        ])).filter(pl.col("_msg").fill_null("") != "")
        if taxes.height:
            out.append(_invoice_finding(taxes, "LEDES_TAX_TOTAL", pl.concat_str(
                pl.lit("invoice "), pl.col("_inv"), pl.lit(": "), pl.col("_msg"),
            )))
    return out
