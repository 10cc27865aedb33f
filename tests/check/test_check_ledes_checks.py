"""LEDES file checks: each code has a line that triggers it and a near miss that does not."""
from __future__ import annotations

from check_builders import (
    codes,
    expense,
    fee,
    file_findings,
    ledes_bytes,
    parse_rows,
)

from lexrecon.ledes.checks import check_file
from lexrecon.ledes.fields import FIELDS_1998B, FIELDS_1998BI
from lexrecon.ledes.parser import parse_ledes

BI = "LEDES98BI V2[]"


def bi_fee(number: int = 1, **fields: str) -> dict[str, str]:
    """A 1998BI fee line: 1.0 x 500.00 + 100.00 tax = 600.00; invoice net 500, tax 100."""
    row = fee(number, line_item_total="600.00", line_item_tax_total="100.00",
              line_item_tax_rate="0.20", invoice_tax_total="100.00",
              invoice_net_total="500.00", timekeeper_last_name="Doe",
              timekeeper_first_name="Jane", invoice_currency="GBP")
    row.update(fields)
    return row


def check_bytes(data: bytes) -> list[dict[str, object]]:
    return check_file(parse_ledes(data, "f.txt")).to_dicts()


def test_clean_invoice_has_no_findings() -> None:
    assert file_findings([fee(1), fee(2), expense(3)]) == []


def test_framing_bom_crlf_lf_and_trailing_blank_lines_are_accepted() -> None:
    text = ledes_bytes([fee(1), expense(2)]).decode()
    lf = text.replace("\r\n", "\n")
    for variant in (text, lf, "\ufeff" + text, text + "\r\n\r\n", lf + "\n\n  \n"):
        parsed = parse_ledes(variant.encode("utf-8"), "f.txt")
        assert parsed.lines.height == 2
        assert parsed.lines.get_column("record_no").to_list() == [3, 4]
        assert check_file(parsed).height == 0


def test_format_line_unknown() -> None:
    data = ledes_bytes([fee(1)]).replace(b"LEDES1998B[]", b"LEDES1998BB[]", 1)
    found = check_bytes(data)
    assert codes(found) == [("LEDES_FORMAT", None)]
    assert found[0]["invoice_number"] is None and "LEDES1998BB[]" in found[0]["message"]


def test_format_line_near_miss_98bi_v5_is_known() -> None:
    found = file_findings([bi_fee(1)], "LEDES98BI V5[]")
    assert found == []


def test_empty_file_is_a_format_finding() -> None:
    assert codes(check_bytes(b"")) == [("LEDES_FORMAT", None)]


def test_header_without_invoice_records_is_a_required_finding() -> None:
    """Format and field-name lines but no record (a file cut after its header): every required
    field of the invoice is missing, so LEDES_REQUIRED at file level, naming the file."""
    head = b"\r\n".join(ledes_bytes([fee(1)]).split(b"\r\n")[:2])
    for data in (head, head + b"\r\n", head + b"\n\n  \n", b"\xef\xbb\xbf" + head + b"\n"):
        found = check_bytes(data)
        assert codes(found) == [("LEDES_REQUIRED", None)], data
        assert found[0]["invoice_number"] is None and found[0]["severity"] == "error"
        assert "f.txt" in str(found[0]["message"]) and "no invoice record" in str(
            found[0]["message"])


def test_header_near_miss_one_record_is_enough() -> None:
    assert file_findings([fee(1)]) == []


def test_columns_misspelt() -> None:
    data = ledes_bytes([fee(1)]).replace(b"INVOICE_DATE|", b"INVOIC_DATE|", 1)
    found = check_bytes(data)
    assert codes(found) == [("LEDES_COLUMNS", None)]
    assert "INVOIC_DATE" in str(found[0]["message"])


def test_columns_of_the_other_format_are_refused() -> None:
    data = ledes_bytes([fee(1)]).replace(b"LEDES1998B[]", BI.encode(), 1)
    assert codes(check_bytes(data)) == [("LEDES_COLUMNS", None)]


def test_columns_near_miss_header_without_terminator_is_accepted() -> None:
    data = ledes_bytes([fee(1)]).replace(b"CLIENT_MATTER_ID[]", b"CLIENT_MATTER_ID", 1)
    assert check_bytes(data) == []


