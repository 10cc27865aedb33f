"""The evidence pack: contents, reproducible bytes, verify (and a tampered copy failing),
offline HTML, no secrets, the export log, the CLI and the dashboard hook."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import duckdb
import pytest

from lexrecon.cli import main
from reports.evidence import EvidenceError, build_evidence_pack, build_pack, code_version
from reports.evidence_verify import MANIFEST, verify_pack

PERIOD = "2026-08"


@pytest.fixture(scope="module")
def pack(serving_db: Path, tmp_path_factory: pytest.TempPathFactory):
    return build_pack(serving_db, PERIOD, tmp_path_factory.mktemp("packs") / "pack")


def _scalar(db: Path, sql: str, params: list | None = None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()[0][0]
    finally:
        con.close()


def test_pack_holds_data_exceptions_tieouts_tests_sources_and_manifest(pack, serving_db):
    root = pack.path
    for rel in ("MANIFEST", "pack.json", "summary.html", "data/invoices.csv",
                "data/invoices.parquet", "data/invoice_lines.csv", "data/payments.parquet",
                "data/ar_roll_forward.csv", "exceptions/invoice_match_exceptions.csv",
                "exceptions/rejections.parquet", "tieouts/tieouts.json", "tieouts/tieouts.csv",
                "tests/dbt_test_results.csv", "tests/dbt_test_results.json",
                "sources/loads.csv", "sources/freshness.csv"):
        assert (root / rel).is_file(), rel
    listed = {line.split("  ", 1)[1] for line in (root / MANIFEST).read_text().splitlines()}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert listed == on_disk - {MANIFEST}
    assert pack.pack_hash == hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest()

    meta = json.loads((root / "pack.json").read_text())
    assert meta["period"] == PERIOD and meta["code_version"] == code_version()
    n_invoices = _scalar(serving_db, "select count(*) from marts.fct_invoices where "
                                     "invoice_month = ?", [PERIOD])
    assert n_invoices > 0 and meta["tables"]["data/invoices"]["rows"] == n_invoices
    # the dbt results are those of the build that produced the published file
    results = json.loads(Path(f"{serving_db}.run_results.json").read_text())
    assert meta["build"]["dbt_invocation_id"] == results["metadata"]["invocation_id"]
    tests = (root / "tests/dbt_test_results.csv").read_text().splitlines()
    assert len(tests) - 1 == len(results["results"])
    assert meta["build"]["tests_total"] > 0 and meta["build"]["tests_not_passing"] == 0
    loads = (root / "sources/freshness.csv").read_text()
    for source in ("clio", "actionstep", "ebilling", "ledes", "sales"):
        assert f"\n{source}," in loads


def test_every_tieout_passes_with_inputs_and_result(pack):
    tieouts = json.loads((pack.path / "tieouts/tieouts.json").read_text())
    names = {t["name"] for t in tieouts}
    assert {"invoice_totals_equal_lines", "invoice_line_math", "ar_roll_forward",
            "loads_received_equal_loaded_plus_quarantined",
            "no_invoice_over_collected"} <= names
    for tie in tieouts:
        assert tie["inputs"] and "checked" in tie["result"] and "difference" in tie["result"]
        assert tie["status"] in ("pass", "n/a"), tie
    roll = next(t for t in tieouts if t["name"] == "ar_roll_forward")
    assert roll["status"] == "pass" and roll["result"]["checked"] >= 1
    assert all(v["difference"] in ("0", "0.00") for v in roll["result"]["figures"].values())


def test_same_data_gives_same_bytes(pack, serving_db, tmp_path):
    again = build_pack(serving_db, PERIOD, tmp_path / "again")
    assert again.pack_hash == pack.pack_hash
    for rel in again.files:
        assert (again.path / rel).read_bytes() == (pack.path / rel).read_bytes(), rel


def test_verify_accepts_the_pack(pack):
    result = verify_pack(pack.path, expected_hash=pack.pack_hash)
    assert result.ok, result.problems
    assert result.files_checked == len(pack.files) and result.tieouts_checked >= 6


def _copy(pack, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pack.path, tmp_path / "copy"))


def _tamper_amount(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    col = header.index("total_amount")
    cells = lines[1].rstrip("\n").split(",")
    cells[col] = str(float(cells[col]) + 100)
    lines[1] = ",".join(cells) + "\n"
    path.write_text("".join(lines))


def test_tampered_copy_fails_verify(pack, tmp_path):
    copy = _copy(pack, tmp_path)
    _tamper_amount(copy / "data/invoices.csv")
    result = verify_pack(copy)
    assert not result.ok
    assert any("data/invoices.csv" in p and "sha256" in p for p in result.problems)
    assert any(p.startswith("tie-out invoice_totals_equal_lines") for p in result.problems)


def test_tampered_copy_with_rewritten_manifest_still_fails(pack, tmp_path):
    from reports.evidence import write_manifest

    copy = _copy(pack, tmp_path)
    _tamper_amount(copy / "data/invoices.csv")
    new_hash = write_manifest(copy)  # the forger re-hashes everything
    result = verify_pack(copy)
    assert not result.ok  # the tie-outs recomputed from the data no longer match the record
    assert any("tie-out" in p for p in result.problems)
    assert any("do not hold the same rows" in p for p in result.problems)
    assert new_hash != pack.pack_hash
    assert not verify_pack(copy, expected_hash=pack.pack_hash).ok


def test_added_and_removed_files_fail_verify(pack, tmp_path):
    copy = _copy(pack, tmp_path)
    (copy / "data/extra.csv").write_text("x\n1\n")
    (copy / "sources/freshness.csv").unlink()
    problems = verify_pack(copy).problems
    assert any("data/extra.csv" in p and "not in MANIFEST" in p for p in problems)
    assert any("sources/freshness.csv" in p and "missing" in p for p in problems)


def test_summary_html_opens_offline(pack):
    text = (pack.path / "summary.html").read_text()
    assert "<script" in text and "Plotly" in text and len(text) > 1_000_000  # plotly.js inlined
    # no external script, stylesheet or image: everything the page needs is inline
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", text)
    assert not re.search(r"<link[^>]*\shref=", text)
    assert 'id="evidence-chart-1"' in text
    assert "Tie-outs" in text and PERIOD in text


def test_no_secret_reaches_the_pack(serving_db, tmp_path, monkeypatch):
    secrets = {"LEXRECON_WEBHOOK_TOKEN": "tok-9f8e7d6c5b4a", "SALES_DB_PASSWORD": "pw-Zx81!kk",
               "CLIO__CLIENT_SECRET": "clio-secret-77aa01", "EBILLING_OAUTH_CLIENT_SECRET":
               "eb-oauth-secret-55"}
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    built = build_pack(serving_db, PERIOD, tmp_path / "pack")
    for path in built.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in secrets.values():
                assert value.encode() not in data, (path, value)


def test_pack_is_refused_when_a_secret_would_leak(serving_db, tmp_path, monkeypatch):
    number = _scalar(serving_db, "select max(invoice_number) from marts.fct_invoices where "
                                 "invoice_month = ?", [PERIOD])
    monkeypatch.setenv("SOME_API_TOKEN", number)  # a value that does occur in the data
    with pytest.raises(EvidenceError, match="secret"):
        build_pack(serving_db, PERIOD, tmp_path / "leaky")
    assert not (tmp_path / "leaky").exists()


def test_cli_exports_logs_and_verifies(serving_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEXRECON_LOGS", str(tmp_path / "logs"))
    out = tmp_path / "cli-pack"
    assert main(["evidence", "--period", PERIOD, "--out", str(out), "--serving-db",
                 str(serving_db), "--user", "auditor.jane"]) == 0
    log = (tmp_path / "logs" / "evidence_exports.jsonl").read_text().splitlines()
    record = json.loads(log[-1])
    assert record["user"] == "auditor.jane" and record["period"] == PERIOD
    assert record["pack_hash"] == hashlib.sha256((out / MANIFEST).read_bytes()).hexdigest()
    assert record["at"].endswith("Z")
    assert main(["evidence", "verify", str(out), "--expect-hash", record["pack_hash"]]) == 0
    _tamper_amount(out / "data/invoices.csv")
    assert main(["evidence", "verify", str(out)]) == 1
    assert main(["evidence", "verify", str(tmp_path / "nowhere")]) == 2
    assert main(["evidence", "--period", "2026-13", "--out", str(tmp_path / "x"),
                 "--serving-db", str(serving_db)]) == 2
    capsys.readouterr()


def test_cli_runs_as_a_process(serving_db, tmp_path):
    import sys

    out = tmp_path / "proc-pack"
    env = {"LEXRECON_LOGS": str(tmp_path / "logs"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "lexrecon", "evidence", "--period", PERIOD,
                           "--out", str(out), "--serving-db", str(serving_db)],
                          capture_output=True, text=True, env=env, check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "pack hash" in done.stdout


def test_dashboard_hook_returns_a_zip_of_verified_packs(serving_db, tmp_path, monkeypatch):
    monkeypatch.setenv("LEXRECON_LOGS", str(tmp_path / "logs"))
    zipped = build_evidence_pack(serving_db, PERIOD, PERIOD, tmp_path / "dl")
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(tmp_path / "unzipped")
    assert verify_pack(tmp_path / "unzipped" / f"evidence-{PERIOD}").ok
    assert (tmp_path / "logs" / "evidence_exports.jsonl").is_file()
