"""A small OData v4 ``$filter`` / ``$orderby`` parser producing polars expressions.

Supported: comparisons ``eq ne gt ge lt le`` between a field and a literal, combined with
``and``, ``or``, ``not`` and parentheses. Literals: ``'text'`` (``''`` escapes a quote),
integers and decimals, ``true``/``false``/``null``, dates ``2026-01-31`` and timestamps
``2026-01-31T12:00:00Z`` (any ISO-8601 offset; naive = UTC). Functions are not supported.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import polars as pl

from .server import BadRequest

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<ts>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<lp>\() | (?P<rp>\))
    | (?P<word>[A-Za-z_][A-Za-z0-9_/]*)
    )""", re.VERBOSE)

_OPS = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "ge": "__ge__", "lt": "__lt__",
        "le": "__le__"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise BadRequest(f"$filter: cannot parse near {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str, schema: pl.Schema):
        self.toks = _tokens(text)
        self.i = 0
        self.schema = schema
        self.text = text

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        t = self.peek()
        if t is None:
            raise BadRequest(f"$filter: unexpected end of {self.text!r}")
        self.i += 1
        return t

    def parse(self) -> pl.Expr:
        e = self.or_()
        if self.peek() is not None:
            raise BadRequest(f"$filter: unexpected {self.peek()[1]!r} in {self.text!r}")
        return e

    def or_(self) -> pl.Expr:
        e = self.and_()
        while self.peek() == ("word", "or"):
            self.take()
            e = e | self.and_()
        return e

    def and_(self) -> pl.Expr:
        e = self.unary()
        while self.peek() == ("word", "and"):
            self.take()
            e = e & self.unary()
        return e

    def unary(self) -> pl.Expr:
        if self.peek() == ("word", "not"):
            self.take()
            return ~self.unary()
        if self.peek() and self.peek()[0] == "lp":
            self.take()
            e = self.or_()
            if self.take()[0] != "rp":
                raise BadRequest(f"$filter: missing ')' in {self.text!r}")
            return e
        return self.comparison()

    def comparison(self) -> pl.Expr:
        kind, name = self.take()
        if kind != "word" or name not in self.schema:
            raise BadRequest(f"$filter: {name!r} is not a field; fields: "
                             f"{', '.join(self.schema.names())}")
        kind, op = self.take()
        if op not in _OPS:
            raise BadRequest(f"$filter: operator {op!r} is not supported "
                             f"(use {' '.join(_OPS)}; functions are not supported)")
        value = self.literal(name)
        col = pl.col(name)
        if value is None:
            if op == "eq":
                return col.is_null()
            if op == "ne":
                return col.is_not_null()
            raise BadRequest(f"$filter: null only works with eq/ne ({name} {op} null)")
        return getattr(col, _OPS[op])(pl.lit(value, dtype=self.schema[name])
                                      if not isinstance(value, Decimal) else pl.lit(value))

    def literal(self, name: str) -> object:
        kind, text = self.take()
        dtype = self.schema[name]
        try:
            if kind == "str":
                s = text[1:-1].replace("''", "'")
                if isinstance(dtype, pl.Datetime):
                    return self._ts(s, dtype)
                if isinstance(dtype, pl.Date):
                    return dt.date.fromisoformat(s)
                if dtype != pl.String:
                    raise BadRequest(f"$filter: {name} is {dtype}, not text")
                return s
            if kind == "ts":
                if not isinstance(dtype, (pl.Datetime, pl.String)):
                    raise BadRequest(f"$filter: {name} is {dtype}, not a timestamp")
                return self._ts(text, dtype) if isinstance(dtype, pl.Datetime) else text
            if kind == "date":
                if isinstance(dtype, pl.Datetime):
                    return self._ts(text + "T00:00:00Z", dtype)
                return dt.date.fromisoformat(text)
            if kind == "num":
                if isinstance(dtype, pl.Decimal):
                    return Decimal(text)
                if dtype.is_integer():
                    return int(text)
                if dtype.is_float():
                    return float(text)
                if dtype == pl.String:
                    return text
                raise BadRequest(f"$filter: {name} is {dtype}, not a number")
            if kind == "word" and text in ("true", "false"):
                return text == "true"
            if kind == "word" and text == "null":
                return None
        except ValueError as exc:
            raise BadRequest(f"$filter: bad literal {text!r} for {name}: {exc}") from None
        raise BadRequest(f"$filter: expected a literal after {name}, got {text!r}")

    @staticmethod
    def _ts(text: str, dtype: pl.Datetime) -> dt.datetime:
        v = dt.datetime.fromisoformat(text)
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.UTC)
        v = v.astimezone(dt.UTC)
        return v if dtype.time_zone else v.replace(tzinfo=None)


def parse_filter(text: str, schema: pl.Schema) -> pl.Expr:
    return _Parser(text, schema).parse()


def parse_orderby(text: str, schema: pl.Schema) -> tuple[list[str], list[bool]]:
    cols, desc = [], []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        if bits[0] not in schema or len(bits) > 2 or (len(bits) == 2 and
                                                        bits[1] not in ("asc", "desc")):
            raise BadRequest(f"$orderby: cannot use {part.strip()!r}; give field [asc|desc]")
        cols.append(bits[0])
        desc.append(len(bits) == 2 and bits[1] == "desc")
    return cols, desc
