"""`lexrecon status`: freshness per source from dlt's load records, exit codes and the webhook alert."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import typing
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dlt
import pytest

from lexrecon.status import SOURCES, source_statuses


def _load(raw_db: Path, pipes: Path, source: str) -> None:
    pipeline = dlt.pipeline(
        f"status_{source}",
        destination=dlt.destinations.duckdb(str(raw_db)),
        dataset_name=f"raw_{source}",
        pipelines_dir=str(pipes),
    )
    pipeline.run([{"id": 1}], table_name="probe")


@pytest.fixture()
def raw_db(tmp_path: Path) -> Path:
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    db = tmp_path / "raw.duckdb"
    for source in ("clio", "sales"):
        _load(db, tmp_path / "pipes", source)
    return db


class _Receiver(BaseHTTPRequestHandler):
    bodies: typing.ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _Receiver.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def receiver():
    _Receiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook?token=s3cret", _Receiver.bodies
    server.shutdown()
    server.server_close()


def test_fresh_and_never_loaded_sources(raw_db: Path):
    statuses = {s.source: s for s in source_statuses(raw_db, timedelta(hours=12))}
    assert set(statuses) == set(SOURCES)
    assert not statuses["clio"].stale and statuses["clio"].last_load_id
    assert not statuses["sales"].stale
    assert statuses["ledes"].stale and statuses["ledes"].last_success is None


def test_window_makes_old_loads_stale(raw_db: Path):
    later = datetime.now(UTC) + timedelta(hours=13)
    statuses = {s.source: s for s in source_statuses(raw_db, timedelta(hours=12), now=later)}
    assert statuses["clio"].stale and statuses["clio"].age_hours > 12
    statuses = {s.source: s for s in source_statuses(raw_db, timedelta(hours=24), now=later)}
    assert not statuses["clio"].stale


def _status(raw_db: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LEXRECON_ALERT_WEBHOOK"}
    return subprocess.run(
        [sys.executable, "-m", "lexrecon", "status", "--raw-db", str(raw_db), *extra],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


def test_cli_exits_nonzero_and_posts_alert_without_leaking_the_url(raw_db: Path, receiver):
    url, bodies = receiver
    proc = _status(raw_db, "--webhook", url)
    assert proc.returncode == 1
    assert "ledes" in proc.stderr and "STALE" in proc.stdout
    assert "s3cret" not in proc.stdout + proc.stderr
    assert len(bodies) == 1
    stale = {s["source"] for s in bodies[0]["stale_sources"]}
    assert stale == {"actionstep", "ebilling", "ledes"}
    assert bodies[0]["window_hours"] == 12


def test_cli_exits_zero_when_every_source_is_fresh(tmp_path: Path, receiver):
    url, bodies = receiver
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    db = tmp_path / "raw.duckdb"
    for source in SOURCES:
        _load(db, tmp_path / "pipes", source)
    proc = _status(db, "--webhook", url)
    assert proc.returncode == 0, proc.stderr
    assert bodies == []
