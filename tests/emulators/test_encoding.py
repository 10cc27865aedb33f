"""JSON encoding of rows: exact money text, nesting, timestamps (no HTTP)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import polars as pl

from ingestion.emulators.server import BLOCK_ROWS, Table


def table(df: pl.DataFrame, **kw) -> Table:
    return Table("t", df, ts_format="%Y-%m-%dT%H:%M:%S+00:00",
                 null_relations=kw.pop("null_relations", True), **kw)


def test_money_is_exact_json_number_text():
    values = ["1234.50", "0.10", "-0.45", "0.00", "9999999999999999.99", "-12345678901234.57"]
    t = table(pl.DataFrame({"id": range(len(values)), "amount": [Decimal(v) for v in values],
                            "note": ["\"quoted\" and \\ backslash", None, "x", "y", "z", "é"]},
                           schema_overrides={"amount": pl.Decimal(18, 2)}))
    rows = t.encode(slice(0, len(values)), ("id", "amount", "note"), False)
    for row, v in zip(rows, values):
        assert f'"amount":{v},' in row                      # number, same text as the Decimal
        assert json.loads(row, parse_float=Decimal)["amount"] == Decimal(v)
    assert json.loads(rows[0])["note"] == "\"quoted\" and \\ backslash"
    as_text = t.encode(slice(0, 2), ("id", "amount"), True)
    assert as_text == ['{"id":0,"amount":"1234.50"}', '{"id":1,"amount":"0.10"}']
    nulls = table(pl.DataFrame({"id": [1], "amount": [None]},
                               schema={"id": pl.Int64, "amount": pl.Decimal(18, 2)}))
    assert nulls.encode(slice(0, 1), ("id", "amount"), False) == ['{"id":1,"amount":null}']


def test_nesting_null_relations_and_timestamps():
    df = pl.DataFrame({
        "id": [2, 1], "matter__id": [7, None], "links__a": [None, 3],
        "updated_at": [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                       dt.datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=dt.UTC)]})
    t = table(df)
    rows = [json.loads(r) for r in t.encode(slice(0, 2), tuple(df.columns), False)]
    assert rows[0] == {"id": 1, "matter": None, "links": {"a": 3},
                       "updated_at": "2026-01-02T03:04:05.250000+00:00"}
    assert rows[1]["matter"] == {"id": 7} and rows[1]["links"] is None
    keep = table(df, null_relations=False)
    assert json.loads(keep.encode(slice(0, 1), ("id", "matter__id"), False)[0]) == {
        "id": 1, "matter": {"id": None}}


def test_blocks_and_sparse_selection_agree():
    n = BLOCK_ROWS * 2 + 17
    t = table(pl.DataFrame({"id": np.arange(n), "v": np.arange(n) * 2}))
    cols = ("id", "v")
    whole = t.encode(slice(0, n), cols, False)
    assert len(whole) == n and whole[-1] == f'{{"id":{n - 1},"v":{2 * (n - 1)}}}'
    assert t.encode(slice(BLOCK_ROWS - 3, BLOCK_ROWS + 3), cols, False) == \
        whole[BLOCK_ROWS - 3:BLOCK_ROWS + 3]
    sparse = np.array([5, BLOCK_ROWS + 9, n - 1])
    assert t.encode(sparse, cols, False) == [whole[i] for i in sparse]
    dense = np.arange(0, n, 2)
    assert t.encode(dense, cols, False) == whole[::2]


def test_text_cursor_with_mixed_offsets_and_formats():
    t = Table("x", pl.DataFrame({"id": [1, 2, 3], "modifiedTimestamp": [
        "2026-01-01T10:00:00+01:00", "2026-01-01T10:00:00.5+00:00", None]}),
        ts_format="%Y-%m-%dT%H:%M:%S+00:00", null_relations=False)
    utc = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    assert t.cursor_us[0] == int(utc.timestamp()) * 1_000_000
    assert t.cursor_us[1] == int(utc.timestamp() + 3600) * 1_000_000 + 500_000
    assert list(t.since(ge_us=int(utc.timestamp()) * 1_000_000)) == [0, 1]
