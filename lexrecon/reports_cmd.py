"""``lexrecon collections`` and ``lexrecon prebill``: the collections worklist and dunning
drafts, and pre-bill exceptions, from the published warehouse.

    lexrecon collections [--partner TK] [--top N] [--out DIR]
    lexrecon prebill [--rules-dir DIR] [--bill-date YYYY-MM-DD] [--top N] [--out DIR]

``collections`` prints the worklist ranked by payment likelihood (with reasons, next step and
escalation) and how well the score ranked held-out history; with ``--out`` it writes
``worklist.csv``, ``model.json`` and the dunning letter drafts under ``letters/``.
``prebill`` prints the unbilled time that breaks the clients' OCG rules and the uncoded
entries with suggested UTBMS codes (and the suggestion's held-out accuracy); with ``--out``
it writes ``ocg_exceptions.csv``, ``code_suggestions.csv`` and ``model.json``.
Exit 0 on success, 2 when the report cannot be produced. Documentation: docs/reports.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from lexrecon.config import paths


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    col = subparsers.add_parser(
        "collections", help="collections worklist ranked by payment likelihood, with dunning "
                            "letter drafts",
        description="Score open invoices by the likelihood of payment within 30 days (a model "
                    "fitted on the firm's own payment history), explain each score, recommend "
                    "the next step and escalation, and draft dunning letters per stage.")
    col.add_argument("--partner", metavar="TK", default=None,
                     help="only this billing partner's invoices (timekeeper id)")
    col.add_argument("--top", type=int, default=20, help="rows to print (default 20)")
    col.add_argument("--out", metavar="DIR", default=None,
                     help="write worklist.csv, model.json and letters/ here")
    col.add_argument("--serving-db", metavar="FILE", default=None)
    col.set_defaults(func=run_collections)

    pre = subparsers.add_parser(
        "prebill", help="pre-bill exceptions: unbilled time breaking OCG rules, uncoded time "
                        "with suggested UTBMS codes",
        description="Run the clients' OCG rules on unbilled time shaped as LEDES lines, and "
                    "suggest UTBMS task and activity codes for uncoded entries.")
    pre.add_argument("--rules-dir", metavar="DIR", default=None,
                     help="folder of OCG rules files (default: <firm>/ocg)")
    pre.add_argument("--bill-date", metavar="YYYY-MM-DD", default=None,
                     help="the date the bills will carry (default: the latest entry date)")
    pre.add_argument("--top", type=int, default=20, help="rows to print per list (default 20)")
    pre.add_argument("--out", metavar="DIR", default=None,
                     help="write ocg_exceptions.csv, code_suggestions.csv and model.json here")
    pre.add_argument("--serving-db", metavar="FILE", default=None)
    pre.set_defaults(func=run_prebill)


def _serving(args: argparse.Namespace) -> Path:
    return Path(args.serving_db) if args.serving_db else paths().serving_db


def run_collections(args: argparse.Namespace) -> int:
    from reports.collections import CollectionsError, score_worklist
    from reports.dunning import write_letters

    try:
        worklist = score_worklist(_serving(args), partner=args.partner)
    except CollectionsError as exc:
        print(f"lexrecon collections: {exc}", file=sys.stderr)
        return 2
    rows = worklist.rows
    print(f"collections worklist as of {worklist.as_of}: {rows.height} open invoice(s)")
    print(f"score ranking on held-out history: {worklist.evaluation.summary()}")
    for r in rows.head(args.top).iter_rows(named=True):
        print(f"{r['rank']:>4}. {r['invoice_number']:<12} {r['client_code']:<6} "
              f"{r['currency']} {r['open_amount']:>12,.2f}  {r['days_past_due']:>4} d past due  "
              f"p(paid in 30 d) {r['payment_likelihood']:.2f}  {r['stage_label']}")
        if r["reasons_lower"]:
            print(f"       why: {r['reasons_lower']}")
        print(f"       next: {r['next_step']} (escalate to {r['escalate_to']})")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        rows.write_csv(out / "worklist.csv")
        ev = worklist.evaluation
        (out / "model.json").write_text(json.dumps({
            "as_of": str(worklist.as_of), "summary": ev.summary(), "auc": ev.auc,
            "auc_days_past_due_only": ev.auc_days_past_due_only, "train_rows": ev.train_rows,
            "test_rows": ev.test_rows, "train_until": str(ev.train_until),
            "test_from": str(ev.test_from), "positive_rate_test": ev.positive_rate_test,
            "coefficients": ev.coefficients}, indent=2) + "\n")
        letters = write_letters(worklist, out / "letters")
        print(f"wrote {out / 'worklist.csv'}, {out / 'model.json'} and {len(letters)} dunning "
              f"letter draft(s) in {out / 'letters'}")
    return 0


def run_prebill(args: argparse.Namespace) -> int:
    from reports.prebill import PrebillError, load_rules_dir, ocg_exceptions, suggest_codes

    rules_dir = Path(args.rules_dir) if args.rules_dir else paths().firm / "ocg"
    try:
        bill_date = date.fromisoformat(args.bill_date) if args.bill_date else None
    except ValueError:
        print(f"lexrecon prebill: --bill-date {args.bill_date!r} is not YYYY-MM-DD",
              file=sys.stderr)
        return 2
    if not rules_dir.is_dir():
        print(f"lexrecon prebill: no rules folder {rules_dir}; pass --rules-dir",
              file=sys.stderr)
        return 2
    try:
        rules = load_rules_dir(rules_dir)
        exceptions = ocg_exceptions(_serving(args), rules, bill_date)
        codes = suggest_codes(_serving(args))
    except PrebillError as exc:
        print(f"lexrecon prebill: {exc}", file=sys.stderr)
        return 2
    print(f"unbilled time breaking OCG rules ({len(rules)} client rules file(s)): "
          f"{exceptions.height} finding(s)")
    for r in exceptions.head(args.top).iter_rows(named=True):
        print(f"  {r['code']:<18} {r['time_entry_key']:<16} {r['matter_number']} "
              f"{r['timekeeper_id']} {r['entry_date']}  at risk {r['amount_at_risk'] or '-'}: "
              f"{r['message']}")
    print(f"uncoded unbilled entries: {codes.suggestions.height}; suggestion accuracy "
          f"{codes.summary()}")
    for r in codes.suggestions.head(args.top).iter_rows(named=True):
        print(f"  {r['time_entry_key']:<16} {r['suggested_task_code']} "
              f"{r['suggested_activity_code']} (confidence {r['confidence']:.2f}): "
              f"{(r['narrative'] or '')[:70]}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        exceptions.write_csv(out / "ocg_exceptions.csv")
        codes.suggestions.write_csv(out / "code_suggestions.csv")
        (out / "model.json").write_text(json.dumps({
            "summary": codes.summary(), "held_out": codes.held_out,
            "trained_on": codes.trained_on, "task_accuracy": codes.task_accuracy,
            "activity_accuracy": codes.activity_accuracy, "pair_accuracy": codes.pair_accuracy,
            "majority_pair_accuracy": codes.majority_pair_accuracy}, indent=2) + "\n")
        print(f"wrote {out / 'ocg_exceptions.csv'}, {out / 'code_suggestions.csv'}, "
              f"{out / 'model.json'}")
    return 0
