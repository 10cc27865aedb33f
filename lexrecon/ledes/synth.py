"""Synthetic but realistic LEDES 1998B invoice files and matching rules files (benchmarks).

``write_sample_invoice_file(path, n_lines, seed, client_id)`` writes ``n_lines`` line items
spread over many monthly matter invoices of one client: UTBMS-coded fees by some forty
timekeepers billed at or under their caps, expenses, the odd invoice-level discount, and a
few deliberate breaches (about 1 line in 150: a rate over the cap, a vague or block-billed
narrative, admin work, travel at full rate, a disallowed expense, an unapproved timekeeper, a
quarter-hour entry, a duplicated entry, a late entry). Totals always tie, so LEDES file
checks find nothing but the odd DAILY_MAX day. The same seed gives the same file.

``sample_rules(client_id)`` is the matching rules mapping and
``write_sample_rules_file(path, client_id)`` writes it as YAML.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from lexrecon.ledes.fields import FORMAT_1998B
from lexrecon.ledes.writer import write_ledes_file
from lexrecon.ocg.rules import rules_yaml

CENT = Decimal("0.01")
LAW_FIRM_ID = "24-6437381"
CLASS_RATES = {"PARTNR": (700, 900), "ASSOC": (350, 600), "PARALG": (150, 250)}
CLASS_CAPS = {"PARTNR": Decimal("900.00"), "ASSOC": Decimal("600.00"),
              "PARALG": Decimal("250.00")}
SURNAMES = ("Arnsley", "Beaster", "Chen", "Duarte", "Eklund", "Farouk", "Garcia", "Huang",
            "Ibsen", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor",
            "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka")
GIVEN = ("Robert", "John", "Maria", "Aisha", "Tom", "Priya", "Lena", "Omar", "Grace", "Ivan")
TASKS = ("L110", "L120", "L130", "L140", "L160", "L210", "L230", "L240", "L250", "L310",
         "L320", "L330", "L340", "L350", "L410", "L430", "L440", "L450", "L510", "L520")
ACTIVITIES = ("A101", "A102", "A103", "A104", "A105", "A106", "A107", "A108", "A109")
NARRATIVES = (
    "Draft motion to compel production of custodial emails",
    "Review opposing counsel's responses to second set of interrogatories",
    "Prepare outline for deposition of plaintiff's damages expert",
    "Research case law on spoliation sanctions in the Seventh Circuit",
    "Telephone conference with client regarding settlement authority",
    "Revise summary judgment brief per partner comments",
    "Analyze produced invoices for pricing discrepancies",
    "Prepare witness binder for fact witness preparation session",
    "Attend hearing on motion to dismiss and report to client",
    "Draft privilege log entries for second production volume",
    "Review and annotate deposition transcript of plant manager",
    "Correspond with expert regarding supplemental report deadlines",
    "Draft mediation statement addressing liability and damages",
    "Confer with co-counsel regarding joint defense strategy",
    "Prepare exhibits list for pretrial conference submission",
)
EXPENSES = {"E101": ("Photocopies of trial exhibits", Decimal("0.10")),
            "E106": ("Online legal research charges", Decimal("45.00")),
            "E107": ("Courier delivery to chambers", Decimal("32.50")),
            "E108": ("Postage for document production", Decimal("8.75")),
            "E112": ("Court filing fee", Decimal("350.00")),
            "E115": ("Deposition transcript of witness", Decimal("612.40"))}
BREACHES = ("rate", "vague", "block", "admin", "travel", "expense", "unapproved", "increment",
            "duplicate", "late", "task")


def sample_rules(client_id: str) -> dict[str, Any]:
    """The rules mapping that goes with the synthetic invoices (money as Decimal)."""
    return {
        "client_id": client_id,
        "client_name": f"Client {client_id}",
        "billing_increment_hours": Decimal("0.1"),
        "max_daily_hours": Decimal(10),
        "submission_deadline_days": 90,
        "rate_caps": {"by_classification": dict(CLASS_CAPS),
                      "by_timekeeper": {"TK-7": Decimal("950.00")}},
        "approved_timekeepers": [f"TK-{i}" for i in range(1, 39)],
        "allowed_task_codes": ["L1*", "L2*", "L3*", "L4*", "L5*"],
        "allowed_activity_codes": ["A1*"],
        "disallowed_expense_codes": ["E103", "E104", "E105", "E111"],
        "travel": {"keywords": ["travel"], "rate_factor": Decimal("0.5")},
        "vague": {"min_words": 4, "phrases": ["attention to file", "work on matter",
                                              "review file", "research", "conference",
                                              "follow up"]},
        "block_billing": {"max_tasks": 1},
        "admin": {"keywords": ["scan", "photocop", "bates", "calendar", "file documents",
                               "organize file", "schedule"]},
        "duplicate_lines": True,
    }


def write_sample_rules_file(path: str | Path, client_id: str) -> None:
    Path(path).write_text(rules_yaml(sample_rules(client_id)), encoding="utf-8")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _timekeepers(rng: random.Random) -> list[dict[str, Any]]:
    people = []
    for i in range(1, 41):
        kind = "PARTNR" if i % 5 == 0 or i == 7 else ("PARALG" if i % 4 == 0 else "ASSOC")
        low, high = CLASS_RATES[kind]
        rate = Decimal(rng.randrange(low, high + 1, 25))
        people.append({"id": f"TK-{i}", "class": kind, "rate": rate,
                       "name": f"{rng.choice(SURNAMES)}, {rng.choice(GIVEN)}"})
    return people


def _working_days(first: date) -> list[date]:
    days, day = [], first
    while day.month == first.month:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _fee(rng: random.Random, tk: dict[str, Any], day: date, breach: str | None
         ) -> dict[str, Any]:
    units = Decimal(rng.randint(1, 15)) / 10
    rate: Decimal = tk["rate"]
    task, activity = rng.choice(TASKS), rng.choice(ACTIVITIES)
    text = rng.choice(NARRATIVES)
    if breach == "rate":
        rate = CLASS_CAPS[tk["class"]] + 75
    elif breach == "vague":
        text = rng.choice(("Review file", "Attention to file.", "Research", "Work on matter"))
    elif breach == "block":
        text = text + "; " + rng.choice(NARRATIVES).lower()
    elif breach == "admin":
        text = "Scan and bates-label production documents for upload"
    elif breach == "travel":
        text = "Travel to Chicago for deposition of plant manager"
    elif breach == "increment":
        units = Decimal("0.25")
    elif breach == "task":
        task = "L610"
    elif rng.random() < 0.01:
        text, rate = "Non-working travel to client site for interviews", rate / 2
    return {"type": "F", "units": units, "cost": rate, "task": task, "activity": activity,
            "expense": "", "tk": tk, "text": text, "day": day}


def _expense(rng: random.Random, day: date, breach: str | None) -> dict[str, Any]:
    code = "E111" if breach == "expense" else rng.choice(sorted(EXPENSES))
    text, cost = ("Working lunch with client team", Decimal("86.40")) if code == "E111" \
        else EXPENSES[code]
    units = Decimal(rng.randint(20, 400)) if code == "E101" else Decimal(1)
    return {"type": "E", "units": units, "cost": cost, "task": "", "activity": "",
            "expense": code, "tk": None, "text": text, "day": day}


def sample_invoice_rows(n_lines: int, seed: int, client_id: str) -> list[dict[str, str]]:
    """The line-item rows (keyed by LEDES field name) of the synthetic file."""
    rng = random.Random(seed)
    people = _timekeepers(rng)
    approved = people[:38]
    months = max(1, -(-n_lines // 3000))
    matters = [f"M-{1000 + i}" for i in range(max(1, n_lines // (50 * months)) + 1)]
    rows: list[dict[str, str]] = []
    invoice_no = 0
    while len(rows) < n_lines:
        month = invoice_no // len(matters) % months
        matter = matters[invoice_no % len(matters)]
        invoice_no += 1
        first = date(2024 + month // 12, month % 12 + 1, 1)
        days = _working_days(first)
        end = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        invoice_date = end + timedelta(days=rng.randint(5, 20))
        team = rng.sample(approved, 5)
        items: list[dict[str, Any]] = []
        for _ in range(min(rng.randint(20, 80), n_lines - len(rows))):
            breach = rng.choice(BREACHES) if rng.random() < 1 / 150 else None
            day = rng.choice(days)
            if breach == "duplicate" and items and items[-1]["type"] == "F":
                items.append(dict(items[-1]))
                continue
            if breach == "late":
                day = invoice_date - timedelta(days=rng.randint(91, 120))
            if rng.random() < 0.15 or breach == "expense":
                items.append(_expense(rng, day, breach))
            else:
                tk = rng.choice(people[38:]) if breach == "unapproved" else rng.choice(team)
                items.append(_fee(rng, tk, day, breach))
        if len(items) > 10 and len(rows) + len(items) < n_lines and rng.random() < 0.1:
            items.append({"type": "IF", "units": None, "cost": None, "task": "", "activity": "",
                          "expense": "", "tk": None, "text": "Volume discount", "day": end})
        rows.extend(_invoice_rows(items, f"INV-{invoice_no:06d}", client_id, matter, first,
                                  end, invoice_date))
    return rows


def _invoice_rows(items: list[dict[str, Any]], number: str, client_id: str, matter: str,
                  start: date, end: date, invoice_date: date) -> list[dict[str, str]]:
    totals: list[Decimal] = []
    for item in items:
        if item["type"] == "IF":
            totals.append(-(sum(totals, Decimal(0)) * Decimal("0.05")).quantize(CENT))
        else:
            totals.append((item["units"] * item["cost"]).quantize(CENT, rounding=ROUND_HALF_UP))
    invoice_total = _money(sum(totals, Decimal(0)))
    rows = []
    for n, (item, total) in enumerate(zip(items, totals, strict=True), start=1):
        tk = item["tk"] or {}
        adjustment = _money(total) if item["type"] == "IF" else "0"
        row = {
            "INVOICE_DATE": invoice_date.strftime("%Y%m%d"), "INVOICE_NUMBER": number,
            "CLIENT_ID": client_id, "LAW_FIRM_MATTER_ID": matter,
            "INVOICE_TOTAL": invoice_total, "BILLING_START_DATE": start.strftime("%Y%m%d"),
            "BILLING_END_DATE": end.strftime("%Y%m%d"),
            "INVOICE_DESCRIPTION": "For professional services rendered",
            "LINE_ITEM_NUMBER": str(n), "EXP/FEE/INV_ADJ_TYPE": item["type"],
            "LINE_ITEM_NUMBER_OF_UNITS": "" if item["units"] is None else str(item["units"]),
            "LINE_ITEM_ADJUSTMENT_AMOUNT": adjustment, "LINE_ITEM_TOTAL": _money(total),
            "LINE_ITEM_DATE": item["day"].strftime("%Y%m%d"),
            "LINE_ITEM_TASK_CODE": item["task"], "LINE_ITEM_EXPENSE_CODE": item["expense"],
            "LINE_ITEM_ACTIVITY_CODE": item["activity"], "TIMEKEEPER_ID": tk.get("id", ""),
            "LINE_ITEM_DESCRIPTION": item["text"], "LAW_FIRM_ID": LAW_FIRM_ID,
            "LINE_ITEM_UNIT_COST": "" if item["cost"] is None else _money(item["cost"]),
            "TIMEKEEPER_NAME": tk.get("name", ""),
            "TIMEKEEPER_CLASSIFICATION": tk.get("class", ""),
            "CLIENT_MATTER_ID": f"{client_id}-{matter}",
        }
        rows.append(row)
    return rows


def write_sample_invoice_file(path: str | Path, n_lines: int, seed: int, client_id: str
                              ) -> None:
    """Write a LEDES 1998B file of ``n_lines`` synthetic line items for ``client_id``."""
    write_ledes_file(path, sample_invoice_rows(n_lines, seed, client_id), FORMAT_1998B)
