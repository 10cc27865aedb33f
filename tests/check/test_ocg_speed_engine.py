"""The OCG engine evaluates each rule kind once over every client (not once per rules file),
and rules files' long ID lists load without a YAML node per entry; results stay exactly what
one rules file at a time gives."""
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml
from check_builders import fee, parse_rows

from lexrecon.ledes.values import date, number
from lexrecon.ocg import rules as rules_module
from lexrecon.ocg.engine import evaluate, governed_lines
from lexrecon.ocg.rules import RulesError, load_rules, rules_from_mapping

KEYS = ["file", "invoice_number", "line_item_number", "code"]


def client_rules(client: str, **overrides) -> rules_module.Rules:
    base = {
        "client_id": client, "client_name": f"Client {client}",
        "billing_increment_hours": Decimal("0.1"), "max_daily_hours": Decimal(8),
        "submission_deadline_days": 30,
        "rate_caps": {"by_classification": {"ASSOC": Decimal(450)},
                      "by_timekeeper": {"TK-2": Decimal(700)}},
        "approved_timekeepers": ["TK-1", "TK-2"], "allowed_task_codes": ["L1*", "L210"],
        "allowed_activity_codes": ["A1*"], "disallowed_expense_codes": ["E111"],
        "travel": {"keywords": ["travel"], "rate_factor": Decimal("0.5")},
        "vague": {"min_words": 4, "phrases": ["review file"]},
        "block_billing": {"max_tasks": 1}, "admin": {"keywords": ["scan"]},
        "duplicate_lines": True,
    }
    base.update(overrides)
    return rules_from_mapping(base, f"{client}.yml")


def breaching_rows(client: str, invoice: str, first: int) -> list[dict[str, str]]:
    """Lines of one invoice that break most rules (and a clean one)."""
    n = first
    common = {"client_id": client, "invoice_number": invoice}
    return [
        fee(n, **common),
        fee(n + 1, **common, timekeeper_id="TK-9", line_item_unit_cost="500.00"),
        fee(n + 2, **common, line_item_description="review file", line_item_task_code="L310"),
        fee(n + 3, **common, line_item_number_of_units="5.25", line_item_total="2625.00",
            line_item_description="Travel to court; scan exhibits; call client"),
        fee(n + 4, **common, line_item_number_of_units="5.0", line_item_total="2500.00",
            line_item_date="20231201", line_item_activity_code=""),
        fee(n + 5, **common, line_item_number_of_units="5.0", line_item_total="2500.00",
            line_item_date="20231201", line_item_activity_code=""),
    ]


def many_clients(n_clients: int, per_client_invoices: int = 1) -> pl.DataFrame:
    frames = []
    for c in range(n_clients):
        rows = []
        for i in range(per_client_invoices):
            rows += breaching_rows(f"C{c:03d}", f"INV-{c}-{i}", 1 + 6 * i)
        frames.append(parse_rows(rows, file=f"c{c:03d}.txt").lines)
    return pl.concat(frames)


def sorted_rows(found: pl.DataFrame) -> list[dict]:
    return found.sort([*KEYS, "message"]).to_dicts()


def test_every_client_at_once_equals_one_rules_file_at_a_time() -> None:
    """Distinct clients with different rules (and different keyword lists): the joint run
    gives, finding for finding, what running each client's file alone gives."""
    lines = many_clients(6, per_client_invoices=2)
    rules = [
        client_rules("C000"),
        client_rules("C001", travel={"keywords": ["court"], "rate_factor": Decimal("0.75")},
                     admin={"keywords": ["call", "scan"]}),
        client_rules("C002", max_daily_hours=Decimal(12), billing_increment_hours=Decimal(1),
                     rate_caps={"by_classification": {"ASSOC": Decimal(400)}}),
        client_rules("C003", duplicate_lines=False, vague={"min_words": 2},
                     allowed_task_codes=[]),
        rules_from_mapping({"client_id": "C004"}, "C004.yml"),  # every rule off
        client_rules("C005", approved_timekeepers=[], travel={"keywords": [],
                                                                  "rate_factor": 1}),
    ]
    joint = evaluate(lines, rules)
    alone = pl.concat([evaluate(lines, [r]) for r in rules])
    assert joint.height > 40
    assert sorted_rows(joint) == sorted_rows(alone)
    # ordered by file, then line (the contract's order)
    assert joint.select("file", "record_no").rows() == sorted(
        joint.select("file", "record_no").rows())
    # each client's findings come from its own rules only
    assert set(joint.filter(pl.col("file") == "c004.txt")["code"]) == set()
    assert "ADMIN" in set(joint.filter(pl.col("file") == "c001.txt")["code"])


