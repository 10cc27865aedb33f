"""The daily incremental run's fast paths give exactly what the plain ones give.

- ``rest.KnownBoundary`` drops, before dlt's incremental step, the records at the stored
  cursor value that dlt would drop itself (same hashes, same state, same rows loaded),
  keeps records changed in that same second after the last run, and its hash is dlt's.
- ``pipeline.run_sources`` (sources in threads, loads one at a time) loads what
  ``run_source`` one after the other loads, and each load ties out.
- End to end against the emulators: many records sharing the last cursor value are not
  loaded again, and a record changed later in that same second is.
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import dlt
import pyarrow as pa
import pytest
from ingest_helpers import ROWS, emulator, endpoint, query, tie_out

from ingestion.pipeline import _RunDuckDb, run_source, run_sources
from ingestion.sources.common.rest import KnownBoundary, _digest_int

T = dt.datetime(2026, 9, 30, 18, 0, tzinfo=dt.UTC)


def test_boundary_hash_is_dlts():
    from dlt.extract.utils import digest_dedup_value

    rng = random.Random(7)
    keys = [0, 1, -1, 2**63 - 1, -(2**63)] + [rng.randint(-(2**63), 2**63 - 1)
                                              for _ in range(2000)]
    assert [_digest_int(k) for k in keys] == [digest_dedup_value(k) for k in keys]


def _rows(ids: list[int], at: dt.datetime) -> dict[str, list]:
    return {"id": ids, "updated_at": [at] * len(ids), "v": [i * 10 for i in ids]}


def _table(*parts: dict[str, list]) -> pa.Table:
    merged = {k: [v for p in parts for v in p[k]] for k in ("id", "updated_at", "v")}
    return pa.table({"id": pa.array(merged["id"], pa.int64()),
                     "updated_at": pa.array(merged["updated_at"], pa.timestamp("us", "UTC")),
                     "v": pa.array(merged["v"], pa.int64())})


def _run(tmp_path, name: str, table: pa.Table, *, pre_drop: bool, kept: list[int]):
    name = f"{name}_{tmp_path.name}".lower()  # one pipeline per test: no state shared
    pipeline = dlt.pipeline(pipeline_name=name, pipelines_dir=str(tmp_path / "dlt"),
                            destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
                            dataset_name="d")

    @dlt.resource(name="items", primary_key="id", write_disposition="merge")
    def items(updated=dlt.sources.incremental("updated_at")):  # noqa: B008
        out = KnownBoundary(updated, "updated_at", "id").drop(table) if pre_drop else table
        kept.append(out.num_rows)
        yield out

    info = pipeline.run(items())
    state = pipeline.state["sources"][name]["resources"]["items"]["incremental"]["updated_at"]
    loaded: list[int] = []
    if info.loads_ids:  # (a run with nothing new and an unchanged state loads no package)
        with pipeline.sql_client() as c:
            loaded = sorted(r[0] for r in c.execute_sql(
                "select id from items where _dlt_load_id = %s", info.loads_ids[-1]))
    return loaded, state["last_value"], sorted(state["unique_hashes"])


def test_known_boundary_drops_exactly_what_dlt_drops(tmp_path):
    old = _rows(list(range(1, 6)), T - dt.timedelta(days=3))
    boundary = _rows(list(range(100, 130)), T)               # 30 records share the last value
    first = _table(old, boundary)
    again = _table(old, boundary,
                   _rows([7, 8, 9], T),                       # changed in that same second
                   _rows([11, 12], T + dt.timedelta(hours=1)))
    results = {}
    for pre_drop in (False, True):
        name = "fast" if pre_drop else "plain"
        kept: list[int] = []
        _run(tmp_path, name, first, pre_drop=pre_drop, kept=kept)
        results[pre_drop] = (_run(tmp_path, name, again, pre_drop=pre_drop, kept=kept), kept)
    (plain, _), (fast, kept) = results[False], results[True]
    assert fast == plain                      # same rows loaded, same cursor, same hashes
    assert fast[0] == [7, 8, 9, 11, 12]
    # the first run had no state to go by; the second handed dlt all but the 30 known ones
    assert kept == [35, 10]


def test_known_boundary_on_the_same_value_keeps_the_state(tmp_path):
    """Nothing new at all: the pre-drop leaves dlt nothing, and the state stays as dlt's."""
    first = _table(_rows(list(range(1, 40)), T))
    plain = _run(tmp_path, "plain", first, pre_drop=False, kept=[])
    plain2 = _run(tmp_path, "plain", first, pre_drop=False, kept=[])
    kept: list[int] = []
    _run(tmp_path, "fast", first, pre_drop=True, kept=kept)
    fast2 = _run(tmp_path, "fast", first, pre_drop=True, kept=kept)
    assert kept == [39, 0]
    assert fast2 == plain2 and fast2[0] == [] and fast2[1:] == plain[1:]


