"""The query layer's connections: one read-only anchor per published file, a short connection
per request from it, and a publish (atomic rename) picked up by the next request while requests
on the previous snapshot finish without errors."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from dashboards import queries


def _file(path: Path, value: int) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute("create table marts.t as select ? as v", [value])
    finally:
        con.close()
    return path


def _value(db: Path) -> int:
    with queries.connect(db) as con:
        return con.execute("select v from marts.t").fetchone()[0]


def test_requests_share_one_anchor_per_published_file(tmp_path):
    db = _file(tmp_path / "serving.duckdb", 1)
    with queries.connect(db) as a, queries.connect(db) as b:
        assert a is not b  # each request has its own connection...
        assert queries._OPEN[id(a)] is queries._OPEN[id(b)]  # ...from the same anchor
        assert a.execute("select v from marts.t").fetchone()[0] == 1
    anchor = queries._ANCHORS[str(db.resolve())]
    assert anchor.users == 0 and _value(db) == 1
    assert queries._ANCHORS[str(db.resolve())] is anchor  # kept for the next request
    # the catalog is looked up once per file
    with queries.connect(db) as con:
        assert "marts.t" in queries._relations(con)
    assert anchor.relations is not None and "marts.t" in anchor.relations


def test_publish_is_seen_by_the_next_request(tmp_path):
    db = _file(tmp_path / "serving.duckdb", 1)
    assert _value(db) == 1
    os.replace(_file(tmp_path / "new.duckdb", 2), db)  # what `lexrecon publish` does
    assert _value(db) == 2
    os.replace(_file(tmp_path / "new2.duckdb", 3), db)
    assert _value(db) == 3


def test_request_on_the_old_snapshot_finishes_and_new_requests_wait_for_it(tmp_path):
    db = _file(tmp_path / "serving.duckdb", 1)
    holding = threading.Event()
    release = threading.Event()
    seen: dict[str, object] = {}

    def old_reader() -> None:
        with queries.connect(db) as con:
            seen["before"] = con.execute("select v from marts.t").fetchone()[0]
            holding.set()
            release.wait(10)
            # the file was replaced meanwhile: this request still reads its snapshot
            seen["after"] = con.execute("select v from marts.t").fetchone()[0]

    def new_reader() -> None:
        seen["new"] = _value(db)
        seen["new_at"] = time.monotonic()

    t_old = threading.Thread(target=old_reader)
    t_old.start()
    assert holding.wait(10)
    os.replace(_file(tmp_path / "new.duckdb", 2), db)
    t_new = threading.Thread(target=new_reader)
    t_new.start()
    time.sleep(0.3)
    assert "new" not in seen, "a request for the new file must wait for the old snapshot"
    released_at = time.monotonic()
    release.set()
    t_old.join(10)
    t_new.join(10)
    assert seen["before"] == 1 and seen["after"] == 1  # no error, one snapshot
    assert seen["new"] == 2 and seen["new_at"] >= released_at
    assert _value(db) == 2


def test_missing_file_is_unavailable(tmp_path):
    with pytest.raises(queries.WarehouseUnavailable):
        _value(tmp_path / "nothing.duckdb")
