"""Dunning letter drafts per client and stage, for the billing partner to review.

``write_letters(worklist, out_dir) -> list[Path]`` groups the scored worklist
(:func:`reports.collections.score_worklist`) by client and dunning stage (1 reminder,
2 second notice, 3 final notice, 4 collections committee; invoices not yet due get no letter)
and writes one Markdown draft per group plus ``index.csv``. Every draft is marked DRAFT and
names the partner who must approve it; nothing is sent. The wording hardens with the stage;
e-billed invoices that were rejected are listed apart, since the firm owes the next move.
"""
from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from reports.collections import STAGES, Worklist

OPENINGS = {
    1: ("Our records show that the invoice(s) below are now past their due date. We would be "
        "grateful if you could arrange payment, or let us know if anything is holding it up."),
    2: ("We wrote recently about the invoice(s) below, which remain unpaid more than 30 days "
        "after their due date. Please arrange payment within 14 days, or call me so that we "
        "can resolve any question about the charges."),
    3: ("Despite our earlier reminders, the invoice(s) below remain unpaid more than 60 days "
        "after their due date. Unless payment is received within 10 days, we will need to "
        "discuss the position with you directly, including work in progress for you."),
    4: ("The invoice(s) below are more than 90 days overdue. The matter has been referred to "
        "the firm's collections committee. Please contact me within 7 days to agree how the "
        "balance will be settled."),
}


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def letter_text(client_name: str, client_code: str, stage: int, partner: str,
                rows: list[dict[str, Any]], as_of: date) -> str:
    rejected = [r for r in rows if r.get("ebilling_status") == "Rejected"]
    payable = [r for r in rows if r.get("ebilling_status") != "Rejected"]
    by_currency: dict[str, Decimal] = {}
    for r in payable:
        by_currency[r["currency"]] = by_currency.get(r["currency"], Decimal(0)) + Decimal(
            str(r["open_amount"]))
    lines = [
        f"DRAFT for review by {partner} (billing partner) - not sent",
        "",
        f"# {STAGES[stage][0]}: {client_name} ({client_code})",
        "",
        f"Statement date: {as_of.isoformat()}",
        "",
        f"Dear {client_name} accounts payable team,",
        "",
        OPENINGS[stage],
        "",
    ]
    if payable:
        lines += ["| Invoice | Matter | Invoice date | Due date | Days overdue | Open |",
                  "|---|---|---|---|---:|---:|"]
        lines += [f"| {r['invoice_number']} | {r['matter_number']} | {r['invoice_date']} | "
                  f"{r['due_date']} | {r['days_past_due']} | {r['currency']} "
                  f"{_money(r['open_amount'])} |" for r in payable]
        lines += ["", "Total outstanding: " + ", ".join(
            f"{cur} {_money(v)}" for cur, v in sorted(by_currency.items())), ""]
    if rejected:
        lines += [("The following invoice(s) were rejected on your e-billing platform. We are "
                   "correcting them and will resubmit; no payment is requested for them until "
                   "then:"), ""]
        lines += [f"- {r['invoice_number']} ({r['currency']} {_money(r['open_amount'])})"
                  for r in rejected]
        lines.append("")
    lines += [("If payment has already been made, please accept our thanks and disregard "
               "this letter."), "", "Yours sincerely,", "", partner, "", "---",
              "Reviewer notes (internal, remove before sending):"]
    for r in rows:
        lines.append(f"- {r['invoice_number']}: payment likelihood {r['payment_likelihood']:.0%};"
                     f" next step: {r['next_step']}; escalate to {r['escalate_to']}"
                     + (f"; why: {r['reasons_lower']}" if r.get("reasons_lower") else ""))
    return "\n".join(lines) + "\n"


def write_letters(worklist: Worklist, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = worklist.rows.filter(pl.col("dunning_stage") >= 1)
    written: list[Path] = []
    index: list[dict[str, Any]] = []
    groups = rows.partition_by(["client_code", "dunning_stage"], as_dict=True,
                               maintain_order=True)
    for key in sorted(groups, key=lambda k: (str(k[0]), int(k[1]))):
        client_code, stage = str(key[0]), int(key[1])
        group = groups[key].sort("invoice_number").to_dicts()
        first = group[0]
        client_name = first.get("client_name") or client_code
        partner = first.get("billing_partner_name") or first.get(
            "billing_partner_timekeeper_id") or "the billing partner"
        path = out / f"stage{stage}_{client_code}.md"
        path.write_text(letter_text(client_name, client_code, stage, partner, group,
                                    worklist.as_of), encoding="utf-8")
        written.append(path)
        index.append({"file": path.name, "client_code": client_code, "client_name": client_name,
                      "stage": stage, "stage_label": STAGES[stage][0],
                      "billing_partner": partner, "invoices": len(group),
                      "invoice_numbers": " ".join(r["invoice_number"] for r in group)})
    with open(out / "index.csv", "w", newline="", encoding="utf-8") as fh:
        fields = ["file", "client_code", "client_name", "stage", "stage_label",
                  "billing_partner", "invoices", "invoice_numbers"]
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(index)
    return written
