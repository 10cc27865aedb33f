"""`lexrecon status`: the last successful load per source, and an alert when one is stale.

A source is stale when it has had no successful dlt load within the window (12 h by default,
``--window-hours`` or ``LEXRECON_FRESHNESS_HOURS``). Stale sources make the command exit 1 and,
when a webhook is configured (``--webhook`` or ``LEXRECON_ALERT_WEBHOOK``), post one JSON alert
to it. The webhook URL may carry a token, so it is never printed.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from lexrecon.config import paths

SOURCES = ("clio", "actionstep", "ebilling", "ledes", "sales")
DEFAULT_WINDOW_HOURS = 12.0


@dataclass(frozen=True)
class SourceStatus:
    source: str
    last_success: datetime | None
    last_load_id: str | None
    age_hours: float | None
    stale: bool


def source_statuses(
    raw_db: Path, window: timedelta, now: datetime | None = None
) -> list[SourceStatus]:
    """One row per known source: its newest successful dlt load (status 0) and whether it is stale."""
    now = now or datetime.now(UTC)
    found: dict[str, tuple[datetime, str]] = {}
    if raw_db.exists():
        con = duckdb.connect(str(raw_db), read_only=True)
        try:
            schemas = {
                r[0]
                for r in con.execute(
                    "select table_schema from information_schema.tables where table_name = '_dlt_loads'"
                ).fetchall()
            }
            for source in SOURCES:
                schema = f"raw_{source}"
                if schema not in schemas:
                    continue
                row = con.execute(
                    f'select inserted_at, load_id from "{schema}"._dlt_loads '
                    "where status = 0 order by inserted_at desc limit 1"
                ).fetchone()
                if row:
                    found[source] = (row[0], row[1])
        finally:
            con.close()
    result = []
    for source in SOURCES:
        if source in found:
            at, load_id = found[source]
            age = (now - at).total_seconds() / 3600
            result.append(SourceStatus(source, at, load_id, round(age, 2), age > window.total_seconds() / 3600))
        else:
            result.append(SourceStatus(source, None, None, None, True))
    return result


def post_alert(url: str, statuses: list[SourceStatus], window_hours: float) -> None:
    stale = [s for s in statuses if s.stale]
    body = {
        "alert": "lexrecon: sources without a successful load",
        "window_hours": window_hours,
        "stale_sources": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(s).items()}
            for s in stale
        ],
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def run(args) -> int:
    window_hours = float(
        args.window_hours or os.environ.get("LEXRECON_FRESHNESS_HOURS", DEFAULT_WINDOW_HOURS)
    )
    raw_db = Path(args.raw_db) if args.raw_db else paths().raw_db
    statuses = source_statuses(raw_db, timedelta(hours=window_hours))
    print(f"{'source':<12} {'last successful load (UTC)':<28} {'age (h)':>8}  state")
    for s in statuses:
        when = s.last_success.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if s.last_success else "never"
        age = f"{s.age_hours:.1f}" if s.age_hours is not None else "-"
        print(f"{s.source:<12} {when:<28} {age:>8}  {'STALE' if s.stale else 'ok'}")
    stale = [s.source for s in statuses if s.stale]
    if not stale:
        return 0
    print(
        f"no successful load within {window_hours:g} h for: {', '.join(stale)}; "
        "run `lexrecon ingest` for them and check its output",
        file=sys.stderr,
    )
    webhook = args.webhook or os.environ.get("LEXRECON_ALERT_WEBHOOK")
    if webhook:
        try:
            post_alert(webhook, statuses, window_hours)
            print("alert posted to the configured webhook", file=sys.stderr)
        except OSError as exc:
            print(f"could not post the alert to the configured webhook: {type(exc).__name__}", file=sys.stderr)
    return 1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("status", help="last successful load per source; exit 1 and alert when stale")
    p.add_argument("--window-hours", type=float, default=None, help="staleness window (default 12)")
    p.add_argument("--webhook", default=None, help="URL to POST an alert to (or LEXRECON_ALERT_WEBHOOK)")
    p.add_argument("--raw-db", default=None, help="raw DuckDB file (default var/raw.duckdb)")
    p.set_defaults(func=run)
