"""API pages to Arrow tables (dlt's fast path), with bad records set aside.

A :class:`Resource` says what a vendor sends for one endpoint: each field with its kind, the
primary key, the update cursor and the money column the tally sums. :func:`page_to_arrow`
turns one page of JSON records into an Arrow table with exact types (money as
``decimal128(18, 2)``, never float) column by column; a record whose value has the wrong
JSON type (a changed type, e.g. an amount sent as a string), an impossible date or a missing
primary key or cursor is left out of the table and returned as a :class:`BadRecord` with the
field and the reason, for the quarantine. Fields the spec does not know (the vendor added
one) are kept as new columns, typed by Arrow's inference.

:class:`JsonPage` does the same from an API answer as sent (bytes): Arrow's JSON reader parses
it straight into columns with the JSON types the spec accepts (no Python object per value);
a page it cannot read that way goes through orjson and :func:`page_to_arrow`, with the same
result.
"""
from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable
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
            # a null is not invalid text (is_valid is never null: test nulls apart)
            ok = pc.or_(pc.is_null(arr), pc.is_valid(_utc(arr))) if len(arr) else arr
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
    return _struct_columns(struct, spec, known, records)


def _struct_columns(struct: pa.Array, spec: Resource, known: set[str],
                    records: list[dict] | None) -> dict[str, pa.Array] | None:
    """The spec's fields of a page held as one Arrow struct array (a record per row), as
    arrays of their JSON types, or None when the page needs the per-value path (see
    :func:`_arrow_columns`). ``records``: the page as Python objects, when the struct was
    inferred from them (a boolean among numbers must then be looked for); None when the
    struct was read by Arrow's JSON reader with the spec's JSON types (:func:`json_page`),
    which refuses a value of any other JSON type itself."""
    if not pa.types.is_struct(struct.type) or struct.null_count:
        return None
    names = {struct.type.field(i).name for i in range(struct.type.num_fields)}
    if names - known:
        return None
    out: dict[str, pa.Array] = {}
    n = len(struct)
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
        if col.type == pa.float64():
            if records is not None and (
                    len(f.path) == 2
                    or bool in set(map(type, map(operator.itemgetter(top), records)))):
                # pyarrow reads true/false as 1.0/0.0 among floats: a boolean amount must
                # take the per-value path (it is a changed type, quarantined)
                return None
            if records is None and col.null_count < len(col) and not pc.all(
                    pc.is_finite(col)).as_py():
                return None  # NaN/Infinity: not JSON (the per-value path says so)
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
    known = set(spec.vendor_field_names)
    fast = None if bad_nd else _arrow_columns(records, spec, known)
    if fast is not None:
        return _assemble(n, fast, spec, lambda: original)
    columns: dict[str, pa.Array] = {}
    bad: dict[int, tuple[str | None, str]] = {i: (None, why) for i, why in bad_nd.items()}
    for f in spec.fields:
        arr, col_bad = _convert(_values(records, f.path), f)
        columns[f.dest] = arr
        for i, why in col_bad.items():
            bad.setdefault(i, (f.name, why))
    _required(columns, spec, bad)
    # fields the vendor added
    if set(map(len, records)) != {len(known)}:
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
    return _filtered(pa.table(columns), n, bad, spec, lambda: original)


def _required(columns: dict[str, pa.Array], spec: Resource,
              bad: dict[int, tuple[str | None, str]]) -> None:
    """Rows without a primary key or cursor value go to ``bad``."""
    for required in (spec.primary_key, spec.cursor):
        if required is None:
            continue
        col = columns[dest_name(required)]
        if col.null_count:
            for i in pc.indices_nonzero(pc.is_null(col)).to_pylist():
                bad.setdefault(i, (required, f"field {required}: missing (null)"))


def _assemble(n: int, fast: dict[str, pa.Array], spec: Resource,
              records: Callable[[], list[Any]]) -> tuple[pa.Table, list[BadRecord]]:
    """A page whose fields are arrays of their JSON types -> (good rows, bad records)."""
    columns: dict[str, pa.Array] = {}
    bad: dict[int, tuple[str | None, str]] = {}
    for f in spec.fields:
        arr, col_bad = _finish(fast[f.dest], f, {})
        columns[f.dest] = arr
        for i, why in col_bad.items():
            bad.setdefault(i, (f.name, why))
    _required(columns, spec, bad)
    return _filtered(pa.table(columns), n, bad, spec, records)


def _filtered(table: pa.Table, n: int, bad: dict[int, tuple[str | None, str]], spec: Resource,
              records: Callable[[], list[Any]]) -> tuple[pa.Table, list[BadRecord]]:
    """``table`` without the ``bad`` rows, and those as :class:`BadRecord` with the raw
    record (``records()``: the page as Python objects, made only when a record is bad)."""
    if not bad:
        return table, []
    keep = pa.array([i not in bad for i in range(n)])
    table = table.filter(keep)
    original = records()
    money_field = spec.money
    bad_records: list[BadRecord] = []
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


