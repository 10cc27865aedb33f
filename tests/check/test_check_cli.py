"""`lexrecon check` as a command: exit codes, stdout-only JSON, table, clear errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from check_builders import CLIENT, expense, fee, ledes_bytes

from lexrecon.cli import main

LEXRECON = Path(sys.executable).parent / "lexrecon"
RULES = f"client_id: {CLIENT}\napproved_timekeepers: [TK-1]\nrate_caps:\n" \
        "  by_classification: {ASSOC: 600.00}\n"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEXRECON), "check", *map(str, args)], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    clean = tmp_path / "clean.txt"
    clean.write_bytes(ledes_bytes([fee(1), expense(2)]))
    breach = tmp_path / "breach.txt"
    breach.write_bytes(ledes_bytes([fee(1, timekeeper_id="TK-9"), fee(2)]))
    warning = tmp_path / "warning.txt"
    warning.write_bytes(ledes_bytes([fee(1, line_item_description="Caf\u00e9 meeting notes")]))
    rules = tmp_path / "acme.yml"
    rules.write_text(RULES, encoding="utf-8")
    bad_rules = tmp_path / "bad.yml"
    bad_rules.write_text(f"client_id: {CLIENT}\nmax_daily_hours: lots\n", encoding="utf-8")
    return {"clean": clean, "breach": breach, "warning": warning, "rules": rules,
            "bad_rules": bad_rules}


def test_clean_file_exits_0_with_empty_json(files: dict[str, Path]) -> None:
    done = run(files["clean"], "--rules", files["rules"], "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_error_finding_exits_1_and_stdout_is_only_json(files: dict[str, Path]) -> None:
    done = run(files["clean"], files["breach"], "--rules", files["rules"], "--format", "json")
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)
    assert findings == [{
        "file": str(files["breach"]),
        "invoice_number": "INV-1",
        "line_item_number": "1",
        "code": "TK_UNAPPROVED",
        "severity": "error",
        "message": findings[0]["message"],
        "amount_at_risk": "500.00",
    }]
    assert "TK-9" in findings[0]["message"]


def test_json_value_types(files: dict[str, Path]) -> None:
    bad = files["clean"].parent / "mixed.txt"
    bad.write_bytes(ledes_bytes([fee(1, line_item_total="1.00", timekeeper_id="TK-9")]))
    done = run(bad, "--rules", files["rules"], "--format", "json")
    findings = json.loads(done.stdout)
    assert done.returncode == 1 and {f["code"] for f in findings} == {
        "LEDES_LINE_MATH", "TK_UNAPPROVED"}
    for f in findings:
        assert list(f) == ["file", "invoice_number", "line_item_number", "code", "severity",
                           "message", "amount_at_risk"]
        assert f["severity"] in ("error", "warning")
        assert f["amount_at_risk"] is None or f["amount_at_risk"].count(".") == 1
        assert f["amount_at_risk"] is None or len(f["amount_at_risk"].split(".")[1]) == 2


def test_warnings_only_exit_0(files: dict[str, Path]) -> None:
    done = run(files["warning"], "--format", "json")
    assert done.returncode == 0
    assert [f["code"] for f in json.loads(done.stdout)] == ["LEDES_ENCODING"]


def test_default_format_off_a_terminal_is_json(files: dict[str, Path]) -> None:
    done = run(files["breach"], "--rules", files["rules"])
    assert done.returncode == 1 and json.loads(done.stdout)[0]["code"] == "TK_UNAPPROVED"


def test_table_has_rows_and_a_summary_line(files: dict[str, Path]) -> None:
    done = run(files["breach"], files["warning"], "--rules", files["rules"], "--format",
               "table")
    assert done.returncode == 1
    assert "TK_UNAPPROVED" in done.stdout and "LEDES_ENCODING" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == (
        "1 error(s), 1 warning(s) in 2 files; amount at risk 500.00")


def test_table_shows_markup_like_values_as_written(tmp_path: Path) -> None:
    odd = tmp_path / "odd.txt"
    odd.write_bytes(ledes_bytes([fee(1, line_item_date="[b]x[/]", client_matter_id="[/x]",
                                     line_item_description="Caf\u00e9 [red]notes[/red]")]))
    done = run(odd, "--format", "table")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "'[b]x[/]'" in done.stdout and "LEDES_ENCODING" in done.stdout


def test_table_with_many_findings_is_plain_aligned_text(tmp_path: Path) -> None:
    many = tmp_path / "many.txt"
    many.write_bytes(ledes_bytes([fee(n, line_item_total="1.00") for n in range(1, 352)]))
    done = run(many, "--format", "table")
    lines = done.stdout.splitlines()
    assert done.returncode == 1 and len(lines) == 1 + 351 + 1
    assert lines[0].split() == ["File", "Invoice", "Line", "Code", "Severity", "At", "risk",
                                "Message"]
    assert lines[1].split()[1:5] == ["INV-1", "1", "LEDES_LINE_MATH", "error"]
    assert lines[-1] == "351 error(s), 0 warning(s) in 1 file; amount at risk 0.00"


def test_table_for_a_clean_file(files: dict[str, Path]) -> None:
    done = run(files["clean"], "--format", "table")
    assert done.returncode == 0 and "No findings" in done.stdout
    assert "0 error(s), 0 warning(s) in 1 file;" in done.stdout


def test_unreadable_file_exits_2_naming_it(files: dict[str, Path]) -> None:
    missing = files["clean"].parent / "nope.txt"
    done = run(files["clean"], missing, "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert str(missing) in done.stderr and "Traceback" not in done.stderr
    directory = run(files["clean"].parent, "--format", "json")
    assert directory.returncode == 2 and "Traceback" not in directory.stderr


def test_invalid_rules_exits_2_naming_file_and_key(files: dict[str, Path]) -> None:
    done = run(files["clean"], "--rules", files["bad_rules"], "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert str(files["bad_rules"]) in done.stderr and "'max_daily_hours'" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_reason_to_stop_is_reported(files: dict[str, Path]) -> None:
    missing = files["clean"].parent / "nope.txt"
    done = run(missing, "--rules", files["bad_rules"])
    assert done.returncode == 2 and done.stdout == ""
    assert str(missing) in done.stderr and "'max_daily_hours'" in done.stderr


def test_two_rules_files_for_one_client_exit_2(files: dict[str, Path]) -> None:
    done = run(files["clean"], "--rules", files["rules"], "--rules", files["rules"])
    assert done.returncode == 2 and CLIENT in done.stderr


def test_garbage_file_is_a_format_finding_not_a_crash(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    done = run(junk, "--format", "json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [f["code"] for f in json.loads(done.stdout)] == ["LEDES_FORMAT"]


def test_undecodable_file_name(tmp_path: Path) -> None:
    name = os.fsdecode(bytes(tmp_path) + b"/bad-\xff.txt")
    Path(name).write_bytes(b"junk")
    for output in ("json", "table"):
        done = run(name, "--format", output)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "LEDES_FORMAT" in done.stdout and "bad-" in done.stdout


def test_rules_of_another_client_give_file_checks_only(files: dict[str, Path],
                                                        tmp_path: Path) -> None:
    other = tmp_path / "other.yml"
    other.write_text("client_id: OTHER\napproved_timekeepers: [X]\n", encoding="utf-8")
    done = run(files["breach"], "--rules", other, "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout) == []
    assert "matched no invoice" in done.stderr and CLIENT in done.stderr


def test_in_process_entry_point(files: dict[str, Path], capsys: pytest.CaptureFixture[str]
                                ) -> None:
    assert main(["check", str(files["breach"]), "--rules", str(files["rules"]),
                 "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["amount_at_risk"] == "500.00"
