"""Publishing: a build that fails any test never reaches ``serving.duckdb``; dashboard readers
hitting the real HTTP server during repeated publishes get no error and always one complete
snapshot (every response equals what snapshot A or snapshot B gives, never a mix or a torn
file)."""
from __future__ import annotations

import json
import random
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest
import requests
from reliability_helpers import (
    REPO,
    SEED,
    TRIALS,
    Baseline,
    build_args,
    lexrecon,
    tally,
)

SUITE = "publishing"
USERS_FILE = REPO / "dashboards" / "users.yml"


def _sidecars(db: Path) -> list[Path]:
    return [db.with_name(db.name + s) for s in (".run_results.json", ".build.json")]


def _copy_build(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    for a, b in zip(_sidecars(src), _sidecars(dst), strict=True):
        if a.is_file():
            shutil.copyfile(a, b)
    return dst


def _publish_a_copy(build: Path, serving: Path, work: Path) -> Path:
    """Publish a fresh copy of ``build`` (publish moves the file it is given)."""
    from lexrecon.warehouse import publish

    return publish(_copy_build(build, work / f"{time.monotonic_ns()}" / build.name), serving)


def _refused(build_db: Path, serving: Path, what: str) -> None:
    from lexrecon.warehouse import PublishRefused, publish

    before = serving.read_bytes()
    try:
        publish(build_db, serving)
        ok, detail = False, "publish accepted it"
    except PublishRefused as exc:
        ok, detail = True, str(exc).splitlines()[0][:200]
    ok = ok and serving.read_bytes() == before
    tally("fault", SUITE, f"publish refuses {what}", ok, detail)
    assert ok, f"{what}: {detail}"


# ------------------------------------------------------------- a failed build is refused
def test_a_build_with_a_failing_test_never_reaches_serving(baseline: Baseline, tmp_path):
    """Real data fault: a matter delivered twice with the same id (a unique test fails)."""
    home = baseline.copy_to(tmp_path)
    raw_db, build_db, serving = home / "raw.duckdb", home / "build.duckdb", home / "serving.duckdb"
    serving.write_bytes(b"previously published")
    con = duckdb.connect(str(raw_db))
    try:
        con.execute("insert into raw_clio.matters select * from raw_clio.matters "
                    "order by id limit 1")
    finally:
        con.close()
    bld = lexrecon(build_args(raw_db, build_db), home, LEXRECON_FIRM=str(baseline.firm))
    failed_clearly = bld.returncode != 0 and "FAILED" in bld.stdout
    tally("fault", SUITE, "build on a duplicated source key fails", failed_clearly,
          (bld.stdout + bld.stderr)[-300:])
    assert failed_clearly, bld.stdout[-2000:] + bld.stderr[-2000:]
    _refused(build_db, serving, "a build whose dbt tests failed")
    pub = lexrecon(["publish", "--build-db", str(build_db), "--serving-db", str(serving)], home)
    ok = pub.returncode == 1 and "publish refused" in pub.stderr and \
        serving.read_bytes() == b"previously published"
    tally("fault", SUITE, "`lexrecon publish` of the failed build exits 1", ok, pub.stderr[:200])
    assert ok, pub.stdout + pub.stderr


@pytest.mark.parametrize("tamper", ["changed after build", "run results missing",
                                    "a test result edited to fail", "build info says failed",
                                    "no build file"])
def test_publish_refuses_unproven_builds(baseline: Baseline, tmp_path, tamper: str):
    build_db = _copy_build(baseline.build_db, tmp_path / "build.duckdb")
    serving = tmp_path / "serving.duckdb"
    serving.write_bytes(b"previous")
    results, info = _sidecars(build_db)
    if tamper == "changed after build":
        con = duckdb.connect(str(build_db))
        con.execute("update marts.fct_invoices set total_amount = total_amount + 1 "
                    "where invoice_number = (select min(invoice_number) from marts.fct_invoices)")
        con.close()
    elif tamper == "run results missing":
        results.unlink()
    elif tamper == "a test result edited to fail":
        data = json.loads(results.read_text())
        tests = [r for r in data["results"] if r["unique_id"].startswith("test.")]
        tests[len(tests) // 2]["status"] = "fail"
        results.write_text(json.dumps(data))
    elif tamper == "build info says failed":
        data = json.loads(info.read_text())
        data["success"] = False
        info.write_text(json.dumps(data))
    elif tamper == "no build file":
        build_db.unlink()
    _refused(build_db, serving, f"a build ({tamper})")


# ------------------------------------------------ readers during repeated publishes
def _second_green_build(baseline: Baseline, work: Path) -> Path:
    """Snapshot B: a real green build of the same raw data with an extra AR as-of date after
    the last month-end, so the collections worklist and the overview differ from A."""
    home = baseline.copy_to(work)
    build_db = home / "build-b.duckdb"
    bld = lexrecon([*build_args(home / "raw.duckdb", build_db), "--vars",
                    "{ar_as_of_date: 2026-10-15}"], home, LEXRECON_FIRM=str(baseline.firm))
    assert bld.returncode == 0, bld.stdout[-2000:] + bld.stderr[-2000:]
    return build_db


class LiveDashboard:
    """The Dash app served by werkzeug on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, serving: Path):
        from werkzeug.serving import make_server

        from dashboards.app import create_app

        self.app = create_app(serving_db=serving, users_file=USERS_FILE)
        self.server = make_server("127.0.0.1", 0, self.app.server, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)

    def session(self, user: str = "finance") -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # never a proxy: 127.0.0.1 only
        r = s.post(self.url + "/login", data={"username": user, "password": f"{user}-demo"},
                   allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text[:300]
        return s


READ_PATHS = ["/export/collections_worklist.csv", "/export/invoices.csv"]


def test_readers_during_a_rebuild_and_repeated_publishes_see_one_complete_snapshot(
        baseline: Baseline, tmp_path):
    """Three readers download CSV exports from the live dashboard while a real ``lexrecon
    build`` runs (snapshot B) and is published, then while A and B are published in turn
    ``3 × trials`` times. Every answer must be 200 and byte-equal to A's or B's answer."""
    build_a = _copy_build(baseline.build_db, tmp_path / "a" / "build.duckdb")
    serving = tmp_path / "serving" / "serving.duckdb"
    copies = tmp_path / "copies"
    rounds = 3 * TRIALS
    rng = random.Random(SEED + 11)
    _publish_a_copy(build_a, serving, copies)
    with LiveDashboard(serving) as live:
        stop = threading.Event()
        pace = {"seconds": 1.0}  # slow reads during the build, then as fast as they go
        outcomes: list[tuple[str, int, bytes | str]] = []
        lock = threading.Lock()

        def reader(k: int) -> None:
            s = live.session("finance" if k % 2 == 0 else "admin")
            i = 0
            while not stop.is_set() and i < 400:  # bounded
                p = READ_PATHS[(i + k) % len(READ_PATHS)]
                i += 1
                try:
                    r = s.get(live.url + p, timeout=60)
                    got: tuple[str, int, bytes | str] = (p, r.status_code, r.content)
                except requests.RequestException as exc:
                    got = (p, 0, f"{type(exc).__name__}: {exc}")
                with lock:
                    outcomes.append(got)
                time.sleep(pace["seconds"])

        readers = [threading.Thread(target=reader, args=(k,)) for k in range(3)]
        for t in readers:
            t.start()
        publishes = 0
        try:
            build_b = _second_green_build(baseline, tmp_path / "b")  # a real rebuild
            pace["seconds"] = 0.0
            for i in range(rounds):
                _publish_a_copy(build_b if i % 2 == 0 else build_a, serving, copies)
                publishes += 1
                time.sleep(rng.uniform(0.05, 0.4))
        finally:
            time.sleep(0.3)
            stop.set()
            for t in readers:
                t.join(timeout=120)
        expected: dict[str, set[bytes]] = {p: set() for p in READ_PATHS}
        for build in (build_a, build_b):  # what each snapshot answers, when alone
            _publish_a_copy(build, serving, copies)
            s = live.session()
            for p in READ_PATHS:
                r = s.get(live.url + p, timeout=60)
                assert r.status_code == 200, (p, r.status_code, r.text[:300])
                expected[p].add(r.content)
    assert len(expected["/export/collections_worklist.csv"]) == 2, \
        "snapshots A and B should differ in the collections worklist"
    bad = [(p, code, body) for p, code, body in outcomes
           if code != 200 or body not in expected[p]]
    tally("fault", SUITE, f"{len(outcomes)} dashboard reads during a rebuild and {publishes} "
                          "publishes: no error, one complete snapshot each",
          not bad and bool(outcomes),
          "; ".join(f"{p}: HTTP {code} {body[:100]!r}" for p, code, body in bad[:5]))
    assert outcomes and not bad, bad[:5]
