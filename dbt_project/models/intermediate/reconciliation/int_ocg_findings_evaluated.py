"""OCG findings of the submitted LEDES lines, from the one rules engine `lexrecon check` uses.

grain: one row per (file_name, invoice_number, line_item_number, rule_code), as the engine
reports them (lexrecon.ocg.engine.evaluate; shared/spec/check-contract.md).

The LEDES-shaped line frame is read from the staged LEDES lines (stg_ledes__ledes_lines): only
the columns the engine reads (lexrecon.ocg.engine.REQUIRED_COLUMNS, named by
lexrecon.ledes.fields.column_name(); the projection runs in DuckDB), with dates and decimals kept
typed: the engine reads a DATE as its YYYYMMDD text and a DECIMAL as its decimal text would read,
without the trip through text. Lines whose values staging could not read arrive blank (null),
and the engine switches off the rules that need them (the LEDES file checks report those, not
this model).

Rules files: every *.yml in the dbt var `ocg_rules_dir` (passed in as this model's config),
default `$LEXRECON_FIRM/ocg` (lexrecon.config.paths().firm / "ocg"). A rules file that cannot be
used fails the build with the engine's message (file and key). A missing folder means no
client has rules: no findings, and a warning in the dbt log.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from lexrecon.config import paths
from lexrecon.ocg.engine import REQUIRED_COLUMNS, evaluate
from lexrecon.ocg.rules import load_rules

OUT_SCHEMA = {
    "file_name": pl.Utf8, "record_no": pl.Int64, "invoice_number": pl.Utf8,
    "line_item_number": pl.Utf8, "rule_code": pl.Utf8, "severity": pl.Utf8,
    "message": pl.Utf8, "amount_at_risk": pl.Decimal(18, 2), "rules_file": pl.Utf8,
}
LEDES_COLUMNS = tuple(c for c in REQUIRED_COLUMNS if c not in ("file", "record_no"))


def rules_dir(configured: str | None) -> Path:
    return Path(configured) if configured else paths().firm / "ocg"


def ledes_frame(staged) -> pl.DataFrame:
    """The staged lines (a DuckDB relation) as the engine reads them: ``file``, ``record_no``
    and the LEDES columns it needs, read in one projection."""
    missing = [c for c in LEDES_COLUMNS if c not in staged.columns]
    if missing:
        raise ValueError(f"stg_ledes__ledes_lines lacks LEDES column(s) {', '.join(missing)}")
    return staged.project(", ".join(
        ['"file_name"::varchar as "file"', '"record_no"::bigint as "record_no"']
        + [f'"{c}"' for c in LEDES_COLUMNS]
    )).pl()


def model(dbt, session):
    dbt.config(materialized="table")
    folder = rules_dir(dbt.config.get("ocg_rules_dir"))
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not folder.is_dir():
        print(f"warning: OCG rules folder {folder} does not exist: no client rules applied "
              "(set the dbt var ocg_rules_dir or LEXRECON_FIRM)")
    rules = [load_rules(f) for f in files]
    source_of = {r.client_id: f.name for r, f in zip(rules, files)}

    lines = ledes_frame(dbt.ref("stg_ledes__ledes_lines"))
    findings = evaluate(lines, rules)
    if findings.height == 0:
        return pl.DataFrame(schema=OUT_SCHEMA)
    client_of = lines.select("file", "invoice_number", "client_id").unique(
        subset=["file", "invoice_number"], keep="first")
    out = findings.join(client_of, on=["file", "invoice_number"], how="left")
    return out.select(
        pl.col("file").alias("file_name"),
        pl.col("record_no").cast(pl.Int64),
        pl.col("invoice_number"),
        pl.col("line_item_number"),
        pl.col("code").alias("rule_code"),
        pl.col("severity"),
        pl.col("message"),
        pl.col("amount_at_risk").cast(pl.Decimal(18, 2)),
        pl.col("client_id").replace_strict(source_of, default=None, return_dtype=pl.Utf8)
        .alias("rules_file"),
    )