def test_field_count_keyed_by_fields_2_and_9_and_skips_sums() -> None:
    good = ledes_bytes([fee(1), fee(2)]).decode()
    lines = good.split("\r\n")
    lines[2] = lines[2].replace("|Doe, Jane|", "|Doe|Jane|")  # a "|" inside a value
    found = check_bytes("\r\n".join(lines).encode())
    assert codes(found) == [("LEDES_FIELD_COUNT", "1")]
    assert found[0]["invoice_number"] == "INV-1"
    assert "25 fields" in str(found[0]["message"])  # and no LEDES_INVOICE_TOTAL knock-on


def test_field_count_near_miss_empty_trailing_fields() -> None:
    assert file_findings([fee(1, client_matter_id="", timekeeper_classification="")]) == []


def test_field_count_short_record_without_invoice_number() -> None:
    data = ledes_bytes([fee(1)]) + b"20240215[]\r\n"
    found = check_bytes(data)
    assert codes(found) == [("LEDES_FIELD_COUNT", None)]
    assert found[0]["invoice_number"] is None


def test_required_blank_fields_on_fee_line() -> None:
    found = file_findings([fee(1, timekeeper_name="", timekeeper_id=" ")])
    assert codes(found) == [("LEDES_REQUIRED", "1")]
    assert "TIMEKEEPER_ID, TIMEKEEPER_NAME" in found[0]["message"]


def test_required_near_miss_expense_needs_no_timekeeper() -> None:
    assert file_findings([expense(1, timekeeper_id="", timekeeper_name="")]) == []


def test_required_unit_cost_on_expense_but_not_on_invoice_adjustment() -> None:
    bad = file_findings([expense(1, line_item_unit_cost="")])
    assert codes(bad) == [("LEDES_REQUIRED", "1")]
    adjustment = expense(1, exp_fee_inv_adj_type="IE", line_item_unit_cost="",
                         line_item_number_of_units="", line_item_adjustment_amount="-40.00",
                         line_item_total="-40.00")
    assert file_findings([fee(2), adjustment]) == []


def test_required_timekeeper_last_name_in_1998bi_only_on_fees() -> None:
    found = file_findings([bi_fee(1, timekeeper_last_name="")], BI)
    assert codes(found) == [("LEDES_REQUIRED", "1")]
    assert "TIMEKEEPER_LAST_NAME" in found[0]["message"]
    assert file_findings([bi_fee(1, exp_fee_inv_adj_type="E", timekeeper_last_name="")],
                         BI) == []


def test_date_not_a_calendar_date() -> None:
    found = file_findings([fee(1, line_item_date="20240230")])
    assert codes(found) == [("LEDES_DATE", "1")]  # and no LEDES_PERIOD knock-on


def test_date_near_miss_leap_day() -> None:
    assert file_findings([fee(1, line_item_date="20240131",
                              billing_end_date="20240229")]) == []
    assert file_findings([fee(1, billing_end_date="20240229")]) == []


def test_date_wrong_shape() -> None:
    assert codes(file_findings([fee(1, invoice_date="2024-02-15")])) == [("LEDES_DATE", "1")]


def test_number_not_decimal() -> None:
    found = file_findings([fee(1, line_item_number_of_units="1,5")], totals=True)
    assert codes(found) == [("LEDES_NUMBER", "1")]  # and no LINE_MATH knock-on
    assert "LINE_ITEM_NUMBER_OF_UNITS '1,5'" in found[0]["message"]


def test_number_near_miss_accepted_spellings() -> None:
    rows = [fee(1, line_item_number_of_units="2.", line_item_unit_cost="350",
                line_item_adjustment_amount="-70", line_item_total="630"),
            fee(2, line_item_number_of_units=".5", line_item_total="250.0000")]
    assert file_findings(rows) == []


