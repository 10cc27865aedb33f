"""One more business day of time entries for an existing demo firm (the daily incremental run).

``append_day(firm_dir)`` adds, to both LPMs' time-entry tables, the time recorded on the next
business day after the firm's last entry date: a copy of the last business day's unbilled,
billable time entries (same timekeepers, matters, hours, rates and narratives) with new ids,
the new date, and ``created_at``/``updated_at`` (Clio) and ``modifiedTimestamp`` (Actionstep)
after every timestamp already in the tables, so the sources' incremental cursors load exactly
these rows. The entries are recorded one second apart, in id order, from one minute after the
latest timestamp (as time is entered through a day: one instant for the whole day would give
every entry the cursor's last value, which the next run's inclusive ``updated_since`` sends
again). Nothing else changes (no bills, no LEDES, no sales bookings): the work is WIP.

Deterministic: the same firm gives the same day. The manifest's row counts, sha256 and
``extra_days`` list are updated so the folder stays self-describing. Emulators read their
parquet at start, so start them after this runs.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl

CLIO = Path("clio") / "activities.parquet"
ACTIONSTEP = Path("actionstep") / "timeentries.parquet"


def next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _write(frame: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


def append_day(firm_dir: str | Path) -> dict:
    """Append the next business day's time entries; returns {date, clio, actionstep} counts."""
    firm = Path(firm_dir)
    clio = pl.read_parquet(firm / CLIO)
    action = pl.read_parquet(firm / ACTIONSTEP)

    last = max(clio["date"].max(), action["timestampDate"].max())
    day = next_business_day(last)

    # Clio: the last day's unbilled billable time entries, once more on the new day
    c_src = clio.filter((pl.col("date") == last) & (pl.col("type") == "TimeEntry")
                        & (pl.col("status") == "unbilled") & pl.col("bill__id").is_null()
                        & ~pl.col("non_billable") & ~pl.col("no_charge")).sort("id")
    c_stamp = clio["updated_at"].max() + timedelta(minutes=1)
    c_first = int(clio["id"].max()) + 1
    c_at = (pl.lit(c_stamp).dt.cast_time_unit("us").dt.replace_time_zone("UTC")
            + pl.duration(seconds=pl.int_range(0, pl.len())))
    c_new = c_src.with_columns(
        pl.int_range(c_first, c_first + c_src.height, dtype=pl.Int64).alias("id"),
        pl.lit(day).alias("date"),
        c_at.alias("created_at"),
        c_at.alias("updated_at"),
    ).with_columns(pl.col("id").hash(seed=day.toordinal()).cast(pl.String).str.slice(0, 10)
                   .alias("etag")).select(clio.columns)

    # Actionstep: the same for its time entries (billingBehavior 'Bill', not on a bill)
    a_src = action.filter((pl.col("timestampDate") == last) & (pl.col("billingBehavior") == "Bill")
                          & pl.col("links__bill").is_null()).sort("id")
    a_last = max(action["modifiedTimestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%:z"))
    a_stamp = a_last + timedelta(minutes=1)
    a_first = int(action["id"].max()) + 1
    a_new = a_src.with_columns(
        pl.int_range(a_first, a_first + a_src.height, dtype=pl.Int64).alias("id"),
        pl.lit(day).alias("timestampDate"),
        (pl.lit(a_stamp) + pl.duration(seconds=pl.int_range(0, pl.len())))
        .dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").alias("modifiedTimestamp"),
    ).select(action.columns)

    _write(pl.concat([clio, c_new.cast(clio.schema)]), firm / CLIO)
    _write(pl.concat([action, a_new.cast(action.schema)]), firm / ACTIONSTEP)

    manifest_path = firm / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        counts = manifest.get("row_counts", {})
        counts["clio.activities"] = clio.height + c_new.height
        counts["actionstep.timeentries"] = action.height + a_new.height
        files = manifest.get("files")
        if isinstance(files, dict):
            for rel in (CLIO, ACTIONSTEP):
                files[rel.as_posix()] = _sha256(firm / rel)
        manifest.setdefault("extra_days", []).append(day.isoformat())
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return {"date": day.isoformat(), "clio": c_new.height, "actionstep": a_new.height}
