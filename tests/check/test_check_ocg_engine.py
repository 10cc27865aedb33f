"""OCG rules: each code has a line that triggers it, a near miss, and its amount at risk."""
from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from check_builders import CLIENT, codes, expense, fee, ocg_findings, parse_rows, rules

from lexrecon.ledes.findings import FINDING_KEYS
from lexrecon.ocg.engine import REQUIRED_COLUMNS, evaluate

CAPS = {"by_classification": {"PARTNR": Decimal("900.00"), "ASSOC": Decimal("600.00")},
        "by_timekeeper": {"TK-7": Decimal("950.00")}}


def one(findings: list[dict[str, object]], code: str) -> dict[str, object]:
    hits = [f for f in findings if f["code"] == code]
    assert len(hits) == 1, findings
    return hits[0]


def test_rate_cap_by_classification() -> None:
    row = fee(1, line_item_unit_cost="650.00", line_item_number_of_units="1.5",
              line_item_total="975.00")
    found = ocg_findings([row], rules(rate_caps=CAPS))
    assert codes(found) == [("RATE_CAP", "1")]
    assert found[0]["amount_at_risk"] == "75.00" and found[0]["severity"] == "error"
    assert "650.00" in found[0]["message"] and "600.00" in found[0]["message"]


def test_rate_cap_near_miss_at_the_cap() -> None:
    row = fee(1, line_item_unit_cost="600.00", line_item_total="600.00")
    assert ocg_findings([row], rules(rate_caps=CAPS)) == []


def test_rate_cap_timekeeper_cap_wins_over_classification() -> None:
    partner = {"timekeeper_id": "TK-7", "timekeeper_classification": "PARTNR"}
    under = fee(1, line_item_unit_cost="940.00", line_item_total="940.00", **partner)
    over = fee(2, line_item_unit_cost="960.00", line_item_number_of_units="2",
               line_item_total="1920.00", **partner)
    found = ocg_findings([under, over], rules(rate_caps=CAPS))
    assert codes(found) == [("RATE_CAP", "2")]
    assert found[0]["amount_at_risk"] == "20.00"


def test_rate_cap_amount_rounds_half_up() -> None:
    row = fee(1, line_item_unit_cost="600.05", line_item_number_of_units="0.1",
              line_item_total="60.01")
    assert one(ocg_findings([row], rules(rate_caps=CAPS)), "RATE_CAP")["amount_at_risk"] == "0.01"


def test_rate_cap_no_cap_for_classification_is_no_finding() -> None:
    row = fee(1, timekeeper_classification="PARALG", line_item_unit_cost="5000",
              line_item_total="5000")
    assert ocg_findings([row], rules(rate_caps=CAPS)) == []


def test_tk_unapproved() -> None:
    found = ocg_findings([fee(1, timekeeper_id="TK-9")],
                         rules(approved_timekeepers=["TK-1"]))
    assert codes(found) == [("TK_UNAPPROVED", "1")]
    assert found[0]["amount_at_risk"] == "500.00"


def test_tk_unapproved_near_miss_approved_and_expense_lines() -> None:
    rows = [fee(1), expense(2)]
    assert ocg_findings(rows, rules(approved_timekeepers=["TK-1"])) == []


def test_block_billing() -> None:
    row = fee(1, line_item_description="Draft motion to compel; review reply brief")
    found = ocg_findings([row], rules(block_billing={"max_tasks": 1}))
    assert codes(found) == [("BLOCK_BILLING", "1")]
    assert found[0]["amount_at_risk"] == "500.00" and "2 tasks" in found[0]["message"]


def test_block_billing_near_miss_blank_clauses_do_not_count() -> None:
    row = fee(1, line_item_description="Draft motion to compel discovery responses; ;")
    assert ocg_findings([row], rules(block_billing={"max_tasks": 1})) == []
    two = fee(1, line_item_description="Draft motion to compel; review reply brief")
    assert ocg_findings([two], rules(block_billing={"max_tasks": 2})) == []


