"""API pages to Arrow tables (dlt's fast path), with bad records set aside.

A :class:`Resource` says what a vendor sends for one endpoint: each field with its kind, the
primary key, the update cursor and the money column the tally sums. :func:`page_to_arrow`
turns one page of JSON records into an Arrow table with exact types (money as
``decimal128(18, 2)``, never float) column by column; a record whose value has the wrong
JSON type (a changed type, e.g. an amount sent as a string), an impossible date or a missing
primary key or cursor is left out of the table and returned as a :class:`BadRecord` with the
field and the reason, for the quarantine. Fields the spec does not know (the vendor added
one) are kept as new columns, typed by Arrow's inference.
"""
from __future__ import annotations

import datetime as dt
import json
import operator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming.snake_case import NamingConvention

_NAMING = NamingConvention()
_MISSING = object()
_BAD_NESTING = object()

# kind -> (arrow type, python types accepted)
KINDS: dict[str, tuple[pa.DataType, tuple[type, ...]]] = {
    "int": (pa.int64(), (int,)),
    "str": (pa.string(), (str,)),
    "money": (pa.decimal128(18, 2), (int, float)),
    "qty": (pa.decimal128(18, 4), (int, float)),
    "rate": (pa.decimal128(18, 6), (int, float)),
    "date": (pa.date32(), (str,)),
    "ts": (pa.timestamp("us", tz="UTC"), (str,)),
    "tstext": (pa.string(), (str,)),   # ISO-8601 text with an offset, kept as sent
    "bool": (pa.bool_(), (bool,)),
    "tf": (pa.string(), (str,)),       # "T" / "F" booleans, kept as sent
}
JSON_TYPE = {int: "integer", float: "number", str: "string", bool: "boolean",
             dict: "object", list: "array", type(None): "null"}


def dest_name(vendor_name: str) -> str:
    """The raw.duckdb column of a vendor field path (``links__action``, ``invoice_id``)."""
    return _NAMING.normalize_path(vendor_name)


@dataclass(frozen=True)
class Field:
    name: str          # vendor name, nested with "__" (matter__id, links__action)
    kind: str = "str"

    @property
    def dest(self) -> str:
        return dest_name(self.name)

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("__", 1))


@dataclass(frozen=True)
class Resource:
    """One endpoint: fields (``"id:int name rate:money matter__id:int"``), keys and cursor."""

    name: str
    fields: tuple[Field, ...]
    primary_key: str
    cursor: str | None
    money: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, spec: str, *, primary_key: str | None = None,
              cursor: str | None = None, money: str | None = None, **extra: Any) -> Resource:
        fields = []
        for token in spec.split():
            vendor, _, kind = token.partition(":")
            if kind and kind not in KINDS:
                raise ValueError(f"{name}.{vendor}: unknown kind {kind!r}")
            fields.append(Field(vendor, kind or "str"))
        pk = primary_key or fields[0].name
        return cls(name, tuple(fields), pk, cursor, money, extra)

    def field(self, vendor_name: str) -> Field:
        return next(f for f in self.fields if f.name == vendor_name)

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        """dlt column hints: exact types, precision/scale on every decimal."""
        hints: dict[str, dict[str, Any]] = {}
        for f in self.fields:
            arrow_type = KINDS[f.kind][0]
            h: dict[str, Any] = {"nullable": f.name not in (self.primary_key,)}
            if pa.types.is_decimal(arrow_type):
                h.update(data_type="decimal", precision=arrow_type.precision,
                         scale=arrow_type.scale)
            elif f.kind == "int":
                h["data_type"] = "bigint"
            elif f.kind == "bool":
                h["data_type"] = "bool"
            elif f.kind == "date":
                h["data_type"] = "date"
            elif f.kind == "ts":
                h.update(data_type="timestamp", timezone=True)
            else:
                h["data_type"] = "text"
            hints[f.dest] = h
        return hints

    @property
    def vendor_field_names(self) -> list[str]:
        seen: list[str] = []
        for f in self.fields:
            top = f.path[0]
            if top not in seen:
                seen.append(top)
        return seen


@dataclass
class BadRecord:
    index: int
    record: Any
    field: str | None
    reason: str
    money: Decimal | None = None


def _values(records: list[dict], path: tuple[str, ...]) -> list[Any]:
    if len(path) == 1:
        key = path[0]
        return [r.get(key) for r in records]
    outer, inner = path
    out = []
    for r in records:
        v = r.get(outer)
        if v is None:
            out.append(None)
        elif isinstance(v, dict):
            out.append(v.get(inner))
        else:
            out.append(_BAD_NESTING)
    return out


