"""OCG rules files: load one client's outside-counsel billing guidelines and refuse bad ones.

``load_rules(path)`` reads a YAML rules file (format in shared/spec/check-contract.md and
docs/check.md) and returns a frozen :class:`Rules`; ``rules_from_mapping(data, source)``
does the same for an already-parsed mapping (the warehouse may keep rules elsewhere).
Anything wrong (unknown key, wrong type, bad value, duplicate key, YAML syntax) raises
:class:`RulesError` whose message names the file and the dotted key. Every key but
``client_id`` is optional and a missing key switches its rule off; nothing is defaulted.
Numbers from YAML are read as :class:`decimal.Decimal` straight from their text, never float.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the key."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        self.source = source
        self.key = key
        where = f"rules file {source}" + (f": key '{key}'" if key else "")
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class RateCaps:
    by_classification: Mapping[str, Decimal] = field(default_factory=dict)
    by_timekeeper: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Travel:
    keywords: tuple[str, ...]
    rate_factor: Decimal


@dataclass(frozen=True)
class Vague:
    min_words: int | None = None
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """One client's rules; ``None`` (or an empty tuple for ``phrases``) means "rule off"."""

    client_id: str
    source: str = "<rules>"
    client_name: str | None = None
    billing_increment_hours: Decimal | None = None
    max_daily_hours: Decimal | None = None
    submission_deadline_days: int | None = None
    rate_caps: RateCaps | None = None
    approved_timekeepers: tuple[str, ...] | None = None
    allowed_task_codes: tuple[str, ...] | None = None
    allowed_activity_codes: tuple[str, ...] | None = None
    disallowed_expense_codes: tuple[str, ...] | None = None
    travel: Travel | None = None
    vague: Vague | None = None
    block_billing_max_tasks: int | None = None
    admin_keywords: tuple[str, ...] | None = None
    duplicate_lines: bool = False


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available
    """Safe YAML with decimals for floats and an error on a repeated key."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | str:
    raw = str(loader.construct_scalar(node))
    try:
        value = Decimal(raw.replace("_", ""))
    except InvalidOperation:
        return raw
    return value if value.is_finite() else raw


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            continue  # refused later as a non-text key
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_pairs(node, deep=True))


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

TOP_KEYS = (
    "client_id", "client_name", "billing_increment_hours", "max_daily_hours",
    "submission_deadline_days", "rate_caps", "approved_timekeepers", "allowed_task_codes",
    "allowed_activity_codes", "disallowed_expense_codes", "travel", "vague", "block_billing",
    "admin", "duplicate_lines",
)


class _Dumper(yaml.SafeDumper):
    """Safe YAML that writes Decimal as a plain YAML number."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = str(value)
    tag = "int" if text.lstrip("-").isdigit() else "float"
    return dumper.represent_scalar(f"tag:yaml.org,2002:{tag}", text)


_Dumper.add_representer(Decimal, _represent_decimal)


def rules_yaml(data: Mapping[str, Any]) -> str:
    """A rules mapping as rules-file YAML (Decimal written as numbers, key order kept)."""
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, default_flow_style=None,
                     allow_unicode=True)


