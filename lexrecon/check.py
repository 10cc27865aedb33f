"""``lexrecon check``: find what a client's e-billing portal would reject in LEDES invoices.

    lexrecon check FILE [FILE ...] [--rules RULES.yml ...] [--format json|table]

Every file gets the LEDES file checks; invoices whose CLIENT_ID matches a rules file also get
that client's OCG rules. Exit 0: no error findings; 1: at least one; 2: could not run (an
unreadable file or an invalid rules file, explained on stderr). Contract:
shared/spec/check-contract.md; user documentation: docs/check.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import polars as pl

from lexrecon.ledes.checks import check_files
from lexrecon.ledes.findings import FINDING_KEYS, combine_findings
from lexrecon.ledes.parser import LedesFile, parse_ledes_many
from lexrecon.ocg.engine import evaluate
from lexrecon.ocg.rules import Rules, RulesError, load_rules


class CheckError(Exception):
    """The command cannot run; the message says why."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "check",
        help="check LEDES invoices against the LEDES format and clients' billing guidelines",
        description="Check LEDES 1998B/1998BI invoice files before submission. Exit status: "
                    "0 no errors, 1 errors found, 2 could not run.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="LEDES invoice file(s)")
    parser.add_argument("--rules", action="append", default=[], metavar="RULES.yml",
                        help="a client's rules file (repeat for several clients)")
    parser.add_argument("--format", choices=("json", "table"), default=None,
                        help="output format (default: table on a terminal, json otherwise)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    problems: list[str] = []
    rules: list[Rules] = []
    parsed: list[LedesFile] = []
    try:
        rules = load_all_rules(args.rules)
    except CheckError as exc:
        problems.append(str(exc))
    try:
        parsed = read_all(list(dict.fromkeys(args.files)))
    except CheckError as exc:
        problems.append(str(exc))
    if problems:  # every reason the command cannot run, then exit 2
        for line in "\n".join(problems).splitlines():
            print(f"lexrecon check: {line}", file=sys.stderr)
        return 2
    findings = check_parsed(parsed, rules)
    for note in unmatched_rules(parsed, rules):
        print(f"lexrecon check: note: {note}", file=sys.stderr)
    output = args.format or ("table" if sys.stdout.isatty() else "json")
    if output == "json":
        sys.stdout.write(to_json(findings) + "\n")
    else:
        print_table(findings, len(dict.fromkeys(args.files)))
    return exit_status(findings)


def load_all_rules(paths: Sequence[str]) -> list[Rules]:
    """Load rules files; several problems are reported together."""
    rules: list[Rules] = []
    problems: list[str] = []
    by_client: dict[str, str] = {}
    for path in paths:
        try:
            loaded = load_rules(path)
        except RulesError as exc:
            problems.append(str(exc))
            continue
        if loaded.client_id in by_client:
            problems.append(f"rules files {by_client[loaded.client_id]} and {path} are both "
                            f"for client_id {loaded.client_id!r}; give one per client")
            continue
        by_client[loaded.client_id] = path
        rules.append(loaded)
    if problems:
        raise CheckError("\n".join(problems))
    return rules


def read_all(paths: Sequence[str]) -> list[LedesFile]:
    contents: list[tuple[bytes, str]] = []
    problems: list[str] = []
    for path in paths:
        try:
            contents.append((Path(path).read_bytes(), path))
        except OSError as exc:
            problems.append(f"cannot read {path}: {exc.strerror or exc}")
    if problems:
        raise CheckError("\n".join(problems))
    return parse_ledes_many(contents)


def check_paths(files: Sequence[str], rules_files: Sequence[str] = ()) -> pl.DataFrame:
    """All findings for the files (raises CheckError when the command cannot run)."""
    rules = load_all_rules(rules_files)
    parsed = read_all(list(dict.fromkeys(files)))  # a file named twice is checked once
    return check_parsed(parsed, rules)


def check_parsed(parsed: Sequence[LedesFile], rules: Sequence[Rules]) -> pl.DataFrame:
    """File checks of every file, and the OCG rules on all their invoices together."""
    found = [check_files(parsed)]
    by_format: dict[tuple[str, ...], list[pl.DataFrame]] = {}
    for p in parsed:
        if p.lines.height:
            by_format.setdefault(p.fields, []).append(p.lines)
    if by_format and rules:
        stacked = [pl.concat(frames) for frames in by_format.values()]
        found.append(evaluate(pl.concat(stacked, how="diagonal"), rules))
    ordered = combine_findings(found)
    order = {p.file: i for i, p in enumerate(parsed)}
    return ordered.sort(
        pl.col("file").replace_strict(order, default=len(order), return_dtype=pl.Int64),
        "record_no", "code", nulls_last=False, maintain_order=True,
    )


def unmatched_rules(parsed: Sequence[LedesFile], rules: Sequence[Rules]) -> list[str]:
    """A note for each rules file that applies to no invoice (a mistyped client_id?)."""
    clients: set[str] = set()
    for p in parsed:
        if p.lines.height:
            clients.update(p.lines.get_column("client_id").str.strip_chars().unique().to_list())
    shown = ", ".join(sorted(clients)[:5]) or "none"
    return [
        f"rules file {r.source} (client_id {r.client_id!r}) matched no invoice; "
        f"CLIENT_IDs in the files: {shown}"
        for r in rules if r.client_id not in clients
    ]


def to_records(findings: pl.DataFrame) -> list[dict[str, str | None]]:
    return findings.select(FINDING_KEYS).to_dicts()


def to_json(findings: pl.DataFrame) -> str:
    return json.dumps(to_records(findings), indent=2)


def exit_status(findings: pl.DataFrame) -> int:
    return 1 if findings.filter(pl.col("severity") == "error").height else 0


def summary(findings: pl.DataFrame, n_files: int) -> str:
    errors = findings.filter(pl.col("severity") == "error").height
    warnings = findings.height - errors
    at_risk = sum(
        (Decimal(a) for a in findings.get_column("amount_at_risk").drop_nulls()), Decimal(0)
    )
    files = "file" if n_files == 1 else "files"
    return (f"{errors} error(s), {warnings} warning(s) in {n_files} {files}; "
            f"amount at risk {at_risk:,.2f}")


TABLE_COLUMNS = (("File", "file"), ("Invoice", "invoice_number"), ("Line", "line_item_number"),
                 ("Code", "code"), ("Severity", "severity"), ("At risk", "amount_at_risk"),
                 ("Message", "message"))
RICH_TABLE_MAX_ROWS = 300  # beyond this, plain aligned text: rich's layout gets slow


def print_table(findings: pl.DataFrame, n_files: int) -> None:
    """The findings as a table, then the summary line."""
    if findings.height > RICH_TABLE_MAX_ROWS:
        sys.stdout.write(plain_table(to_records(findings)) + "\n")
        print(summary(findings, n_files))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(width=None if sys.stdout.isatty() else 160)
    if findings.height:
        table = Table(show_lines=False, header_style="bold")
        for name, _ in TABLE_COLUMNS:
            justify = "right" if name in ("Line", "At risk") else "left"
            table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for row in to_records(findings):
            style = "red" if row["severity"] == "error" else "yellow"
            # Text cells: values from the invoice are shown as written, never as markup.
            table.add_row(*(
                Text(row[key] or "", style=style if key == "severity" else "")
                for _, key in TABLE_COLUMNS
            ))
        console.print(table)
    else:
        console.print("No findings: ready to submit.")
    console.print(summary(findings, n_files), markup=False, highlight=False)


def plain_table(records: list[dict[str, str | None]]) -> str:
    """Findings as aligned text columns (the message last, unwrapped)."""
    rows = [[name for name, _ in TABLE_COLUMNS]]
    rows += [[record[key] or "" for _, key in TABLE_COLUMNS] for record in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if name in ("Line", "At risk") else cell.ljust(width)
            for (name, _), cell, width in zip(TABLE_COLUMNS, row, widths, strict=False)
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
