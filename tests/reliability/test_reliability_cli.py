"""`lexrecon reliability` reads the tally and pytest's results into the table (no suites run
here: a synthetic tally and JUnit file)."""
from __future__ import annotations

import json

from lexrecon.cli import main
from lexrecon.reliability import format_table, read_junit, read_tally, summarise


def _files(tmp_path):
    tally = tmp_path / "tally.jsonl"
    rows = [("fault", "crashes", True), ("fault", "crashes", False),
            ("bad_input", "bad input corpus", True), ("attack", "security", True)]
    tally.write_text("".join(json.dumps({"category": c, "suite": s, "item": f"i{k}", "ok": ok,
                                         "detail": "d"}) + "\n"
                             for k, (c, s, ok) in enumerate(rows)) + '{"cut by a kil')
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.status.test_status" name="a" time="0.1"/>'
        '<testcase classname="tests.status.test_status" name="b" time="0.1">'
        '<failure message="x"/></testcase>'
        '<testcase classname="tests.reliability.test_crashes" name="c" time="1"/>'
        '</testsuite></testsuites>')
    return tally, junit


def test_table_counts_each_category_and_the_status_tests(tmp_path):
    tally, junit = _files(tmp_path)
    summary = summarise(read_tally(tally), read_junit(junit))
    assert (summary["fault"]["tried"], summary["fault"]["ok"]) == (2, 1)
    assert (summary["bad_input"]["tried"], summary["bad_input"]["ok"]) == (1, 1)
    assert (summary["attack"]["tried"], summary["attack"]["ok"]) == (1, 1)
    assert (summary["monitoring"]["tried"], summary["monitoring"]["ok"]) == (2, 1)
    table = format_table(summary)
    assert "faults" in table and "survived 1" in table and "refused 1" in table


def test_table_only_exits_1_when_something_was_not_survived(tmp_path, capsys):
    tally, _ = _files(tmp_path)
    assert main(["reliability", "--table-only", "--tally", str(tally)]) == 1
    out = capsys.readouterr().out
    assert "[crashes] i1" in out
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps({"category": "attack", "suite": "s", "item": "x", "ok": True}) + "\n")
    assert main(["reliability", "--table-only", "--tally", str(ok)]) == 0
