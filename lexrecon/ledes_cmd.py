"""``lexrecon ledes export``: write chosen invoices from the warehouse as LEDES 1998B.

    lexrecon ledes export --invoice N [--invoice N ...] --out FILE
    lexrecon ledes export --client C --period YYYY-MM --out FILE

The file is written with the project's LEDES writer; each INVOICE_TOTAL equals the
warehouse's invoice total, and the file passes ``lexrecon check`` without file findings.
Exit 0: written; 1: written, but some chosen invoices were refused (listed); 2: nothing
written. Documentation: docs/reports.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lexrecon.config import paths


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("ledes", help="LEDES files from the warehouse",
                                   description="LEDES files from the warehouse.")
    sub = parser.add_subparsers(dest="ledes_command", metavar="export")
    export = sub.add_parser(
        "export", help="write chosen invoices as a LEDES 1998B file",
        description="Write invoices from the published warehouse as one LEDES 1998B file.")
    export.add_argument("--invoice", action="append", default=[], metavar="N",
                        help="an invoice number (repeat for several)")
    export.add_argument("--client", metavar="C", help="a client code (with --period)")
    export.add_argument("--period", metavar="YYYY-MM", help="invoice month (with --client)")
    export.add_argument("--out", required=True, metavar="FILE", help="the LEDES file to write")
    export.add_argument("--law-firm-id", default=None,
                        help="LAW_FIRM_ID (default: the one on the firm's submitted LEDES files)")
    export.add_argument("--serving-db", default=None, metavar="FILE",
                        help="published warehouse (default: LEXRECON_SERVING_DB)")
    export.set_defaults(func=run_export)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_export(args: argparse.Namespace) -> int:
    from reports.ledes_export import LedesExportError, export_ledes

    if args.invoice and (args.client or args.period):
        print("lexrecon ledes export: give either --invoice or --client with --period",
              file=sys.stderr)
        return 2
    serving_db = Path(args.serving_db) if args.serving_db else paths().serving_db
    try:
        result = export_ledes(serving_db, args.out, invoices=args.invoice, client=args.client,
                              period=args.period, firm_id=args.law_firm_id)
    except LedesExportError as exc:
        print(f"lexrecon ledes export: {exc}", file=sys.stderr)
        return 2
    total = sum(result.totals.values())
    print(f"wrote {result.path}: {len(result.invoices)} invoice(s), {result.lines} line(s), "
          f"total {total:,.2f}")
    for note in result.adjusted:
        print(f"  adjusted: {note}")
    for number, reason in sorted(result.refused.items()):
        print(f"  refused {number}: {reason}", file=sys.stderr)
    return 1 if result.refused else 0