def test_vague_stock_phrase_after_normalising() -> None:
    vague = {"min_words": 2, "phrases": ["Review file", "follow up"]}
    row = fee(1, line_item_description="  REVIEW   file. ")
    found = ocg_findings([row], rules(vague=vague))
    assert codes(found) == [("VAGUE", "1")]
    assert found[0]["amount_at_risk"] == "500.00"


def test_vague_too_few_words() -> None:
    found = ocg_findings([fee(1, line_item_description="Draft brief")],
                         rules(vague={"min_words": 4}))
    assert codes(found) == [("VAGUE", "1")]


def test_vague_near_miss() -> None:
    vague = {"min_words": 4, "phrases": ["review file"]}
    rows = [fee(1, line_item_description="Review file for privilege issues"),
            fee(2, line_item_description="Draft brief on venue")]
    assert ocg_findings(rows, rules(vague=vague)) == []


def test_increment() -> None:
    row = fee(1, line_item_number_of_units="0.25", line_item_total="125.00")
    found = ocg_findings([row], rules(billing_increment_hours=Decimal("0.1")))
    assert codes(found) == [("INCREMENT", "1")]
    assert found[0]["amount_at_risk"] is None


def test_increment_near_miss_trailing_zeros() -> None:
    row = fee(1, line_item_number_of_units="0.300", line_item_total="150.00")
    assert ocg_findings([row], rules(billing_increment_hours=Decimal("0.1"))) == []


def test_daily_max_adds_up_across_invoices_and_files() -> None:
    first = parse_rows([fee(1, line_item_number_of_units="6", line_item_total="3000.00")],
                       file="a.txt")
    second = parse_rows([fee(1, invoice_number="INV-2", line_item_number_of_units="4.5",
                             line_item_total="2250.00")], file="b.txt")
    lines = pl.concat([first.lines, second.lines])
    found = evaluate(lines, [rules(max_daily_hours=10)]).to_dicts()
    assert [(f["file"], f["code"]) for f in found] == [("a.txt", "DAILY_MAX"),
                                                       ("b.txt", "DAILY_MAX")]
    assert all(f["amount_at_risk"] is None for f in found)
    assert "10.50" in found[0]["message"]


def test_daily_max_near_miss_exactly_the_maximum_or_other_day() -> None:
    rows = [fee(1, line_item_number_of_units="6", line_item_total="3000.00"),
            fee(2, line_item_number_of_units="4", line_item_total="2000.00"),
            fee(3, line_item_number_of_units="4", line_item_total="2000.00",
                line_item_date="20240111"),
            fee(4, line_item_number_of_units="4", line_item_total="2000.00",
                timekeeper_id="TK-2")]
    assert ocg_findings(rows, rules(max_daily_hours=10)) == []


def test_task_code_not_allowed_and_blank_activity_is_one_finding() -> None:
    row = fee(1, line_item_task_code="L610", line_item_activity_code="")
    found = ocg_findings([row], rules(allowed_task_codes=["L1*", "L210"],
                                      allowed_activity_codes=["A1*"]))
    assert codes(found) == [("TASK_CODE", "1")]
    assert "L610" in found[0]["message"] and "activity code is blank" in found[0]["message"]
    assert found[0]["amount_at_risk"] == "500.00"


def test_task_code_near_miss_prefix_and_exact() -> None:
    rows = [fee(1, line_item_task_code="L120"), fee(2, line_item_task_code="L210")]
    assert ocg_findings(rows, rules(allowed_task_codes=["L1*", "L210"],
                                    allowed_activity_codes=["A1*"])) == []
    assert codes(ocg_findings([fee(1, line_item_task_code="L2100")],
                              rules(allowed_task_codes=["L210"]))) == [("TASK_CODE", "1")]


def test_expense_disallowed() -> None:
    row = expense(1, line_item_expense_code="E111", line_item_total="86.40",
                  line_item_unit_cost="86.40")
    found = ocg_findings([row], rules(disallowed_expense_codes=["E111"]))
    assert codes(found) == [("EXPENSE_DISALLOWED", "1")]
    assert found[0]["amount_at_risk"] == "86.40"


def test_expense_disallowed_near_miss() -> None:
    assert ocg_findings([expense(1, line_item_expense_code="E110")],
                        rules(disallowed_expense_codes=["E111"])) == []


