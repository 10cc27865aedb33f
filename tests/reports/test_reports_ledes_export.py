"""LEDES export: the file passes `lexrecon check` with no file findings and its totals equal
the warehouse's; text LEDES cannot carry is made safe; bad selections are refused."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from lexrecon.check import check_paths
from lexrecon.cli import main
from lexrecon.ledes.parser import read_ledes
from reports.ledes_export import LedesExportError, export_ledes


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _file_findings(path: Path) -> pl.DataFrame:
    return check_paths([str(path)]).filter(pl.col("code").str.starts_with("LEDES_"))


def test_every_invoice_exports_clean_with_the_warehouse_totals(serving_db, tmp_path):
    invoices = dict(_rows(serving_db, "select invoice_number, total_amount from "
                                      "marts.fct_invoices where not is_void and tax_amount = 0"))
    lines = dict(_rows(serving_db, "select invoice_number, count(*) from "
                                   "marts.fct_invoice_lines group by 1"))
    out = tmp_path / "all.txt"
    result = export_ledes(serving_db, out, invoices=sorted(invoices))
    assert not result.refused and set(result.invoices) == set(invoices)
    assert _file_findings(out).height == 0
    parsed = read_ledes(str(out)).lines
    assert parsed.height == sum(lines[n] for n in invoices)
    for number, total in invoices.items():
        mine = parsed.filter(pl.col("invoice_number") == number)
        assert Decimal(mine["invoice_total"][0]) == total
        assert sum(Decimal(v) for v in mine["line_item_total"]) == total
        assert mine.height == lines[number]


def test_client_and_period_through_the_cli(serving_db, tmp_path, capsys):
    client, period = _rows(serving_db, "select client_code, invoice_month from "
                                       "marts.fct_invoices where not is_void "
                                       "order by invoice_number limit 1")[0]
    expected = {r[0] for r in _rows(serving_db, "select invoice_number from marts.fct_invoices "
                                                "where client_code = ? and invoice_month = ? "
                                                "and not is_void", [client, period])}
    out = tmp_path / "client.txt"
    assert main(["ledes", "export", "--client", client, "--period", period, "--out", str(out),
                 "--serving-db", str(serving_db)]) == 0
    parsed = read_ledes(str(out)).lines
    assert set(parsed["invoice_number"]) == expected
    assert set(parsed["client_id"]) == {client}
    assert set(parsed["law_firm_id"]) == {"24-6437381"}  # from the firm's submitted LEDES files
    assert main(["check", str(out), "--format", "json"]) == 0
    capsys.readouterr()


def test_text_ledes_cannot_carry_is_made_safe(serving_copy, tmp_path):
    number, line = _rows(serving_copy, "select invoice_number, line_number from "
                                       "marts.fct_invoice_lines where line_type = 'F' "
                                       "order by invoice_number, line_number limit 1")[0]
    con = duckdb.connect(str(serving_copy))
    con.execute("update marts.fct_invoice_lines set description = ? where invoice_number = ? "
                "and line_number = ?", ["Réview | draft\nmemo for Zoë", number, line])
    con.close()
    out = tmp_path / "safe.txt"
    result = export_ledes(serving_copy, out, invoices=[number])
    assert _file_findings(out).height == 0
    text = out.read_text(encoding="ascii")
    assert "Review / draft memo for Zoe" in text
    assert any("written as" in a for a in result.adjusted)


def test_fixed_fee_line_without_timekeeper_is_written_as_if(serving_copy, tmp_path):
    number, line, total = _rows(serving_copy, "select invoice_number, line_number, line_total "
                                              "from marts.fct_invoice_lines where line_type = "
                                              "'F' order by invoice_number, line_number "
                                              "limit 1")[0]
    con = duckdb.connect(str(serving_copy))
    con.execute("update marts.fct_invoice_lines set timekeeper_id = null where "
                "invoice_number = ? and line_number = ?", [number, line])
    con.close()
    out = tmp_path / "flat.txt"
    result = export_ledes(serving_copy, out, invoices=[number])
    assert _file_findings(out).height == 0
    parsed = read_ledes(str(out)).lines
    row = parsed.filter(pl.col("line_item_number") == line)
    assert row["exp_fee_inv_adj_type"][0] == "IF" and Decimal(row["line_item_total"][0]) == total
    assert any("written as IF" in a for a in result.adjusted)


def test_unknown_or_bad_selection_is_refused(serving_db, tmp_path, capsys):
    with pytest.raises(LedesExportError):
        export_ledes(serving_db, tmp_path / "none.txt", invoices=["NO-SUCH-1"])
    with pytest.raises(LedesExportError):
        export_ledes(serving_db, tmp_path / "none.txt")
    good = _rows(serving_db, "select min(invoice_number) from marts.fct_invoices "
                             "where not is_void")[0][0]
    out = tmp_path / "partly.txt"
    assert main(["ledes", "export", "--invoice", good, "--invoice", "NO-SUCH-1", "--out",
                 str(out), "--serving-db", str(serving_db)]) == 1
    assert out.is_file() and "NO-SUCH-1" in capsys.readouterr().err
