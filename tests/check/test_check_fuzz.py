"""Robustness: any input bytes give findings (or a clean LEDES_FORMAT), never an exception."""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
from decimal import Decimal
from pathlib import Path

import polars as pl
from check_builders import fee, ledes_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lexrecon.check import check_parsed
from lexrecon.cli import main
from lexrecon.ledes.fields import FIELDS_1998B
from lexrecon.ledes.findings import FINDING_KEYS
from lexrecon.ledes.parser import parse_ledes
from lexrecon.ledes.values import NUMBER_PATTERN, is_bad_number, number
from lexrecon.ocg.rules import rules_from_mapping

KNOWN_CODES = {
    "LEDES_FORMAT", "LEDES_COLUMNS", "LEDES_FIELD_COUNT", "LEDES_REQUIRED", "LEDES_DATE",
    "LEDES_NUMBER", "LEDES_TYPE", "LEDES_LINE_MATH", "LEDES_INVOICE_TOTAL",
    "LEDES_TAX_TOTAL", "LEDES_DUPLICATE_LINE", "LEDES_HEADER_CONFLICT", "LEDES_PERIOD",
    "LEDES_ENCODING", "RATE_CAP", "TK_UNAPPROVED", "BLOCK_BILLING", "VAGUE", "INCREMENT",
    "DAILY_MAX", "TASK_CODE", "EXPENSE_DISALLOWED", "TRAVEL", "LATE", "DUPLICATE", "ADMIN",
}
EVERY_RULE = rules_from_mapping({
    "client_id": "ACME-001", "billing_increment_hours": Decimal("0.1"), "max_daily_hours": 10,
    "submission_deadline_days": 90,
    "rate_caps": {"by_classification": {"ASSOC": 600}, "by_timekeeper": {"TK-1": 450}},
    "approved_timekeepers": ["TK-1"], "allowed_task_codes": ["L1*"],
    "allowed_activity_codes": ["A1*"], "disallowed_expense_codes": ["E111"],
    "travel": {"keywords": ["travel"], "rate_factor": Decimal("0.5")},
    "vague": {"min_words": 4, "phrases": ["review file"]}, "block_billing": {"max_tasks": 1},
    "admin": {"keywords": ["scan"]}, "duplicate_lines": True,
})
HEADER = ledes_bytes([fee(1)]).split(b"\r\n")[:2]


def assert_clean_result(data: bytes) -> None:
    parsed = parse_ledes(data, "fuzz.txt")
    found = check_parsed([parsed], [EVERY_RULE])
    assert found.columns[: len(FINDING_KEYS)] == list(FINDING_KEYS)
    for row in found.to_dicts():
        assert row["code"] in KNOWN_CODES and row["severity"] in ("error", "warning")
        assert row["file"] == "fuzz.txt" and row["message"]
        if row["amount_at_risk"] is not None:
            Decimal(row["amount_at_risk"])  # a decimal string
    if parsed.format is None:
        assert [r["code"] for r in found.to_dicts()] == ["LEDES_FORMAT"]


@settings(max_examples=150, deadline=None, database=None)
@given(st.binary(max_size=600))
def test_any_bytes(data: bytes) -> None:
    assert_clean_result(data)


@settings(max_examples=150, deadline=None, database=None)
@given(st.binary(max_size=400))
def test_any_bytes_after_a_valid_header(data: bytes) -> None:
    assert_clean_result(b"\r\n".join(HEADER) + b"\r\n" + data)


field_values = st.one_of(
    st.sampled_from(["", "F", "E", "IF", "IE", "X", "20240110", "20240230", "00000000",
                     "1.0", "-70", "1e5", "1250.", ".", "-", "TK-1", "ACME-001", "L110",
                     "A101", "E111", "travel; scan", "review file", "9" * 40, " 1 ",
                     "0.000001", "\u2019", "INV-1", "1", "\x00"]),
    st.text(alphabet=st.characters(exclude_characters="|\r\n", exclude_categories=("Cs",)),
            max_size=12),
)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(field_values, min_size=len(FIELDS_1998B) - 1,
                         max_size=len(FIELDS_1998B) + 1), min_size=1, max_size=6))