# -- JSON answers straight to Arrow ------------------------------------------------------

def json_record_type(spec: Resource) -> pa.StructType:
    """The JSON types of a record of ``spec`` (``JSON_ARROW``), nested as the vendor sends
    them (``matter__id`` -> ``matter: {id}``): the schema Arrow's JSON reader parses with."""
    fields: list[pa.Field] = []
    nested: dict[str, list[pa.Field]] = {}
    for f in spec.fields:
        if len(f.path) == 2:
            if f.path[0] not in nested:
                nested[f.path[0]] = []
                fields.append(pa.field(f.path[0], pa.null()))  # placeholder, set below
            nested[f.path[0]].append(pa.field(f.path[1], JSON_ARROW[f.kind]))
        else:
            fields.append(pa.field(f.name, JSON_ARROW[f.kind]))
    return pa.struct([pa.field(fl.name, pa.struct(nested[fl.name])) if fl.name in nested
                      else fl for fl in fields])


class JsonPage:
    """One API answer: a JSON object whose ``key`` holds the page's records.

    Arrow's JSON reader parses the body (C++, no Python object per value) with the JSON types
    the spec accepts for each field; anything it refuses (a value of another JSON type, a
    record that is not an object, a field the spec does not know, an integer beyond int64,
    text that is not one JSON object) leaves :attr:`struct` None, and the page is then read
    with ``decode`` (orjson) and converted value by value, which quarantines exactly those
    records. For every other page both ways give the same table. :attr:`other` holds the rest
    of the answer (paging links, counts) as Python objects."""

    def __init__(self, body: bytes, key: str, spec: Resource,
                 decode: Callable[[bytes], Any]):
        self.key = key
        self.spec = spec
        self._body: bytes | None = body
        self._decode = decode
        self._obj: Any = _MISSING
        self.struct: pa.StructArray | None = None
        self.other: dict[str, Any] = {}
        parsed = _read_json(body, key, spec)
        if parsed is None:
            obj = self.obj
            if isinstance(obj, dict):
                self.other = {k: v for k, v in obj.items() if k != key}
        else:
            self.struct, self.other = parsed

    @property
    def obj(self) -> Any:
        """The whole answer as Python objects (decoded on first use)."""
        if self._obj is _MISSING:
            assert self._body is not None
            self._obj = self._decode(self._body)
        return self._obj

    @property
    def records(self) -> Any:
        """The page's records as Python objects (a list, unless the answer is malformed)."""
        obj = self.obj
        return obj.get(self.key) if isinstance(obj, dict) else None

    @property
    def is_list(self) -> bool:
        return self.struct is not None or isinstance(self.records, list)

    def __len__(self) -> int:
        return len(self.struct) if self.struct is not None else len(self.records)

    def keys(self, name: str) -> list[Any]:
        """The raw values of the top-level field ``name``, one per record, in order."""
        if self.struct is not None:
            return pc.struct_field(self.struct, [name]).to_pylist()
        return [r.get(name) if isinstance(r, dict) else repr(r) for r in self.records]

    def to_arrow(self) -> tuple[pa.Table, list[BadRecord]]:
        """(good rows as an Arrow table, bad records): :func:`page_to_arrow`'s result."""
        if self.struct is not None:
            fast = _struct_columns(self.struct, self.spec, set(self.spec.vendor_field_names),
                                   None)
            if fast is not None:
                return _assemble(len(self.struct), fast, self.spec, lambda: self.records)
        return page_to_arrow(self.records, self.spec)


_JSON_SCHEMAS: dict[tuple[str, tuple[Field, ...], str], pa.Schema] = {}


def _read_json(body: bytes, key: str, spec: Resource
               ) -> tuple[pa.StructArray, dict[str, Any]] | None:
    """(the records under ``key`` as one struct array, the rest of the answer) read by Arrow's
    JSON reader, or None when it cannot read them with the spec's JSON types."""
    import pyarrow.json as pj

    cache_key = (spec.name, spec.fields, key)
    schema = _JSON_SCHEMAS.get(cache_key)
    if schema is None:
        schema = pa.schema([pa.field(key, pa.list_(json_record_type(spec)))])
        _JSON_SCHEMAS[cache_key] = schema
    if body[:64].lstrip()[:1] != b"{":
        return None
    try:
        table = pj.read_json(
            pa.BufferReader(body),
            read_options=pj.ReadOptions(use_threads=False, block_size=len(body) + 64),
            parse_options=pj.ParseOptions(explicit_schema=schema,
                                          unexpected_field_behavior="infer"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != 1:
        return None  # not exactly one JSON object
    column = table.column(key).combine_chunks()
    if column.null_count or not pa.types.is_list(column.type):
        return None
    struct = column.flatten()
    if struct.null_count:  # a null record
        return None
    try:
        other = table.drop_columns([key]).to_pylist()[0]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return None
    return struct, other