def test_capabilities_once_per_run_are_dlts(tmp_path):
    path = str(tmp_path / "x.duckdb")
    ours, theirs = _RunDuckDb(path).capabilities(), dlt.destinations.duckdb(path).capabilities()
    assert {k: v for k, v in ours.items() if not callable(v)} == \
        {k: v for k, v in theirs.items() if not callable(v)}


def test_run_sources_loads_what_run_source_loads(firm, tmp_path, monkeypatch):
    monkeypatch.setenv("LEXRECON_HOME", str(tmp_path / "home"))
    names = ("clio", "actionstep", "sales")
    one = {"raw_db": tmp_path / "one.duckdb", "pipelines_dir": tmp_path / "one"}
    both = {"raw_db": tmp_path / "both.duckdb", "pipelines_dir": tmp_path / "both"}
    for name in names:
        run_source(name, firm, one["raw_db"], pipelines_dir=one["pipelines_dir"])
    summaries = run_sources(names, firm, both["raw_db"], pipelines_dir=both["pipelines_dir"])
    assert set(summaries) == set(names)
    for name, s in summaries.items():
        assert s.received == s.loaded > 0 and s.quarantined == 0
        tie_out(both["raw_db"], name, s.load_id)
        for table in ("activities", "timeentries", "revenue_bookings"):
            ds = f"raw_{name}"
            got = query(both["raw_db"], "select count(*) from information_schema.tables "
                        "where table_schema = ? and table_name = ?", [ds, table])[0][0]
            if not got:
                continue
            sql = (f"select * exclude (_dlt_load_id, _dlt_id) from {ds}.{table} "
                   "order by all")
            assert query(both["raw_db"], sql) == query(one["raw_db"], sql)
    # a re-run at once receives what a re-run one after the other receives (REST: nothing;
    # sales re-reads its fx_rates table whole)
    again = run_sources(names, firm, both["raw_db"], pipelines_dir=both["pipelines_dir"])
    for name in names:
        alone = run_source(name, firm, one["raw_db"], pipelines_dir=one["pipelines_dir"])
        assert again[name].received == alone.received
        assert [r.loaded for r in again[name].resources] == [r.loaded for r in alone.resources]
    assert again["clio"].received == again["actionstep"].received == 0


def test_run_sources_raises_after_the_others_finish(firm, tmp_path, monkeypatch):
    monkeypatch.setenv("LEXRECON_HOME", str(tmp_path / "home"))
    (firm / "actionstep").rename(firm / "gone")
    with pytest.raises(FileNotFoundError):
        run_sources(("clio", "actionstep"), firm, tmp_path / "raw.duckdb",
                    pipelines_dir=tmp_path / "dlt")
    loaded = query(tmp_path / "raw.duckdb", "select count(*) from raw_clio.activities")[0][0]
    assert loaded == ROWS  # clio ran to its end and committed


