"""The whole path on the tiny demo firm: generate -> ingest -> build -> publish -> verify.

Uses the project's real functions in a tmp dir: the generator, the `lexrecon ingest` command
(emulators + dlt), ``lexrecon.warehouse.build`` / ``publish`` (dbt in-process) and
``lexrecon demo verify``. Every planted anomaly must be found and nothing else reported.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@dataclass
class Built:
    firm: Path
    build_db: Path
    serving_db: Path
    result: Any
    published: bool


@pytest.fixture(scope="module")
def built(tiny_pipeline) -> Built:
    """The shared tiny pipeline (tests/conftest.py): generate -> `lexrecon ingest` -> build -> publish."""
    return Built(tiny_pipeline.firm, tiny_pipeline.build_db, tiny_pipeline.serving_db,
                 tiny_pipeline.result, tiny_pipeline.published)


def test_build_is_green_and_published(built: Built) -> None:
    assert built.result.success, "dbt build failed:\n" + "\n".join(built.result.failures[:30])
    assert built.published and built.serving_db.is_file()


def _db(built: Built) -> Path:
    # verify the published file; if the build was red (reported above), still score the build
    return built.serving_db if built.published else built.build_db


def test_verify_finds_every_planted_anomaly_and_nothing_else(built: Built,
                                                             capsys: pytest.CaptureFixture) -> None:
    from lexrecon.cli import main
    from lexrecon.verify import verify

    report = verify(built.firm, _db(built))
    print(report.table())
    planted = pl.read_parquet(built.firm / "ground_truth.parquet")
    assert sum(s.planted for s in report.scores) == planted.height
    assert report.ok, report.table()
    # amounts of the kinds this project's reconciliation marts compute must agree to the cent
    # (WRITE_OFF amounts come from fct_write_offs and are only reported)
    mine = [s for s in report.scores if s.kind not in ("WRITE_OFF", "EBILLING_REJECTION")]
    assert all(not s.amount_mismatches for s in mine), report.table()
    assert main(["demo", "verify", "--firm", str(built.firm), "--serving-db", str(_db(built))]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out and "RATE_DEFINITION" in out


def test_verify_fails_on_a_missed_or_unplanted_anomaly(built: Built, tmp_path: Path) -> None:
    from lexrecon.cli import main
    from lexrecon.verify import verify

    firm = tmp_path / "firm"
    firm.mkdir()
    shutil.copy(built.firm / "manifest.json", firm / "manifest.json")
    gt = pl.read_parquet(built.firm / "ground_truth.parquet")
    # one planted row the warehouse cannot have found, and one real finding dropped
    fake = gt.filter(pl.col("kind") == "VAGUE").head(1).with_columns(
        pl.lit("NY-999999").alias("invoice_number"))
    dropped = gt.filter(pl.col("kind") == "TIMING").head(1)
    gt = pl.concat([gt.filter(pl.col("anomaly_id") != dropped["anomaly_id"][0]), fake])
    gt.write_parquet(firm / "ground_truth.parquet")

    report = verify(firm, _db(built))
    vague = next(s for s in report.scores if s.kind == "VAGUE")
    timing = next(s for s in report.scores if s.kind == "TIMING")
    assert vague.found == vague.planted - 1 and vague.missed == [("NY-999999", vague.missed[0][1], "VAGUE")]
    assert timing.false_positives == 1 and timing.planted == 0
    assert not report.ok
    assert main(["demo", "verify", "--firm", str(firm), "--serving-db", str(_db(built))]) == 1


def test_verify_says_what_to_do_without_a_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lexrecon.cli import main

    assert main(["demo", "verify", "--firm", str(tmp_path), "--serving-db",
                 str(tmp_path / "none.duckdb")]) == 2
    assert "generate the demo firm" in capsys.readouterr().err


def test_manifest_partner_month_matches(built: Built) -> None:
    from lexrecon.verify import verify

    manifest = json.loads((built.firm / "manifest.json").read_text())
    report = verify(built.firm, _db(built))
    ((_name, ok, detail),) = report.checks
    assert ok, detail
    assert manifest["variance_partner"] in detail