def test_two_rules_files_for_one_client_each_apply() -> None:
    """The engine (unlike `lexrecon check`, which refuses it) applies both; a finding both
    report is one finding with both messages."""
    lines = many_clients(1)
    first = client_rules("C000")
    second = client_rules("C000", client_name="Other name",
                          rate_caps={"by_classification": {"ASSOC": Decimal(300)}})
    found = evaluate(lines, [first, second])
    unapproved = found.filter(pl.col("code") == "TK_UNAPPROVED")["message"].to_list()
    assert unapproved == [("line 4: timekeeper TK-9 is not approved by Client C000; "
                           "line 4: timekeeper TK-9 is not approved by Other name")]
    caps = found.filter(pl.col("code") == "RATE_CAP")
    assert caps.height == 6 and all("300.00" in m for m in caps["message"])


def as_text(lines: pl.DataFrame) -> pl.DataFrame:
    """Typed columns as the text the engine documents them as: DATE as YYYYMMDD, numbers as
    their text."""
    return lines.with_columns(
        pl.col(pl.Date).dt.strftime("%Y%m%d"), pl.col(pl.Decimal).cast(pl.Utf8))


def test_typed_columns_read_as_their_text() -> None:
    """DECIMAL and DATE columns (the warehouse's) are read without a trip through text and
    give the findings of their text, also for values text could not hold (16 digits before
    the point) and years outside 1-9999."""
    rows = breaching_rows("C000", "INV-1", 1) + [
        fee(7, client_id="C000", invoice_number="INV-1", line_item_unit_cost="1000.1234",
            line_item_number_of_units="0.3333", line_item_total="333.37"),
    ]
    text = parse_rows(rows).lines
    typed = text.with_columns(
        *[number(c).cast(pl.Decimal(18, 4)).alias(c) for c in
          ("line_item_number_of_units", "line_item_unit_cost", "line_item_total")],
        *[date(c).alias(c) for c in ("invoice_date", "line_item_date")],
    )
    rules = [client_rules("C000")]
    found = evaluate(typed, rules)
    assert found.height > 10 and found.equals(evaluate(as_text(typed), rules))
    assert "units 5.2500 are not a whole multiple" in " ".join(found["message"])
    odd = typed.with_columns(
        pl.lit(Decimal("1234567890123456.5")).cast(pl.Decimal(18, 1))
        .alias("line_item_unit_cost"),
        pl.Series("line_item_date", [dt.date(1, 1, 1), dt.date(9999, 12, 31), None,
                                     dt.date(2023, 12, 1), dt.date(2024, 1, 10),
                                     dt.date(2024, 1, 10), dt.date(2024, 1, 10)]),
    )
    assert evaluate(odd, rules).equals(evaluate(as_text(odd), rules))


def test_evaluating_only_governed_lines_gives_every_finding() -> None:
    """governed_lines marks the lines of invoices whose client (the CLIENT_ID of the
    invoice's first line, trimmed) has a rules file; evaluating only those lines, each with its
    record_no, gives every finding of evaluating all lines (pre-bill reads only those)."""
    lines = many_clients(6, per_client_invoices=2)
    first = pl.col("record_no") == pl.col("record_no").min().over("file", "invoice_number")
    lines = lines.with_columns(client_id=pl.when(
        # first line C000, the others a governed client: the invoice is C000's, not governed
        (pl.col("invoice_number") == "INV-0-0") & ~first).then(pl.lit("C001"))
        # first line a governed client (padded), the others not: governed as a whole
        .when((pl.col("invoice_number") == "INV-2-1") & first).then(pl.lit("  C003 "))
        .otherwise(pl.col("client_id")))
    rules = [client_rules("C001"), client_rules("C003"),
             client_rules("C005", max_daily_hours=Decimal(1))]
    shuffled = lines.sample(fraction=1.0, shuffle=True, seed=7)  # any row order
    mask = governed_lines(shuffled, rules)
    assert mask.len() == shuffled.height and 0 < mask.sum() < shuffled.height
    marked = shuffled.with_columns(mask)
    by_invoice = dict(marked.group_by("invoice_number").agg(pl.col("governed").all()).rows())
    assert by_invoice == dict(marked.group_by("invoice_number")
                              .agg(pl.col("governed").any()).rows())  # whole invoices
    assert not by_invoice["INV-0-0"] and by_invoice["INV-2-1"] and by_invoice["INV-1-0"]
    assert not by_invoice["INV-2-0"] and by_invoice["INV-5-1"]
    full = evaluate(shuffled, rules)
    assert full.height > 20
    assert evaluate(shuffled.filter(mask), rules).equals(full)
    assert governed_lines(lines, []).sum() == 0