def _check_text(kind: str, value: str) -> str | None:
    """Why a text value of a typed kind is not valid (None if it is)."""
    try:
        if kind == "date":
            dt.date.fromisoformat(value)
        elif kind in ("ts", "tstext"):
            if len(value) < 19:
                return f"{value!r} is not an ISO-8601 timestamp"
            parsed = dt.datetime.fromisoformat(value)
            if kind == "tstext" and parsed.tzinfo is None:
                return f"{value!r} has no UTC offset"
        elif kind == "tf" and value not in ("T", "F"):
            return f"{value!r} is not T or F"
    except ValueError:
        return f"{value!r} is not a valid {'date' if kind == 'date' else 'timestamp'}"
    return None


# kind -> the Arrow type of the JSON values accepted for it (before the exact conversion)
JSON_ARROW: dict[str, pa.DataType] = {
    "int": pa.int64(), "str": pa.string(), "money": pa.float64(), "qty": pa.float64(),
    "rate": pa.float64(), "date": pa.string(), "ts": pa.string(), "tstext": pa.string(),
    "bool": pa.bool_(), "tf": pa.string(),
}
# kind -> the Arrow types pyarrow may infer for a page whose values all have accepted JSON
# types (null: every value was null; int64 for money: every amount was an integer)
INFERRED_OK: dict[str, tuple[pa.DataType, ...]] = {
    kind: (pa.null(), arrow) + ((pa.int64(),) if arrow == pa.float64() else ())
    for kind, arrow in JSON_ARROW.items()
}


def _convert(values: list[Any], f: Field) -> tuple[pa.Array, dict[int, str]]:
    """One column of Python values to Arrow; {row: reason} for values of the wrong type."""
    _, accepted = KINDS[f.kind]
    bad: dict[int, str] = {}
    types = set(map(type, values))
    types.discard(type(None))
    wrong = {t for t in types if t not in accepted or (t is bool and bool not in accepted)}
    if wrong:
        for i, v in enumerate(values):
            if v is None:
                continue
            t = type(v)
            if v is _BAD_NESTING:
                bad[i] = f"field {f.name}: expected an object with {f.path[1]!r}"
            elif t not in accepted:
                expected = " or ".join(sorted({JSON_TYPE.get(a, a.__name__) for a in accepted}))
                bad[i] = (f"field {f.name}: type changed: expected {expected}, got "
                          f"{JSON_TYPE.get(t, t.__name__)} {json.dumps(v, default=str)[:60]}")
        values = [None if i in bad else v for i, v in enumerate(values)]
    return _finish(pa.array(values, JSON_ARROW[f.kind]), f, bad)