TRAVEL = {"keywords": ["travel"], "rate_factor": Decimal("0.5")}


def test_travel_against_cap() -> None:
    row = fee(1, line_item_description="TRAVEL to Chicago for deposition",
              line_item_unit_cost="350.00", line_item_number_of_units="2",
              line_item_total="700.00")
    found = ocg_findings([row], rules(rate_caps=CAPS, travel=TRAVEL))
    assert codes(found) == [("TRAVEL", "1")]
    assert found[0]["amount_at_risk"] == "100.00"  # (350 - 0.5 x 600) x 2


def test_travel_near_miss_at_half_the_cap() -> None:
    row = fee(1, line_item_description="Travel to Chicago for deposition",
              line_item_unit_cost="300.00", line_item_total="300.00")
    assert ocg_findings([row], rules(rate_caps=CAPS, travel=TRAVEL)) == []


def test_travel_without_cap_uses_the_timekeepers_other_rates_in_the_invoice() -> None:
    rows = [fee(1, line_item_unit_cost="400.00", line_item_total="400.00"),
            fee(2, line_item_description="Travel to court for hearing",
                line_item_unit_cost="250.00", line_item_total="250.00"),
            fee(3, line_item_description="Travel back from court hearing",
                line_item_unit_cost="200.00", line_item_total="200.00")]
    found = ocg_findings(rows, rules(travel=TRAVEL))
    assert codes(found) == [("TRAVEL", "2")]
    assert found[0]["amount_at_risk"] == "50.00"


def test_travel_without_cap_or_other_lines_is_no_finding() -> None:
    row = fee(1, line_item_description="Travel to court for hearing")
    assert ocg_findings([row], rules(travel=TRAVEL)) == []


def test_late() -> None:
    row = fee(1, invoice_date="20240415", line_item_date="20240110")
    found = ocg_findings([row], rules(submission_deadline_days=90))
    assert codes(found) == [("LATE", "1")]
    assert found[0]["amount_at_risk"] == "500.00" and "96 days" in found[0]["message"]


def test_late_near_miss_exactly_the_deadline() -> None:
    row = fee(1, invoice_date="20240409", line_item_date="20240110")
    assert ocg_findings([row], rules(submission_deadline_days=90)) == []


def test_duplicate_flags_each_line_after_the_first() -> None:
    rows = [fee(1, line_item_description="Draft motion to compel, discovery."),
            fee(2, line_item_description="draft  motion to compel discovery"),
            fee(3, line_item_description="Draft motion to compel discovery"),
            fee(4, line_item_description="Draft motion to compel discovery",
                line_item_number_of_units="1.00")]
    found = ocg_findings(rows, rules(duplicate_lines=True))
    assert codes(found) == [("DUPLICATE", "2"), ("DUPLICATE", "3"), ("DUPLICATE", "4")]
    assert all("line 3 " in f["message"] or "line 3 (" in f["message"] for f in found)


def test_duplicate_near_miss_other_units_or_rule_off() -> None:
    rows = [fee(1), fee(2, line_item_number_of_units="1.1", line_item_total="550.00")]
    assert ocg_findings(rows, rules(duplicate_lines=True)) == []
    assert ocg_findings([fee(1), fee(2)], rules(duplicate_lines=False)) == []


def test_admin() -> None:
    row = fee(1, line_item_description="Photocopy and Bates-label production set")
    found = ocg_findings([row], rules(admin={"keywords": ["photocop", "bates"]}))
    assert codes(found) == [("ADMIN", "1")]
    assert found[0]["amount_at_risk"] == "500.00"


def test_admin_near_miss_expense_line_and_other_words() -> None:
    rows = [fee(1), expense(2, line_item_description="Photocopies")]
    assert ocg_findings(rows, rules(admin={"keywords": ["photocop"]})) == []


def test_rules_apply_only_to_the_matching_client() -> None:
    row = fee(1, client_id="OTHER", timekeeper_id="TK-9")
    assert ocg_findings([row], rules(approved_timekeepers=["TK-1"])) == []