def test_structured_records(records: list[list[str]]) -> None:
    body = "\r\n".join("|".join(r) + "[]" for r in records)
    assert_clean_result(b"\r\n".join(HEADER) + b"\r\n" + body.encode("utf-8"))


words = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="*"),
                min_size=1, max_size=8).filter(str.strip)
amounts = st.decimals(min_value=0, max_value=10_000, places=2)
positive = st.decimals(min_value=Decimal("0.01"), max_value=24, places=2)
codes = st.lists(st.one_of(words, words.map(lambda w: w.replace("*", "") + "*")), max_size=4)
rules_files = st.fixed_dictionaries({"client_id": st.just("ACME-001")}, optional={
    "billing_increment_hours": positive, "max_daily_hours": positive,
    "submission_deadline_days": st.integers(0, 400),
    "rate_caps": st.fixed_dictionaries({}, optional={
        "by_classification": st.dictionaries(words, amounts, max_size=3),
        "by_timekeeper": st.dictionaries(words, amounts, max_size=3)}),
    "approved_timekeepers": st.lists(words, max_size=4),
    "allowed_task_codes": codes, "allowed_activity_codes": codes,
    "disallowed_expense_codes": st.lists(words, max_size=4),
    "travel": st.fixed_dictionaries({"keywords": st.lists(words, max_size=3),
                                     "rate_factor": positive}),
    "vague": st.fixed_dictionaries({}, optional={"min_words": st.integers(1, 6),
                                                 "phrases": st.lists(words, max_size=3)}),
    "block_billing": st.fixed_dictionaries({"max_tasks": st.integers(1, 3)}),
    "admin": st.fixed_dictionaries({"keywords": st.lists(words, max_size=3)}),
    "duplicate_lines": st.booleans(),
})
SAMPLE_LINES = ledes_bytes([
    fee(1), fee(2, line_item_description="Travel; scan [a-z]+ (file) \\d review file",
                timekeeper_id="TK-7", line_item_unit_cost="999.99", line_item_total="999.99"),
    fee(3, line_item_description="Travel; scan [a-z]+ (file) \\d review file",
        timekeeper_id="TK-7", line_item_unit_cost="999.99", line_item_total="999.99"),
    fee(4, line_item_number_of_units="0.25", line_item_total="125.00",
        line_item_task_code="", timekeeper_classification="PARTNR"),
])


@settings(max_examples=100, deadline=None, database=None)
@given(rules_files)
def test_any_valid_rules_file_evaluates(data: dict[str, object]) -> None:
    rules = rules_from_mapping(data, "fuzz.yml")
    found = check_parsed([parse_ledes(SAMPLE_LINES, "fuzz.txt")], [rules])
    assert set(found.get_column("code").to_list()) <= KNOWN_CODES


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.one_of(st.from_regex(NUMBER_PATTERN, fullmatch=True),
                          st.text(max_size=8)), min_size=1, max_size=20))
def test_number_reading_agrees_with_its_validity_test(texts: list[str]) -> None:
    """A value is either blank, a readable decimal, or reported as LEDES_NUMBER."""
    frame = pl.DataFrame({"v": texts}).with_columns(n=number("v"), bad=is_bad_number("v"),
                                                    blank=pl.col("v").str.strip_chars() == "")
    for row in frame.iter_rows(named=True):
        assert (row["n"] is not None) + row["bad"] + row["blank"] == 1, row
        if row["n"] is not None:
            assert abs(row["n"] - Decimal(row["v"].strip())) <= Decimal("0.000001")


@settings(max_examples=40, deadline=None, database=None)
@given(st.binary(max_size=300), st.booleans(), st.sampled_from(["json", "table"]))
def test_command_on_any_bytes_exits_0_or_1_with_clean_output(data: bytes, with_header: bool,
                                                              output: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.txt"
        path.write_bytes(b"\r\n".join([*HEADER, data]) if with_header else data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["check", str(path), "--format", output])
    assert status in (0, 1) and err.getvalue() == ""
    if output == "json":
        assert isinstance(json.loads(out.getvalue()), list)
    else:
        assert "error(s)" in out.getvalue().splitlines()[-1]