def _finish(arr: pa.Array, f: Field, bad: dict[int, str]) -> tuple[pa.Array, dict[int, str]]:
    """A column of accepted JSON values (``JSON_ARROW[kind]``) to its exact Arrow type;
    values that do not read as their kind (impossible dates, ...) are added to ``bad``."""
    arrow_type = KINDS[f.kind][0]
    if f.kind in ("money", "qty", "rate"):
        arr = pc.cast(arr, arrow_type)
    elif f.kind in ("date", "ts"):
        try:
            arr = pc.cast(arr, arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = arr.to_pylist()
            for i, v in enumerate(values):
                if v is not None and (why := _check_text(f.kind, v)):
                    bad[i] = f"field {f.name}: {why}"
            values = [None if i in bad else v for i, v in enumerate(values)]
            arr = pc.cast(pa.array(values, pa.string()), arrow_type)
    elif f.kind in ("tstext", "tf"):
        if f.kind == "tf":
            ok = pc.fill_null(pc.is_in(arr, pa.array(["T", "F"])), True)
        else:
            ok = pc.fill_null(pc.is_valid(_utc(arr)), True) if len(arr) else arr
        if len(arr) and not pc.all(ok).as_py():
            values = arr.to_pylist()
            for i in pc.indices_nonzero(pc.invert(ok)).to_pylist():
                bad[i] = f"field {f.name}: {_check_text(f.kind, values[i]) or 'invalid'}"
            values = [None if i in bad else v for i, v in enumerate(values)]
            arr = pa.array(values, pa.string())
    elif arr.type != arrow_type:
        arr = pc.cast(arr, arrow_type)
    return arr, bad


def _arrow_columns(records: list[dict], spec: Resource, known: set[str]
                   ) -> dict[str, pa.Array] | None:
    """The spec's fields of a page as Arrow arrays of their JSON types, built by pyarrow in
    one pass (no Python loop per value), or None when the page needs the per-value path:
    a record that is not an object, a field the spec does not know (drift), a value whose
    JSON type is not accepted for its kind (a changed type, a relation that is not an
    object), an integer beyond int64. The per-value path then finds and quarantines exactly
    those records; for every other page both paths give the same arrays."""
    if set(map(type, records)) != {dict} or set(map(len, records)) != {len(known)}:
        return None  # (an empty page too: the per-value path handles it)
    try:
        struct = pa.array(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return None
    if not pa.types.is_struct(struct.type) or struct.null_count:
        return None
    names = {struct.type.field(i).name for i in range(struct.type.num_fields)}
    if names - known:
        return None
    out: dict[str, pa.Array] = {}
    n = len(records)
    for f in spec.fields:
        top = f.path[0]
        if top not in names:
            out[f.dest] = pa.nulls(n, JSON_ARROW[f.kind])
            continue
        col = pc.struct_field(struct, [top])
        if len(f.path) == 2:
            if pa.types.is_null(col.type):
                out[f.dest] = pa.nulls(n, JSON_ARROW[f.kind])
                continue
            if not pa.types.is_struct(col.type):
                return None
            inner = {col.type.field(i).name for i in range(col.type.num_fields)}
            if f.path[1] not in inner:
                out[f.dest] = pa.nulls(n, JSON_ARROW[f.kind])
                continue
            col = pc.struct_field(struct, [top, f.path[1]])
        if col.type not in INFERRED_OK[f.kind]:
            return None
        # pyarrow reads true/false as 1.0/0.0 among floats: a boolean amount must take the
        # per-value path (it is a changed type, quarantined)
        if col.type == pa.float64() and (
                len(f.path) == 2
                or bool in set(map(type, map(operator.itemgetter(top), records)))):
            return None
        out[f.dest] = col if col.type == JSON_ARROW[f.kind] else \
            pc.cast(col, JSON_ARROW[f.kind])
    return out


def _utc(text: pa.Array) -> pa.Array:
    """ISO-8601 text with offsets to UTC timestamps (null where it does not parse)."""
    try:
        return pc.cast(text, pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = []
        for v in text.to_pylist():
            try:
                out.append(dt.datetime.fromisoformat(v) if v is not None else None)
            except ValueError:
                out.append(None)
        return pa.array([o if o is None or o.tzinfo else None for o in out],
                        pa.timestamp("us", tz="UTC"))


def utc_cursor(table: pa.Table, column: str) -> pa.Array:
    """A text timestamp column (with offsets) as UTC timestamps, for a correct cursor."""
    return _utc(table.column(column).combine_chunks())


def _money_of(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def page_to_arrow(records: list[dict], spec: Resource) -> tuple[pa.Table, list[BadRecord]]:
    """One page of vendor records -> (Arrow table of the good ones, the bad ones)."""
    n = len(records)
    original = records
    not_objects = [] if set(map(type, records)) <= {dict} else \
        [i for i, r in enumerate(records) if not isinstance(r, dict)]
    if not_objects:
        bad_nd = {i: "record is not a JSON object" for i in not_objects}
        records = [r if isinstance(r, dict) else {} for r in records]
    else:
        bad_nd = {}
    columns: dict[str, pa.Array] = {}
    bad: dict[int, tuple[str | None, str]] = {i: (None, why) for i, why in bad_nd.items()}
    known = set(spec.vendor_field_names)
    fast = None if bad_nd else _arrow_columns(records, spec, known)
    for f in spec.fields:
        if fast is not None:
            arr, col_bad = _finish(fast[f.dest], f, {})
        else:
            arr, col_bad = _convert(_values(records, f.path), f)
        columns[f.dest] = arr
        for i, why in col_bad.items():
            bad.setdefault(i, (f.name, why))
    # required values: primary key and cursor
    for required in (spec.primary_key, spec.cursor):
        if required is None:
            continue
        col = columns[dest_name(required)]
        if col.null_count:
            for i in pc.indices_nonzero(pc.is_null(col)).to_pylist():
                bad.setdefault(i, (required, f"field {required}: missing (null)"))
    # fields the vendor added
    if fast is None and set(map(len, records)) != {len(known)}:
        extra: list[str] = []
        for r in records:
            for k in r:
                if k not in known and k not in extra:
                    extra.append(k)
        for k in extra:
            values = [r.get(k) for r in records]
            try:
                arr = pa.array(values)
                if pa.types.is_null(arr.type) or pa.types.is_struct(arr.type) \
                        or pa.types.is_list(arr.type):
                    raise pa.ArrowInvalid("nested")
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                arr = pa.array([None if v is None else json.dumps(v, default=str)
                                for v in values], pa.string())
            columns[dest_name(k)] = arr
    table = pa.table(columns)
    bad_records: list[BadRecord] = []
    if bad:
        keep = pa.array([i not in bad for i in range(n)])
        table = table.filter(keep)
        money_field = spec.money
        for i in sorted(bad):
            field_name, why = bad[i]
            rec = original[i]
            money = None
            if money_field and isinstance(rec, dict):
                path = spec.field(money_field).path
                v = rec.get(path[0])
                if len(path) == 2:
                    v = v.get(path[1]) if isinstance(v, dict) else None
                money = _money_of(v)
            bad_records.append(BadRecord(i, rec, field_name, why, money))
    return table, bad_records