@pytest.mark.parametrize("name", ["clio", "actionstep"])
def test_records_sharing_the_last_cursor_value(name, firm, raw):
    """40 records changed in one second, loaded; then 3 more changed in that same second:
    exactly those 3 are loaded, the 40 are not loaded again, and a re-run loads nothing."""
    import ingest_minifirm as minifirm

    resource = {"clio": "activities", "actionstep": "timeentries"}[name]
    pk = "id"

    def run() -> object:
        with emulator(name, firm) as server:
            return run_source(name, None, raw["raw_db"], pipelines_dir=raw["pipelines_dir"],
                              endpoint=endpoint(server), resources=[resource])

    run()
    minifirm.touch_rows(firm, name, resource, list(range(1, 41)), minutes=20_000)
    assert run().resource(resource).loaded == 40
    minifirm.touch_rows(firm, name, resource, [50, 51, 52], minutes=20_000)
    third = run()
    assert (third.resource(resource).received, third.resource(resource).loaded) == (3, 3)
    tie_out(raw["raw_db"], name, third.load_id)
    assert query(raw["raw_db"], f"select list(distinct {pk} order by {pk}) from "
                 f"raw_{name}.{resource} where _dlt_load_id = ?", [third.load_id])[0][0] == \
        [50, 51, 52]
    assert run().received == 0


@pytest.mark.parametrize("system", ["clio", "actionstep", "ebilling"])
def test_emulator_renders_the_same_late_or_at_start(system, mini_firm, monkeypatch):
    """A big table's timestamps are rendered when first served, a small one's at start-up:
    every page, filter and field selection reads the same either way."""
    import numpy as np

    from ingestion.emulators import server

    def pages(eager_rows: int) -> list[list[str]]:
        monkeypatch.setattr(server, "EAGER_RENDER_ROWS", eager_rows)
        tables = server.load_tables(mini_firm / system, ts_format="%Y-%m-%dT%H:%M:%S+00:00",
                                    null_relations=system != "actionstep")
        out = []
        for t in tables.values():
            cols = tuple(t.columns)
            out.append(t.encode(slice(0, len(t)), cols, False))
            out.append(t.encode(np.arange(0, len(t), 7), cols[:3], True))
            if t.cursor_us is not None:
                median = int(np.median(t.cursor_us))
                out.append(t.encode(t.since(ge_us=median), cols, False))
        return out

    assert pages(0) == pages(10**9)


@pytest.mark.parametrize("system", ["clio", "actionstep", "ebilling"])
@pytest.mark.parametrize("read_rows", [10**9, 25])
def test_emulator_lazy_tables_answer_the_same(system, read_rows, mini_firm, monkeypatch):
    """A big table in key order is read lazily (key column at start-up, then columns and
    slices of rows from the file, the whole file once ``LAZY_READ_ROWS`` rows were read):
    every page, filter, single record and field selection reads the same as from a table
    read whole, and an incremental filter's rows come without reading the file whole."""
    import numpy as np

    from ingestion.emulators import server

    def pages(lazy_rows: int) -> tuple[list, int]:
        monkeypatch.setattr(server, "LAZY_ROWS", lazy_rows)
        monkeypatch.setattr(server, "LAZY_READ_ROWS", read_rows)
        tables = server.load_tables(mini_firm / system, ts_format="%Y-%m-%dT%H:%M:%S+00:00",
                                    null_relations=system != "actionstep")
        out: list = []
        lazy = 0
        for t in tables.values():
            lazy += t._path is not None
            cols = tuple(t.columns)
            if t.cursor_us is not None:  # first: an incremental filter, as a daily run asks
                last = int(np.max(t.cursor_us))
                out.append(t.encode(t.since(ge_us=last), cols, False))
                if read_rows > len(t):
                    assert t._whole_read() == (t._path is None)  # the file was not read whole
                out.append(t.encode(t.since(ge_us=int(np.median(t.cursor_us))), cols, False))
            if t.created_us is not None:
                out.append(t.encode(t.since(created_ge_us=int(np.median(t.created_us))),
                                    cols[:2], True))
            out.append(t.encode(slice(len(t) - 1, len(t)), cols, False))
            out.append(t.encode(np.arange(0, len(t), 7), cols[:3], True))
            out.append(t.encode(slice(0, len(t)), cols, False))
            out.append((len(t), t.columns, t.ids.tolist(), t.field_names(), t.df.shape))
        return out, lazy

    lazy_pages, lazy = pages(0)
    eager_pages, eager = pages(10**9)
    assert (lazy, eager) == (len(list((mini_firm / system).glob("*.parquet"))), 0)
    assert lazy_pages == eager_pages


