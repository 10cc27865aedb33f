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


def test_sources_at_once_one_failing_the_other_still_loads(firm, raw, monkeypatch, capsys):
    """--jobs 2: sales and an unreachable Clio run at the same time; Clio's failure is reported
    and exits 1, and sales is loaded and tied out all the same."""
    monkeypatch.setenv("SOURCES__SALES__CREDENTIALS", f"sqlite:///{firm / 'sales' / 'sales.sqlite'}")
    monkeypatch.setenv("SOURCES__CLIO__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SOURCES__CLIO__CLIENT_ID", "someone")
    monkeypatch.setenv("SOURCES__CLIO__CLIENT_SECRET", "do-not-print-me")
    monkeypatch.setenv("LEXRECON_PIPELINES_DIR", str(raw["pipelines_dir"]))
    code = main(["ingest", "-s", "clio", "-s", "sales", "--jobs", "2",
                 "--raw-db", str(raw["raw_db"]), "--firm", str(firm)])
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert code == 1
    assert "clio: cannot reach http://127.0.0.1:9/oauth/token" in text
    assert "1 of 2 sources loaded" in text and "revenue_bookings" in text
    received, loaded, quarantined = query(
        raw["raw_db"], "select sum(received), sum(loaded), sum(quarantined) "
        "from raw_sales.load_tally")[0]
    assert received > 0 and received == loaded + quarantined
    assert query(raw["raw_db"], "select count(*) from raw_sales.revenue_bookings")[0][0] > 0
