"""The LEDES writer: what it writes parses back to the same values."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from check_builders import expense, fee

from lexrecon.ledes.parser import parse_ledes, read_ledes
from lexrecon.ledes.writer import ledes_text, write_ledes_file


def test_round_trip_rows_and_dataframe(tmp_path: Path) -> None:
    rows = [fee(1, invoice_total="540.00"), expense(2, invoice_total="540.00")]
    parsed = parse_ledes(ledes_text(rows).encode(), "x.txt")
    assert parsed.lines.drop("file", "record_no").select(list(rows[0])).to_dicts() == rows
    path = tmp_path / "out.txt"
    write_ledes_file(path, parsed.lines, line_end="\n")
    again = read_ledes(path)
    assert again.lines.drop("file").equals(parsed.lines.drop("file"))
    assert path.read_bytes().startswith(b"LEDES1998B[]\nINVOICE_DATE|")


def test_field_names_and_decimals_are_accepted() -> None:
    text = ledes_text([{"INVOICE_NUMBER": "7", "line_item_total": Decimal("12.50")}])
    record = text.split("\r\n")[2].split("|")
    assert record[1] == "7" and record[12] == "12.50" and record[-1] == "[]"


def test_1998bi_rows() -> None:
    text = ledes_text([{"invoice_currency": "GBP"}], "LEDES98BI V2[]")
    parsed = parse_ledes(text.encode(), "bi.txt")
    assert parsed.is_1998bi and parsed.lines.get_column("invoice_currency").to_list() == ["GBP"]


@pytest.mark.parametrize("bad", ["a|b", "line\nbreak", "x[]y"])
def test_values_ledes_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="LINE_ITEM_DESCRIPTION"):
        ledes_text([fee(1, line_item_description=bad)])


def test_float_money_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        ledes_text([{"line_item_total": 0.1}])


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        ledes_text(pl.DataFrame({"a": ["1"]}), "LEDES2000[]")