def test_number_negative_on_fee_and_expense_lines() -> None:
    """A fee or expense line is never negative (math consistent, totals adjusted): units, unit
    cost and total below zero are LEDES_NUMBER errors, naming the values."""
    neg_fee = fee(2, line_item_unit_cost="-500.00", line_item_total="-500.00")
    neg_units = expense(3, line_item_number_of_units="-1", line_item_total="-40.00")
    found = file_findings([fee(1), neg_fee, neg_units])
    assert codes(found) == [("LEDES_NUMBER", "2"), ("LEDES_NUMBER", "3")]
    assert "LINE_ITEM_UNIT_COST '-500.00', LINE_ITEM_TOTAL '-500.00' below zero on an F line" \
        in found[0]["message"]
    assert "LINE_ITEM_NUMBER_OF_UNITS '-1'" in found[1]["message"]
    # a discount larger than the fee makes the line negative too
    over = fee(1, line_item_adjustment_amount="-600.00", line_item_total="-100.00")
    assert codes(file_findings([over])) == [("LEDES_NUMBER", "1")]


def test_number_negative_near_miss_discounts_credits_and_zero() -> None:
    rows = [fee(1, line_item_adjustment_amount="-50.00", line_item_total="450.00"),
            fee(2, exp_fee_inv_adj_type="IF", line_item_adjustment_amount="-50",
                line_item_total="-50", line_item_number_of_units="", line_item_unit_cost=""),
            expense(3, exp_fee_inv_adj_type="IE", line_item_number_of_units="1",
                    line_item_unit_cost="-40.00", line_item_adjustment_amount="0",
                    line_item_total="-40.00"),
            fee(4, line_item_unit_cost="-0.00", line_item_total="0.00")]
    assert file_findings(rows) == []


def test_invalid_invoice_total_gets_number_but_no_total_check() -> None:
    found = file_findings([fee(1, invoice_total="1.250,00")], totals=False)
    assert codes(found) == [("LEDES_NUMBER", "1")]


def test_type_unknown() -> None:
    assert codes(file_findings([fee(1, exp_fee_inv_adj_type="A")])) == [("LEDES_TYPE", "1")]


def test_type_near_miss_invoice_level_adjustments() -> None:
    rows = [fee(1), fee(2, exp_fee_inv_adj_type="IF", line_item_adjustment_amount="-50",
                       line_item_total="-50", line_item_number_of_units="",
                       line_item_unit_cost="")]
    assert file_findings(rows) == []


def test_line_math_off_by_more_than_a_cent() -> None:
    found = file_findings([fee(1, line_item_total="500.02")])
    assert codes(found) == [("LEDES_LINE_MATH", "1")]
    assert "500.00" in found[0]["message"]


def test_line_math_near_miss_within_a_cent_and_with_adjustment() -> None:
    assert file_findings([fee(1, line_item_total="500.01")]) == []
    assert file_findings([fee(1, line_item_number_of_units="2.00", line_item_unit_cost="350",
                              line_item_adjustment_amount="-70", line_item_total="630")]) == []


def test_line_math_not_applied_to_units_times_cost_adjustment_lines() -> None:
    retainer = fee(2, exp_fee_inv_adj_type="IF", line_item_number_of_units="1",
                   line_item_unit_cost="1250", line_item_adjustment_amount="0",
                   line_item_total="1250")
    assert file_findings([retainer]) == []


def test_line_math_1998bi_includes_line_tax() -> None:
    assert file_findings([bi_fee(1)], BI) == []
    found = file_findings([bi_fee(1, line_item_total="500.00", invoice_net_total="400.00")],
                          BI)
    assert ("LEDES_LINE_MATH", "1") in codes(found)


def test_invoice_total_differs_from_sum() -> None:
    found = file_findings([fee(1, invoice_total="540.02"), expense(2, invoice_total="540.02")],
                          totals=False)
    assert codes(found) == [("LEDES_INVOICE_TOTAL", None)]
    assert found[0]["invoice_number"] == "INV-1" and "540.00" in found[0]["message"]


def test_invoice_total_near_miss_within_a_cent() -> None:
    rows = [fee(1, invoice_total="540.01"), expense(2, invoice_total="540.01")]
    assert file_findings(rows, totals=False) == []


def test_tax_total_mismatch_1998bi() -> None:
    found = file_findings([bi_fee(1, invoice_tax_total="90.00", invoice_net_total="510.00")],
                          BI)
    assert codes(found) == [("LEDES_TAX_TOTAL", None)]
    assert "LINE_ITEM_TAX_TOTAL 100.00" in found[0]["message"]
    found = file_findings([bi_fee(1, invoice_net_total="480.00")], BI)
    assert codes(found) == [("LEDES_TAX_TOTAL", None)]
    assert "INVOICE_NET_TOTAL" in found[0]["message"]


