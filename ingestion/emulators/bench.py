"""Raw paging speed of the Clio emulator: ``python -m ingestion.emulators.bench``.

Pages through ``activities`` with one ``requests.Session`` (a single client, following
``meta.paging.next``, parsing every page with ``json`` or ``--parser orjson``) and prints
records/s. By default it
serves a synthetic, contract-shaped activities table of ``--rows`` rows; ``--firm DIR`` uses a
generated demo firm instead. ``--process`` runs the server in a child process (no GIL shared
with the client); without it the server runs in a thread of this process, as with
``start_all``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

ALL_FIELDS = ("id,etag,type,date,quantity,quantity_in_hours,price,total,note,non_billable,"
              "no_charge,status,utbms_task{code},utbms_activity{code},utbms_expense{code},"
              "matter{id},user{id},bill{id},created_at,updated_at")


def synthetic_activities(rows: int, folder: Path) -> Path:
    import numpy as np
    import polars as pl
    rng = np.random.default_rng(7)
    day0 = dt.date(2025, 1, 1)
    secs = rng.integers(1, 40, rows) * 360
    price = rng.integers(20000, 99900, rows)
    df = pl.DataFrame({
        "id": np.arange(1, rows + 1), "etag": [f'"{i}"' for i in range(rows)],
        "type": np.where(rng.random(rows) < 0.9, "TimeEntry", "ExpenseEntry"),
        "date": [day0 + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, rows)],
        "quantity": secs, "quantity_in_hours": secs / 3600, "price": price / 100,
        "total": (secs * price // 3600) / 100,
        "note": ["Reviewed documents produced in discovery; call with client re strategy"] * rows,
        "non_billable": [False] * rows, "no_charge": [False] * rows, "status": ["billed"] * rows,
        "utbms_task__code": ["L110"] * rows, "utbms_activity__code": ["A103"] * rows,
        "utbms_expense__code": [None] * rows,
        "matter__id": rng.integers(1, 5000, rows), "user__id": rng.integers(1, 120, rows),
        "bill__id": rng.integers(1, 20000, rows),
        "created_at": [dt.datetime(2025, 1, 1, tzinfo=dt.UTC)] * rows,
        "updated_at": [dt.datetime(2025, 6, 1, tzinfo=dt.UTC)] * rows,
    }).with_columns(pl.col("quantity", "quantity_in_hours").cast(pl.Decimal(18, 4)),
                    pl.col("price", "total").cast(pl.Decimal(18, 2)))
    (folder / "clio").mkdir(parents=True, exist_ok=True)
    df.write_parquet(folder / "clio" / "activities.parquet")
    return folder


def _serve(folder: str, unthrottled: bool, q: mp.Queue) -> None:
    from ingestion.emulators import ClioEmulator
    server = ClioEmulator(Path(folder) / "clio", unthrottled=unthrottled, use_env=False).start()
    q.put(server.info())
    while True:
        time.sleep(3600)


def crawl(info: dict, limit: int, trust_env: bool,
          parser: str = "json") -> tuple[int, int, float, float]:
    import requests
    if parser == "orjson":
        import orjson  # ships with dlt; what ingestion.sources.common.http uses
        loads = orjson.loads
    else:
        loads = json.loads
    s = requests.Session()
    s.trust_env = trust_env
    tok = s.post(info["token_url"], data={"grant_type": "client_credentials",
                                          "client_id": info["client_id"],
                                          "client_secret": info["client_secret"]}).json()
    s.headers["Authorization"] = "Bearer " + tok["access_token"]
    url, params = info["api_url"] + "/activities.json", {"fields": ALL_FIELDS, "limit": limit}
    n = pages = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    while url:
        r = s.get(url, params=params)
        r.raise_for_status()
        body = loads(r.content)
        n += len(body["data"])
        pages += 1
        url, params = body["meta"]["paging"].get("next"), None
    return n, pages, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ingestion.emulators.bench", description=__doc__)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--firm", type=Path, default=None)
    p.add_argument("--limit", type=int, action="append", default=None,
                   help="page size(s) to measure (default: 200 and 1000)")
    p.add_argument("--process", action="store_true", help="server in a child process")
    p.add_argument("--trust-env", action="store_true",
                   help="leave requests' proxy/env lookups on (slower)")
    p.add_argument("--parser", choices=["json", "orjson"], default="json",
                   help="how the client parses pages (orjson: as ingestion.sources does)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    limits = args.limit or [200, 1000]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.firm or synthetic_activities(args.rows, Path(tmp))
        unthrottled = max(limits) > 200
        child = None
        if args.process:
            q: mp.Queue = mp.get_context("spawn").Queue()
            child = mp.get_context("spawn").Process(target=_serve,
                                                    args=(str(folder), unthrottled, q),
                                                    daemon=True)
            child.start()
            info = q.get(timeout=120)
            server = None
        else:
            from ingestion.emulators import ClioEmulator
            server = ClioEmulator(Path(folder) / "clio", unthrottled=unthrottled,
                                  use_env=False).start()
            info = server.info()
        results = []
        try:
            crawl(info, max(limits), args.trust_env)  # warm the JSON cache
            for limit in limits:
                n, pages, secs, cpu = crawl(info, limit, args.trust_env, args.parser)
                results.append({"limit": limit, "parser": args.parser, "records": n,
                                "pages": pages,
                                "seconds": round(secs, 3), "records_per_s": round(n / secs),
                                "cpu_seconds_this_process": round(cpu, 3)})
                if not args.json:
                    print(f"limit={limit:>6} {args.parser}: {n} records in {pages} pages, {secs:.2f} s = "
                          f"{n / secs:,.0f} records/s; CPU of this process {cpu:.2f} s "
                          f"({'server in child process' if child else 'server thread'})")
        finally:
            if server is not None:
                server.stop()
            if child is not None:
                child.terminate()
        if args.json:
            print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