def test_cost_does_not_grow_with_the_number_of_rules_files() -> None:
    """100 clients' lines under 100 rules files cost about what the same number of lines of
    one client costs (a loop over rules files made it about 100 times as much)."""
    spread = many_clients(100)
    rules = [client_rules(f"C{c:03d}") for c in range(100)]
    one = many_clients(1, per_client_invoices=100)

    def cpu(lines: pl.DataFrame, rule_sets: list) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            evaluate(lines, rule_sets)
            best = min(best, time.process_time() - start)
        return best

    assert spread.height == one.height
    assert cpu(spread, rules) < 8 * cpu(one, rules[:1]) + 0.05


# ----------------------------------------------------------------------- loading rules files
LONG = ", ".join(f'"NY-TK{i:04d}"' for i in range(1000))


@pytest.mark.parametrize("text", [
    f'client_id: "C1"\napproved_timekeepers: [{LONG}]\n',
    f'client_id: "C1"\napproved_timekeepers: [{LONG}]\nallowed_task_codes: ["L1*", "P*"]\n',
    'client_id: "C1"\napproved_timekeepers: [ "a b" , "#x", "&y", "*z", "!q", "%", "`"]\n',
    'client_id: "C1"\napproved_timekeepers: ["a"] # trailing comment\n',
    'client_id: "C1"\napproved_timekeepers: ["caf\\u00e9", "b"]\n',
    'client_id: "C1"\napproved_timekeepers: ["a]b", "c"]\n',
    'client_id: "C1"\napproved_timekeepers: ["a",]\n',
    'client_id: "C1"\r\napproved_timekeepers: ["a", "b"]\r\n',
    'client_name: "x\napproved_timekeepers: [\\"q\\"]"\nclient_id: "C1"\n',
    'client_name: |\n  approved_timekeepers: ["a"]\nclient_id: "C1"\n',
    'rate_caps:\n  by_timekeeper: {"T": 1}\nclient_id: "C1"\napproved_timekeepers: ["T"]\n',
    'x: &anchor ["a", "b"]\nclient_id: "C1"\n',
    'client_id: "C1"\napproved_timekeepers: ["lexrecon-plain-list-0"]\n',
])
def test_rules_files_read_as_yaml_reads_them(text: str, tmp_path: Path) -> None:
    """Whatever the fast reading of one-line lists takes, the mapping is YAML's."""
    fast = rules_module._with_plain_lists(text)
    expected = yaml.load(text, Loader=rules_module._Loader)
    if fast is not None:
        assert fast == expected
    path = tmp_path / "r.yml"
    path.write_text(text, encoding="utf-8")
    try:
        got = load_rules(path)
    except RulesError as exc:
        with pytest.raises(RulesError) as again:
            rules_from_mapping(expected, str(path))
        assert str(exc) == str(again.value)
    else:
        assert got == rules_from_mapping(expected, str(path))


def test_long_list_takes_the_fast_reading_and_keeps_errors(tmp_path: Path) -> None:
    text = f'client_id: "C1"\napproved_timekeepers: [{LONG}, ""]\n'
    assert rules_module._with_plain_lists(text) is not None
    path = tmp_path / "r.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=r"key 'approved_timekeepers\[1000\]'"):
        load_rules(path)
    twice = f'client_id: "C1"\napproved_timekeepers: [{LONG}]\napproved_timekeepers: ["a"]\n'
    path.write_text(twice, encoding="utf-8")
    with pytest.raises(RulesError, match="appears twice"):
        load_rules(path)
    path.write_text(f'client_id: "C1"\napproved_timekeepers: [{LONG}]\n', encoding="utf-8")
    assert load_rules(path).approved_timekeepers == tuple(f"NY-TK{i:04d}" for i in range(1000))