def test_tax_total_near_miss() -> None:
    assert file_findings([bi_fee(1, invoice_tax_total="100.01")], BI) == []


def test_duplicate_line_number_in_invoice() -> None:
    found = file_findings([fee(1), fee(1, line_item_date="20240111")])
    assert codes(found) == [("LEDES_DUPLICATE_LINE", "1")]


def test_duplicate_line_near_miss_other_invoice() -> None:
    assert file_findings([fee(1), fee(1, invoice_number="INV-2")]) == []


def test_header_conflict() -> None:
    found = file_findings([fee(1), fee(2, invoice_date="20240216")])
    assert codes(found) == [("LEDES_HEADER_CONFLICT", None)]
    assert "INVOICE_DATE" in found[0]["message"]


def test_header_conflict_near_miss_invoice_spans_matters() -> None:
    assert file_findings([fee(1), fee(2, law_firm_matter_id="M-200")]) == []


def test_header_conflict_near_miss_same_total_written_differently() -> None:
    rows = [fee(1, invoice_total="1000"), fee(2, invoice_total="1000.00")]
    assert file_findings(rows, totals=False) == []
    conflict = [fee(1, invoice_total="1000", client_id="A"),
                fee(2, invoice_total="1000.00", client_id="B")]
    found = file_findings(conflict, totals=False)
    assert codes(found) == [("LEDES_HEADER_CONFLICT", None)]
    assert "CLIENT_ID" in found[0]["message"] and "INVOICE_TOTAL" not in found[0]["message"]


def test_period() -> None:
    found = file_findings([fee(1, line_item_date="20240201")])
    assert codes(found) == [("LEDES_PERIOD", "1")]
    assert codes(file_findings([fee(1, line_item_date="20231231")])) == [("LEDES_PERIOD", "1")]


def test_period_near_miss_bounds_are_inclusive() -> None:
    assert file_findings([fee(1, line_item_date="20240101"),
                          fee(2, line_item_date="20240131")]) == []


def test_encoding_is_a_warning() -> None:
    found = file_findings([fee(1, line_item_description="Review client\u2019s draft reply")])
    assert codes(found) == [("LEDES_ENCODING", "1")]
    assert found[0]["severity"] == "warning" and found[0]["amount_at_risk"] is None


def test_encoding_near_miss_plain_ascii_apostrophe() -> None:
    assert file_findings([fee(1, line_item_description="Review client's draft reply")]) == []


def test_cp1252_bytes_are_read_and_flagged() -> None:
    data = ledes_bytes([fee(1, line_item_description="Review clients draft")])
    data = data.replace(b"clients", b"client\x92s")
    assert codes(check_bytes(data)) == [("LEDES_ENCODING", "1")]


def test_one_finding_per_line_and_code() -> None:
    found = file_findings([fee(1, line_item_date="20240230", invoice_date="2024")])
    assert codes(found) == [("LEDES_DATE", "1")]
    assert "INVOICE_DATE" in found[0]["message"] and "LINE_ITEM_DATE" in found[0]["message"]


def test_every_finding_has_the_contract_keys_and_null_amounts() -> None:
    found = file_findings([fee(1, line_item_total="1"), fee(1)])
    assert found
    for f in found:
        assert set(f) >= {"file", "invoice_number", "line_item_number", "code", "severity",
                          "message", "amount_at_risk"}
        assert f["amount_at_risk"] is None and f["file"] == "invoice.txt"


def test_parsed_frame_shape() -> None:
    parsed = parse_rows([fee(1)])
    assert parsed.lines.columns[:2] == ["file", "record_no"]
    assert len(parsed.lines.columns) == 2 + len(FIELDS_1998B)
    assert all(dtype == "String" or str(dtype) in ("String", "Utf8")
               for dtype in map(str, parsed.lines.dtypes[2:]))
    bi = parse_rows([bi_fee(1)], BI)
    assert len(bi.lines.columns) == 2 + len(FIELDS_1998BI) and bi.is_1998bi
