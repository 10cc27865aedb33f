"""Many files in one run: checked together (fast) with the same findings as one by one."""
from __future__ import annotations

from pathlib import Path

import polars as pl
from check_builders import expense, fee, ledes_bytes

from lexrecon.check import check_paths
from lexrecon.ledes.checks import check_file, check_files
from lexrecon.ledes.parser import parse_ledes, parse_ledes_many

BI = "LEDES98BI V2[]"


def sample_files() -> list[tuple[bytes, str]]:
    good = ledes_bytes([fee(1), expense(2)])
    files = [(good, "good.txt"),
             (ledes_bytes([fee(1, line_item_total="1"), fee(1)]), "math-and-dup.txt"),
             (b"", "empty.txt"),
             (good.replace(b"LEDES1998B[]", b"LEDES1998BB[]"), "format.txt"),
             (good.replace(b"INVOICE_DATE|", b"INVOIC_DATE|", 1), "columns.txt"),
             (good + b"1|2|3[]\r\n", "short-record.txt"),
             (ledes_bytes([fee(1, timekeeper_last_name="", line_item_tax_total="0",
                               invoice_tax_total="1")], BI), "bi.txt"),
             (good.replace(b"\r\n", b"\n"), "good-lf.txt")]
    return files + [(good, f"copy-{i}.txt") for i in range(40)]


def test_batch_parse_equals_one_by_one() -> None:
    items = sample_files()
    batch = parse_ledes_many(items)
    for (data, name), parsed in zip(items, batch, strict=True):
        alone = parse_ledes(data, name)
        assert parsed.file == name and parsed.format == alone.format
        assert parsed.lines.equals(alone.lines)
        assert parsed.findings.equals(alone.findings)


def test_files_checked_together_equal_files_checked_alone() -> None:
    parsed = parse_ledes_many(sample_files())
    together = check_files(parsed)
    alone = pl.concat([check_file(p) for p in parsed])
    key = ["file", "record_no", "code"]
    assert together.sort(key).equals(alone.sort(key))
    assert set(together.get_column("code")) >= {
        "LEDES_FORMAT", "LEDES_COLUMNS", "LEDES_FIELD_COUNT", "LEDES_LINE_MATH",
        "LEDES_DUPLICATE_LINE", "LEDES_REQUIRED", "LEDES_TAX_TOTAL"}


def test_field_count_skips_sums_only_in_its_own_file(tmp_path: Path) -> None:
    wrong_total = ledes_bytes([fee(1, invoice_total="999")], totals=False)
    (tmp_path / "a.txt").write_bytes(wrong_total + b"x|INV-1[]\r\n")
    (tmp_path / "b.txt").write_bytes(wrong_total)
    found = check_paths([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")])
    assert [(Path(f["file"]).name, f["code"]) for f in found.to_dicts()] == [
        ("a.txt", "LEDES_FIELD_COUNT"), ("b.txt", "LEDES_INVOICE_TOTAL")]


def test_same_label_twice_is_kept_apart() -> None:
    data = ledes_bytes([fee(1)])
    first, second = parse_ledes_many([(data, "same.txt"), (data, "same.txt")])
    assert first.lines.height == second.lines.height == 1


def test_daily_max_across_many_files(tmp_path: Path) -> None:
    paths = []
    for i in range(12):
        path = tmp_path / f"inv-{i}.txt"
        path.write_bytes(ledes_bytes([fee(1, invoice_number=f"INV-{i}")]))
        paths.append(str(path))
    rules = tmp_path / "rules.yml"
    rules.write_text("client_id: ACME-001\nmax_daily_hours: 11\n", encoding="utf-8")
    found = check_paths(paths, [str(rules)])
    assert found.height == 12 and set(found.get_column("code")) == {"DAILY_MAX"}
    assert check_paths(paths[:11], [str(rules)]).height == 0