def test_demo_firm_last_cursor_values_are_not_shared_by_a_billing_run(tmp_path):
    """The demo firm's bills are created one per second in each office's billing run and their
    lines carry that instant; an appended day's entries are one second apart. So the last
    `updated_at` of a table is shared by one bill's lines (or one entry), not by every line of
    a billing run, which the inclusive `updated_since` of each daily run would send again."""
    import polars as pl

    from ingestion.demo_firm.extra_day import append_day
    from ingestion.demo_firm.generator import generate

    firm = tmp_path / "firm"
    generate("tiny", 42, firm)
    bills = pl.read_parquet(firm / "clio" / "bills.parquet")
    lines = pl.read_parquet(firm / "clio" / "line_items.parquet")
    joined = lines.join(bills.select(bill__id="id", created_at="created_at"), on="bill__id")
    assert joined.height == lines.height
    assert (joined["updated_at"] == joined["created_at"]).all()
    assert bills["created_at"].n_unique() == bills.height  # one bill per second
    assert (bills["created_at"].dt.date() == bills["issued_at"]).all()
    assert (bills["created_at"] <= bills["updated_at"]).all()
    a_bills = pl.read_parquet(firm / "actionstep" / "bills.parquet")
    a_lines = pl.read_parquet(firm / "actionstep" / "billlines.parquet")
    per_stamp = a_lines.group_by("modifiedTimestamp").agg(pl.col("links__bill").n_unique())
    assert per_stamp["links__bill"].max() == 1
    assert a_lines["modifiedTimestamp"].n_unique() == a_bills.filter(
        pl.col("id").is_in(a_lines["links__bill"].implode())).height
    for path, cursor in (("clio/line_items", "updated_at"),
                         ("actionstep/billlines", "modifiedTimestamp")):
        stamps = pl.read_parquet(firm / f"{path}.parquet")[cursor]
        at_last = int((stamps == stamps.max()).sum())
        assert at_last <= 60, (path, at_last)  # one bill's lines
    before = pl.read_parquet(firm / "clio" / "activities.parquet")["updated_at"].max()
    day = append_day(firm)
    for path, cursor, n in (("clio/activities", "updated_at", day["clio"]),
                            ("actionstep/timeentries", "modifiedTimestamp", day["actionstep"])):
        new = pl.read_parquet(firm / f"{path}.parquet").sort("id").tail(n)[cursor]
        assert new.n_unique() == n > 1  # one second apart
        if cursor == "updated_at":
            assert new.min() > before


def test_emulator_lazy_table_serves_the_file_it_started_with(mini_firm, tmp_path, monkeypatch):
    """A lazy table keeps serving the rows of the file it started with when the file is
    replaced on disk (as `lexrecon demo generate --extra-day` does), like a table read whole
    at start-up."""
    import shutil

    import numpy as np
    import polars as pl

    from ingestion.emulators import server

    folder = Path(shutil.copytree(mini_firm / "clio", tmp_path / "clio"))
    monkeypatch.setattr(server, "LAZY_ROWS", 0)
    t = server.load_tables(folder, ts_format="%Y-%m-%dT%H:%M:%S+00:00",
                           null_relations=True)["activities"]
    assert t._path is not None
    cols = tuple(t.columns)
    expected = pl.read_parquet(folder / "activities.parquet")
    changed = expected.with_columns(pl.col("note").str.to_uppercase())
    changed.write_parquet(folder / "new.tmp")
    (folder / "new.tmp").replace(folder / "activities.parquet")
    eager = server.Table("activities", expected, ts_format="%Y-%m-%dT%H:%M:%S+00:00",
                         null_relations=True)
    rows = np.arange(0, len(t), 3)
    assert t.encode(rows, cols, False) == eager.encode(rows, cols, False)
    assert t.df.equals(expected)
