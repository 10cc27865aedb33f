"""Fixtures for the source tests: a synthetic firm, emulators, PostgreSQL, tmp raw.duckdb.

Every test gets its own raw.duckdb and dlt pipelines folder under tmp_path (dlt state never
leaks between tests). Emulators are real HTTP servers on 127.0.0.1 started per test with the
fault switches the test names; PostgreSQL is a real server started once per session.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

import ingest_minifirm as minifirm
from ingest_helpers import ROWS


@pytest.fixture(scope="session")
def mini_firm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return minifirm.build(tmp_path_factory.mktemp("firm"), ROWS)


@pytest.fixture
def firm(mini_firm: Path, tmp_path: Path) -> Path:
    """A private copy of the firm the test may change."""
    return Path(shutil.copytree(mini_firm, tmp_path / "firm"))


@pytest.fixture
def raw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    out = {"raw_db": tmp_path / "raw.duckdb", "pipelines_dir": tmp_path / "dlt"}
    monkeypatch.setenv("LEXRECON_HOME", str(tmp_path / "home"))
    return out


# -- PostgreSQL -----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: str) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        args = ["su", "postgres", "-s", "/bin/sh", "-c", cmd]
    else:
        args = ["/bin/sh", "-c", cmd]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL server on 127.0.0.1 (free port), stopped at the end of the session.
    Yields a SQLAlchemy URL (postgresql+psycopg2://...)."""
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        pytest.fail("initdb/pg_ctl are not on PATH: PostgreSQL server binaries are required")
    base = Path(tempfile.mkdtemp(prefix="lexrecon-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    base.chmod(0o700)
    port = _free_port()
    r = _as_postgres(f"initdb -D {data} -U postgres --auth=trust -E UTF8 >{base}/initdb.log 2>&1")
    assert r.returncode == 0, (base / "initdb.log").read_text() if (base / "initdb.log").exists() \
        else r.stderr
    r = _as_postgres(
        f"pg_ctl -D {data} -l {base}/server.log -w -t 60 -o "
        f"\"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off\" start")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        _as_postgres(f"pg_ctl -D {data} -m immediate -w stop")
        shutil.rmtree(base, ignore_errors=True)
