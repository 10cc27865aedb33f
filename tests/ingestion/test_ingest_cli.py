"""``lexrecon ingest``: configuration through environment variables, summary, failures."""
from __future__ import annotations

from ingest_helpers import query

from lexrecon.cli import main


def test_ingest_reads_config_from_env_and_prints_a_summary(firm, raw, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__SALES__CREDENTIALS", f"sqlite:///{firm / 'sales' / 'sales.sqlite'}")
    monkeypatch.setenv("SOURCES__LEDES__INBOX", str(firm / "ebilling" / "ledes_inbox"))
    monkeypatch.setenv("LEXRECON_PIPELINES_DIR", str(raw["pipelines_dir"]))
    code = main(["ingest", "--source", "sales", "--source", "ledes",
                 "--raw-db", str(raw["raw_db"]), "--firm", str(firm / "nowhere")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "revenue_bookings" in out and "ledes_lines" in out and "2 of 2 sources" in out
    assert query(raw["raw_db"], "select count(*) from raw_ledes.ledes_files")[0][0] == 4


def test_ingest_failure_says_which_source_what_and_what_to_do(firm, raw, monkeypatch, capsys):
    monkeypatch.setenv("SOURCES__CLIO__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SOURCES__CLIO__CLIENT_ID", "someone")
    monkeypatch.setenv("SOURCES__CLIO__CLIENT_SECRET", "do-not-print-me")
    monkeypatch.setenv("LEXRECON_PIPELINES_DIR", str(raw["pipelines_dir"]))
    code = main(["ingest", "-s", "clio", "--raw-db", str(raw["raw_db"]), "--firm", str(firm)])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == 1
    assert "clio: cannot reach http://127.0.0.1:9/oauth/token" in " ".join(text.split())
    assert "base_url" in text and "do-not-print-me" not in text
