"""Build a real tiny warehouse for the report tests: demo firm -> emulators + dlt -> dbt.

The firm is generated (tiny scale, seed 42), served by the source emulators and loaded by the
real dlt sources into raw.duckdb; the warehouse is built (with the firm's OCG rules folder) and
published by ``lexrecon.warehouse``, which keeps the dbt run results beside the serving file.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TinyWarehouse:
    firm: Path
    raw_db: Path
    build_db: Path
    serving_db: Path


def generate_firm(out: Path) -> Path:
    from ingestion.demo_firm.generator import generate

    generate("tiny", 42, out)
    return out


def ingest(firm: Path, raw_db: Path, pipelines_dir: Path) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    from ingestion.emulators import start_all
    from ingestion.pipeline import run_source

    emulators = start_all(firm, unthrottled=True, use_env=False)
    try:
        for name, server in emulators.servers.items():
            info = server.info()
            endpoint = {k: info[k] for k in ("base_url", "client_id", "client_secret",
                                             "company_id") if k in info}
            run_source(name, firm, raw_db, pipelines_dir=pipelines_dir, endpoint=endpoint)
    finally:
        emulators.stop()
    for name in ("ledes", "sales"):
        run_source(name, firm, raw_db, pipelines_dir=pipelines_dir)


def build_and_publish(raw_db: Path, build_db: Path, serving_db: Path) -> None:
    from lexrecon import warehouse

    warehouse.build(raw_db, build_db)
    warehouse.publish(build_db, serving_db)  # refuses a build that is not green


def build(root: Path) -> TinyWarehouse:
    root.mkdir(parents=True, exist_ok=True)
    firm = generate_firm(root / "firm")
    raw_db = root / "raw.duckdb"
    ingest(firm, raw_db, root / "dlt")
    build_db, serving_db = root / "build.duckdb", root / "serving.duckdb"
    before = os.environ.get("LEXRECON_FIRM")
    os.environ["LEXRECON_FIRM"] = str(firm)  # the OCG rules folder the build applies
    try:
        build_and_publish(raw_db, build_db, serving_db)
    finally:
        if before is None:
            os.environ.pop("LEXRECON_FIRM", None)
        else:
            os.environ["LEXRECON_FIRM"] = before
    return TinyWarehouse(firm, raw_db, build_db, serving_db)


if __name__ == "__main__":
    import time

    t = time.perf_counter()
    print(build(Path(sys.argv[1])), f"{time.perf_counter() - t:.1f}s")