def test_client_comes_from_the_invoices_first_row() -> None:
    rows = [fee(1), fee(2, client_id="OTHER", timekeeper_id="TK-9")]
    found = ocg_findings(rows, rules(approved_timekeepers=["TK-1"]))
    assert codes(found) == [("TK_UNAPPROVED", "2")]


def test_invalid_values_switch_rules_off_for_that_line() -> None:
    row = fee(1, line_item_unit_cost="lots", line_item_date="20240230",
              line_item_number_of_units="x")
    assert ocg_findings([row], rules(rate_caps=CAPS, max_daily_hours=1,
                                     billing_increment_hours=Decimal("0.1"),
                                     submission_deadline_days=1)) == []


def test_line_total_invalid_gives_null_amount() -> None:
    found = ocg_findings([fee(1, timekeeper_id="TK-9", line_item_total="n/a")],
                         rules(approved_timekeepers=["TK-1"]))
    assert codes(found) == [("TK_UNAPPROVED", "1")] and found[0]["amount_at_risk"] is None


def test_engine_accepts_a_warehouse_frame() -> None:
    """Nulls for blanks, extra columns, rows out of order: the engine still works."""
    lines = pl.DataFrame({
        "file": ["warehouse", "warehouse"],
        "record_no": [2, 1],
        "invoice_number": ["W-1", "W-1"],
        "client_id": [CLIENT, CLIENT],
        "invoice_date": ["20240215", "20240215"],
        "line_item_number": ["2", "1"],
        "exp_fee_inv_adj_type": ["F", "F"],
        "line_item_number_of_units": ["1.0", "1.0"],
        "line_item_total": ["500.00", "500.00"],
        "line_item_date": ["20240110", "20240110"],
        "line_item_task_code": ["L110", "L110"],
        "line_item_expense_code": [None, None],
        "line_item_activity_code": ["A101", "A101"],
        "timekeeper_id": ["TK-1", "TK-1"],
        "line_item_description": ["Draft reply brief on venue", "Draft reply brief on venue"],
        "line_item_unit_cost": ["500.00", "500.00"],
        "timekeeper_classification": [None, None],
        "matter_name": ["extra column", "extra column"],
    })
    found = evaluate(lines, [rules(duplicate_lines=True, rate_caps=CAPS)])
    assert codes(found) == [("DUPLICATE", "2")]
    assert list(found.columns) == [*FINDING_KEYS, "record_no"]


def test_engine_converts_typed_warehouse_columns() -> None:
    lines = parse_rows([fee(1, timekeeper_id="TK-9")]).lines.with_columns(
        pl.col("line_item_date").str.to_date("%Y%m%d"),
        pl.col("invoice_date").str.to_date("%Y%m%d"),
        pl.col("line_item_total").cast(pl.Decimal(12, 2)),
        pl.col("file").cast(pl.Categorical),
    )
    found = evaluate(lines, [rules(approved_timekeepers=["TK-1"],
                                   submission_deadline_days=30)]).to_dicts()
    assert [(f["code"], f["amount_at_risk"]) for f in found] == [
        ("LATE", "500.00"), ("TK_UNAPPROVED", "500.00")]


def test_engine_names_missing_columns() -> None:
    lines = parse_rows([fee(1)]).lines.drop("timekeeper_id")
    with pytest.raises(ValueError, match="timekeeper_id"):
        evaluate(lines, [rules()])
    assert "timekeeper_id" in REQUIRED_COLUMNS


def test_engine_with_no_rules_or_no_lines() -> None:
    lines = parse_rows([fee(1)]).lines
    assert evaluate(lines, []).height == 0
    assert evaluate(lines.head(0), [rules(max_daily_hours=1)]).height == 0


def test_engine_money_is_decimal_not_float() -> None:
    """0.1 + 0.2 style sums stay exact: 3 x 0.1 h = 0.3 h is not over a 0.3 h maximum."""
    rows = [fee(n, line_item_number_of_units="0.1", line_item_total="50.00")
            for n in (1, 2, 3)]
    assert ocg_findings(rows, rules(max_daily_hours=Decimal("0.3"))) == []
    assert len(ocg_findings(rows, rules(max_daily_hours=Decimal("0.29")))) == 3