def load_rules(path: str | Path) -> Rules:
    """Read and validate a rules file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(source, None, f"cannot be read ({exc})") from None
    data = _with_plain_lists(text)
    if data is None:
        try:
            data = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            raise RulesError(source, None,
                             f"is not valid YAML: {exc}".replace("\n", " ")) from None
    return rules_from_mapping(data, source)


# A top-level key whose value is a one-line flow list of double-quoted printable ASCII text
# without escapes, e.g. approved_timekeepers: ["TK-1", "TK-2", ...] (a firm's list runs to
# a thousand entries; YAML builds a node per entry, which made loading 400 files take 2 s).
_PLAIN = r"[\x20\x21\x23-\x5b\x5d-\x7e]*"  # printable ASCII but " and \\
_FLOW_LIST_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*): +\[([^\]\n]*)\] *$", re.MULTILINE)
_PLAIN_ITEMS = re.compile(rf' *"{_PLAIN}" *(?:, *"{_PLAIN}" *)*')
_SENTINEL = "lexrecon-plain-list-"


def _with_plain_lists(text: str) -> dict[Any, Any] | None:
    """The file's mapping, with such lists read by a regular expression and the rest by YAML
    (the list replaced by a placeholder text); None when that is not certain to give what
    YAML gives for the whole file (YAML then reads it, and reports any error).

    Such an entry's value is its text between the quotes. The placeholder must come back as
    the value of its key at the top of the mapping, which proves the line is that key's
    value and not part of some other value."""
    if _SENTINEL in text:
        return None
    lists: dict[str, tuple[str, list[str]]] = {}

    def swap(match: re.Match[str]) -> str:
        key, items = match.group(1), match.group(2)
        if key in lists or not _PLAIN_ITEMS.fullmatch(items):
            return match.group(0)
        placeholder = f"{_SENTINEL}{len(lists)}"
        # the full match proves the items are quoted texts without quotes, between commas
        lists[key] = (placeholder, items.split('"')[1::2])
        return f'{key}: "{placeholder}"'

    slim = _FLOW_LIST_LINE.sub(swap, text)
    if not lists:
        return None
    try:
        data = yaml.load(slim, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    for key, (placeholder, items) in lists.items():
        if data.get(key) != placeholder:
            return None
        data[key] = items
    return data


def rules_from_mapping(data: Any, source: str = "<rules>") -> Rules:
    """Validate a parsed rules mapping (numbers: int or Decimal; a float is read via repr)."""
    checker = _Checker(source)
    top = checker.mapping(data, None, TOP_KEYS)
    if "client_id" not in top:
        raise RulesError(source, "client_id", "is required (the LEDES CLIENT_ID it applies to)")
    c = checker
    caps = None
    if "rate_caps" in top:
        raw = c.mapping(top["rate_caps"], "rate_caps", ("by_classification", "by_timekeeper"))
        caps = RateCaps(
            by_classification=c.amounts(raw.get("by_classification", {}),
                                        "rate_caps.by_classification"),
            by_timekeeper=c.amounts(raw.get("by_timekeeper", {}), "rate_caps.by_timekeeper"),
        )
    travel = None
    if "travel" in top:
        raw = c.mapping(top["travel"], "travel", ("keywords", "rate_factor"), required=True)
        travel = Travel(
            keywords=c.texts(raw["keywords"], "travel.keywords"),
            rate_factor=c.decimal(raw["rate_factor"], "travel.rate_factor", minimum=0,
                                  strict=True),
        )
    vague = None
    if "vague" in top:
        raw = c.mapping(top["vague"], "vague", ("min_words", "phrases"))
        vague = Vague(
            min_words=c.integer(raw["min_words"], "vague.min_words", minimum=1)
            if "min_words" in raw else None,
            phrases=c.texts(raw.get("phrases", []), "vague.phrases"),
        )
    block = None
    if "block_billing" in top:
        raw = c.mapping(top["block_billing"], "block_billing", ("max_tasks",), required=True)
        block = c.integer(raw["max_tasks"], "block_billing.max_tasks", minimum=1)
    admin = None
    if "admin" in top:
        raw = c.mapping(top["admin"], "admin", ("keywords",), required=True)
        admin = c.texts(raw["keywords"], "admin.keywords")

    def optional(key: str, read: Any, **kw: Any) -> Any:
        return read(top[key], key, **kw) if key in top else None

    duplicate = top.get("duplicate_lines", False)
    if not isinstance(duplicate, bool):
        raise RulesError(source, "duplicate_lines",
                         f"expected true or false, got {duplicate!r}")
    return Rules(
        client_id=c.text(top["client_id"], "client_id"),
        source=source,
        client_name=optional("client_name", c.text),
        billing_increment_hours=optional("billing_increment_hours", c.decimal, minimum=0,
                                         strict=True),
        max_daily_hours=optional("max_daily_hours", c.decimal, minimum=0, strict=True),
        submission_deadline_days=optional("submission_deadline_days", c.integer, minimum=0),
        rate_caps=caps,
        approved_timekeepers=optional("approved_timekeepers", c.texts),
        allowed_task_codes=optional("allowed_task_codes", c.patterns),
        allowed_activity_codes=optional("allowed_activity_codes", c.patterns),
        disallowed_expense_codes=optional("disallowed_expense_codes", c.texts),
        travel=travel,
        vague=vague,
        block_billing_max_tasks=block,
        admin_keywords=admin,
        duplicate_lines=duplicate,
    )


class _Checker:
    """Typed readers that raise RulesError naming the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str | None, problem: str) -> RulesError:
        return RulesError(self.source, key, problem)

    def mapping(self, value: Any, key: str | None, allowed: tuple[str, ...],
                required: bool = False) -> dict[str, Any]:
        if not isinstance(value, dict):
            what = "the file" if key is None else "the value"
            raise self.fail(key, f"{what} must be a mapping of keys to values, "
                                 f"got {_kind(value)}")
        for k in value:
            dotted = k if key is None else f"{key}.{k}"
            if k not in allowed:
                raise self.fail(str(dotted), f"unknown key (known keys: {', '.join(allowed)})")
        if required:
            for k in allowed:
                if k not in value:
                    raise self.fail(f"{key}.{k}", "is required")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            hint = " (quote IDs and codes, e.g. '00711', so YAML keeps them as written)"
            raise self.fail(key, f"expected non-blank text, got {_kind(value)}"
                                 + (hint if isinstance(value, int | Decimal) else ""))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.fail(key, "holds a character that is not valid Unicode text") from None
        return value.strip()

    def texts(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of text, got {_kind(value)}")
        if all(type(v) is str for v in value):  # e.g. a firm's 1000 timekeeper IDs
            stripped = tuple(v.strip() for v in value)
            if all(stripped) and "".join(value).isascii():  # what text() gives each, at once
                return stripped
        return tuple(self.text(v, f"{key}[{i}]") for i, v in enumerate(value))

    def patterns(self, value: Any, key: str) -> tuple[str, ...]:
        codes = self.texts(value, key)
        for i, code in enumerate(codes):
            if "*" in code[:-1]:
                raise self.fail(f"{key}[{i}]", f"{code!r}: '*' may only end a code "
                                               "(\"L1*\" means every code starting L1)")
        return codes

    def decimal(self, value: Any, key: str, minimum: int = 0, strict: bool = False) -> Decimal:
        if isinstance(value, float) and math.isfinite(value):
            value = Decimal(repr(value))  # a Python caller's float, read as its shortest text
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.fail(key, f"expected a number, got {_kind(value)}")
        number = Decimal(value)
        if number < minimum or (strict and number == minimum):
            sign = "above" if strict else "at least"
            raise self.fail(key, f"must be {sign} {minimum}, got {number}")
        return number

    def integer(self, value: Any, key: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {_kind(value)}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def amounts(self, value: Any, key: str) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping of IDs to amounts, got {_kind(value)}")
        out: dict[str, Decimal] = {}
        for k, v in value.items():
            name = self.text(k, f"{key} (a key)") if not isinstance(k, str) else k.strip()
            out[name] = self.decimal(v, f"{key}.{name}")
        return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
