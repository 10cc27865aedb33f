"""Rules files: the contract's example loads; unknown keys, wrong types and bad values are
refused with a message naming the file and the key."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexrecon.ledes.synth import sample_rules, write_sample_rules_file
from lexrecon.ocg.rules import Rules, RulesError, load_rules, rules_from_mapping, rules_yaml

CONTRACT_EXAMPLE = """\
client_id: ACME-001            # matched against LEDES CLIENT_ID
client_name: Acme Corporation
billing_increment_hours: 0.1   # INCREMENT
max_daily_hours: 10            # DAILY_MAX
submission_deadline_days: 90   # LATE
rate_caps:                     # RATE_CAP
  by_classification: {PARTNR: 900.00, ASSOC: 600.00, PARALG: 250.00}
  by_timekeeper: {TK-7: 950.00}
approved_timekeepers: [TK-1, TK-2, TK-3]
allowed_task_codes: ["L1*", "L2*", "L3*", "L4*", "L5*"]
allowed_activity_codes: ["A1*"]
disallowed_expense_codes: [E103, E104, E105, E111]
travel: {keywords: [travel], rate_factor: 0.5}
vague: {min_words: 4, phrases: [attention to file, work on matter, review file, research, conference, follow up]}
block_billing: {max_tasks: 1}
admin: {keywords: [scan, photocop, bates, calendar, file documents, organize file, schedule]}
duplicate_lines: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> RulesError:
    with pytest.raises(RulesError) as caught:
        load_rules(write(tmp_path, text))
    assert str(tmp_path / "acme.yml") in str(caught.value)
    return caught.value


def test_contract_example_loads_with_decimals(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, CONTRACT_EXAMPLE))
    assert rules.client_id == "ACME-001"
    assert rules.billing_increment_hours == Decimal("0.1")
    assert isinstance(rules.billing_increment_hours, Decimal)
    assert rules.rate_caps is not None
    assert rules.rate_caps.by_classification["PARTNR"] == Decimal("900.00")
    assert rules.rate_caps.by_timekeeper == {"TK-7": Decimal("950.00")}
    assert rules.travel is not None and rules.travel.rate_factor == Decimal("0.5")
    assert rules.vague is not None and rules.vague.min_words == 4
    assert rules.block_billing_max_tasks == 1 and rules.duplicate_lines is True
    assert rules.allowed_task_codes == ("L1*", "L2*", "L3*", "L4*", "L5*")


def test_only_client_id_is_required(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "client_id: ACME-001\n"))
    assert rules == Rules(client_id="ACME-001", source=str(tmp_path / "acme.yml"))


@pytest.mark.parametrize(("text", "key"), [
    ("client_id: A\nmax_daily_hour: 10\n", "max_daily_hour"),
    ("client_id: A\nrate_caps: {by_class: {PARTNR: 1}}\n", "rate_caps.by_class"),
    ("client_id: A\ntravel: {keywords: [t], rate_factor: 0.5, speed: 1}\n", "travel.speed"),
    ("client_id: A\nvague: {min_words: 3, phrase: [x]}\n", "vague.phrase"),
])
def test_unknown_key_is_refused(tmp_path: Path, text: str, key: str) -> None:
    error = refused(tmp_path, text)
    assert error.key == key and f"'{key}'" in str(error) and "unknown key" in str(error)


@pytest.mark.parametrize(("text", "key"), [
    ("client_id: A\nmax_daily_hours: ten\n", "max_daily_hours"),
    ("client_id: A\nmax_daily_hours: true\n", "max_daily_hours"),
    ("client_id: A\nsubmission_deadline_days: 90.5\n", "submission_deadline_days"),
    ("client_id: A\napproved_timekeepers: TK-1\n", "approved_timekeepers"),
    ("client_id: A\napproved_timekeepers: [TK-1, 22547]\n", "approved_timekeepers[1]"),
    ("client_id: A\nrate_caps: {by_timekeeper: {TK-7: '950'}}\n", "rate_caps.by_timekeeper.TK-7"),
    ("client_id: A\nduplicate_lines: 'yes'\n", "duplicate_lines"),
    ("client_id: A\nblock_billing: 1\n", "block_billing"),
    ("client_id: 711\n", "client_id"),
])
def test_wrong_type_is_refused(tmp_path: Path, text: str, key: str) -> None:
    error = refused(tmp_path, text)
    assert error.key == key and f"'{key}'" in str(error)


@pytest.mark.parametrize(("text", "key"), [
    ("client_id: A\nbilling_increment_hours: 0\n", "billing_increment_hours"),
    ("client_id: A\nmax_daily_hours: -1\n", "max_daily_hours"),
    ("client_id: A\nrate_caps: {by_classification: {PARTNR: -5.00}}\n",
     "rate_caps.by_classification.PARTNR"),
    ("client_id: A\nallowed_task_codes: ['L*1']\n", "allowed_task_codes[0]"),
    ("client_id: A\nblock_billing: {max_tasks: 0}\n", "block_billing.max_tasks"),
    ("client_id: A\ntravel: {keywords: [travel]}\n", "travel.rate_factor"),
    ("client_id: A\nmax_daily_hours: .inf\n", "max_daily_hours"),
    ("client_id: ' '\n", "client_id"),
    ("client_name: Acme\n", "client_id"),
])
def test_bad_value_is_refused(tmp_path: Path, text: str, key: str) -> None:
    error = refused(tmp_path, text)
    assert error.key == key and f"'{key}'" in str(error)


def test_quoted_numeric_client_id_hint(tmp_path: Path) -> None:
    assert "quote" in str(refused(tmp_path, "client_id: 00711\n"))
    assert load_rules(write(tmp_path, "client_id: '00711'\n")).client_id == "00711"


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "client_id: A\nmax_daily_hours: 10\nmax_daily_hours: 12\n")
    assert "max_daily_hours" in str(error) and "twice" in str(error)


def test_not_a_mapping_and_syntax_errors_are_refused(tmp_path: Path) -> None:
    assert "mapping" in str(refused(tmp_path, "- a\n- b\n"))
    assert "mapping" in str(refused(tmp_path, ""))
    assert "YAML" in str(refused(tmp_path, "client_id: [unclosed\n"))


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot be read"):
        load_rules(tmp_path / "missing.yml")


def test_sample_rules_round_trip_through_yaml(tmp_path: Path) -> None:
    path = tmp_path / "sample.yml"
    write_sample_rules_file(path, "ACME-001")
    assert load_rules(path) == rules_from_mapping(sample_rules("ACME-001"), str(path))
    assert "!!" not in rules_yaml(sample_rules("ACME-001"))


def test_python_floats_are_read_as_their_decimal_text() -> None:
    rules = rules_from_mapping({"client_id": "A", "billing_increment_hours": 0.1})
    assert rules.billing_increment_hours == Decimal("0.1")


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5),
                    st.decimals(allow_nan=True, places=2))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
keys = st.sampled_from(["client_id", "max_daily_hours", "rate_caps", "travel", "vague",
                        "admin", "block_billing", "approved_timekeepers", "bogus",
                        "allowed_task_codes", "duplicate_lines", "submission_deadline_days"])


@settings(max_examples=200, deadline=None, database=None)
@given(st.dictionaries(keys, values, max_size=5))
def test_any_mapping_is_accepted_or_refused_with_a_key(data: dict[str, object]) -> None:
    try:
        rules_from_mapping(data, "fuzz.yml")
    except RulesError as error:
        assert str(error).startswith("rules file fuzz.yml")
