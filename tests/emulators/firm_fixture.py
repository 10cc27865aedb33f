"""A tiny firm written with the contract's column names (docs/demo-firm.md), for the tests."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

BASE = dt.datetime(2026, 1, 1, 9, 0, 0)
N_ACTIVITIES = 47
N_TIMEENTRIES = 23
N_INVOICES = 12


def _ts(i: int) -> dt.datetime:
    return BASE + dt.timedelta(hours=i)


def _iso_offset(i: int) -> str:
    # Actionstep text timestamps with an offset (+00:00 in winter London)
    return (_ts(i)).strftime("%Y-%m-%dT%H:%M:%S") + ("+00:00" if i % 2 else "+01:00")


def write_firm(root: Path) -> Path:
    for d in ("clio", "actionstep", "ebilling"):
        (root / d).mkdir(parents=True, exist_ok=True)
    money = pl.Decimal(18, 2)
    qty = pl.Decimal(18, 4)

    users = pl.DataFrame({
        "id": [1, 2, 3], "name": ["Ann Hale", "Bob Marsh", "Cy Doe"],
        "first_name": ["Ann", "Bob", "Cy"], "last_name": ["Hale", "Marsh", "Doe"],
        "email": ["a@x", "b@x", "c@x"], "timekeeper_id": ["NY-TK0001", "NY-TK0002", "NY-TK0003"],
        "classification": ["PARTNR", "ASSOC", "PARALG"],
        "subscription_type": ["Attorney", "Attorney", "NonAttorney"],
        "rate": [Decimal("950.00"), Decimal("450.50"), Decimal("200.00")],
        "enabled": [True, True, False],
        "created_at": [_ts(0)] * 3, "updated_at": [_ts(1), _ts(2), _ts(3)],
    }, schema_overrides={"rate": money})
    users.write_parquet(root / "clio/users.parquet")

    matters = pl.DataFrame({
        "id": [10, 11], "display_number": ["C0001-0001", "C0001-0002"],
        "description": ["Acme v. Roe", 'Deal "Blue"'], "status": ["Open", "Closed"],
        "billing_method": ["hourly", "flat"],
        "flat_fee": [None, Decimal("5000.00")], "billable": [True, True],
        "open_date": [dt.date(2025, 1, 2), dt.date(2025, 3, 4)],
        "close_date": [None, dt.date(2026, 1, 5)],
        "client_reference": ["ACME-1", None], "practice_area": ["litigation", "transactional"],
        "client__id": [100, 100], "responsible_attorney__id": [1, 2],
        "originating_attorney__id": [1, 1], "updated_at": [_ts(5), _ts(6)],
    }, schema_overrides={"flat_fee": money})
    matters.write_parquet(root / "clio/matters.parquet")

    n = N_ACTIVITIES
    # ids deliberately not in file order, with gaps
    ids = [1000 + 3 * ((i * 17) % n) for i in range(n)]
    activities = pl.DataFrame({
        "id": ids, "etag": [f'"{i}"' for i in ids],
        "type": ["TimeEntry" if i % 5 else "ExpenseEntry" for i in range(n)],
        "date": [dt.date(2026, 1, 1) + dt.timedelta(days=i % 28) for i in range(n)],
        "quantity": [Decimal(3600 * (1 + i % 4)) if i % 5 else Decimal(2) for i in range(n)],
        "quantity_in_hours": [Decimal(1 + i % 4) if i % 5 else None for i in range(n)],
        "price": [Decimal("450.50") if i % 5 else Decimal("12.25") for i in range(n)],
        "total": [Decimal("450.50") * (1 + i % 4) if i % 5 else Decimal("24.50")
                  for i in range(n)],
        "note": [f"Drafted memo {i}" for i in range(n)],
        "non_billable": [False] * n, "no_charge": [i == 3 for i in range(n)],
        "status": ["billed" if i % 3 == 0 else "unbilled" for i in range(n)],
        "utbms_task__code": ["L110"] * n, "utbms_activity__code": ["A103"] * n,
        "utbms_expense__code": [None if i % 5 else "E101" for i in range(n)],
        "matter__id": [10 + i % 2 for i in range(n)], "user__id": [1 + i % 3 for i in range(n)],
        "bill__id": [500 if i % 3 == 0 else None for i in range(n)],
        "created_at": [_ts(i) for i in range(n)],
        "updated_at": [_ts(10 + (i * 7) % n) for i in range(n)],
    }, schema_overrides={"quantity": qty, "quantity_in_hours": qty, "price": money,
                         "total": money})
    # the generator writes UTC-aware timestamps; users above stay naive (both must work)
    activities = activities.with_columns(pl.col("created_at", "updated_at")
                                         .dt.replace_time_zone("UTC"))
    activities.write_parquet(root / "clio/activities.parquet")

    credit_memos = pl.DataFrame(
        schema={"id": pl.Int64, "date": pl.Date, "amount": money, "reason": pl.String,
                "bill__id": pl.Int64, "updated_at": pl.Datetime("us", "UTC")})
    credit_memos.write_parquet(root / "clio/credit_memos.parquet")

    bills = pl.DataFrame({
        "id": [500, 501], "number": ["NY-0001", "NY-0002"],
        "issued_at": [dt.date(2026, 2, 1)] * 2, "due_at": [dt.date(2026, 3, 3)] * 2,
        "state": ["awaiting_payment", "paid"], "type": ["MatterBill"] * 2,
        "sub_total": [Decimal("1234.50"), Decimal("0.10")], "tax_sum": [Decimal("0.00")] * 2,
        "total": [Decimal("1234.50"), Decimal("0.10")], "currency": ["USD"] * 2,
        "split_percentage": [Decimal("100.00"), Decimal("60.00")],
        "client__id": [100, 100], "matter__id": [10, 11], "updated_at": [_ts(3), _ts(4)],
    }, schema_overrides={"sub_total": money, "tax_sum": money, "total": money,
                         "split_percentage": money})
    bills.write_parquet(root / "clio/bills.parquet")

    m = N_TIMEENTRIES
    timeentries = pl.DataFrame({
        "id": list(range(1, m + 1)),
        "timestampDate": [f"2026-01-{1 + i % 28:02d}" for i in range(m)],
        "description": [f"Call with client {i}" for i in range(m)],
        "actualHours": [Decimal("1.2500")] * m, "billableHours": [Decimal("1.3000")] * m,
        "billingBehavior": ["Bill"] * m, "rateUnitPrice": [Decimal("300.00")] * m,
        "billableAmount": [Decimal("390.00")] * m,
        "isBillable": ["T" if i % 4 else "F" for i in range(m)],
        "links__action": [7 + i % 2 for i in range(m)], "links__owner": [3] * m,
        "links__utbmsTaskCode": ["L120"] * m, "links__utbmsActivityCode": ["A104"] * m,
        "links__bill": [None if i % 2 else 90 for i in range(m)],
        "modifiedTimestamp": [_iso_offset(i) for i in range(m)],
    }, schema_overrides={"actualHours": qty, "billableHours": qty, "rateUnitPrice": money,
                         "billableAmount": money})
    timeentries.write_parquet(root / "actionstep/timeentries.parquet")

    actions = pl.DataFrame({
        "id": [7, 8], "name": ["Widget dispute", "Lease"], "reference": ["C0002-0001",
                                                                          "C0002-0002"],
        "status": ["Active", "Closed"], "isBillableOverride": ["T", "F"],
        "createdTimestamp": [_iso_offset(0)] * 2,
        "modifiedTimestamp": [_iso_offset(1), _iso_offset(2)],
        "links__primaryParticipants": [3, 3], "links__assignedTo": [4, 4],
        "links__billingPartner": [4, 4],
    })
    actions.write_parquet(root / "actionstep/actions.parquet")

    k = N_INVOICES
    invoices = pl.DataFrame({
        "invoiceId": [f"INV-{i:04d}" for i in range(k)],
        "invoiceNumber": [f"NY-{i:04d}" for i in range(k)],
        "platform": ["legal_tracker" if i % 2 else "brightflag" for i in range(k)],
        "firmClientId": ["C0001"] * k, "lawFirmMatterId": ["C0001-0001"] * k,
        "clientMatterId": ["ACME-1"] * k,
        "invoiceDate": [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(k)],
        "submittedAt": [_ts(i) for i in range(k)],
        "status": ["Rejected" if i == 4 else "Approved" for i in range(k)],
        "statusAt": [_ts(i + 1) for i in range(k)], "currency": ["USD"] * k,
        "submittedTotal": [Decimal("1000.00") + i for i in range(k)],
        "approvedTotal": [Decimal("950.55") + i for i in range(k)],
        "lastModified": [_ts(20 + i) for i in range(k)],
    }, schema_overrides={"submittedTotal": money, "approvedTotal": money})
    invoices.write_parquet(root / "ebilling/invoices.parquet")

    adjustments = pl.DataFrame({
        "id": [1, 2, 3], "invoiceId": ["INV-0001", "INV-0001", "INV-0003"],
        "invoiceNumber": ["NY-0001", "NY-0001", "NY-0003"], "lineItemNumber": [1, 3, 2],
        "type": ["fee", "fee", "expense"],
        "amount": [Decimal("-55.00"), Decimal("-0.45"), Decimal("-12.25")],
        "reason": ["Fee - Excessive time", "Block billing", "Expense - Not allowed"],
        "adjusterName": ["Pat Review"] * 3, "dateTime": [_ts(30)] * 3,
        "lastModified": [_ts(30), _ts(31), _ts(32)],
    }, schema_overrides={"amount": money})
    adjustments.write_parquet(root / "ebilling/adjustments.parquet")

    status_history = pl.DataFrame({
        "id": [1, 2], "invoiceId": ["INV-0004", "INV-0004"],
        "invoiceNumber": ["NY-0004", "NY-0004"], "status": ["Submitted", "Rejected"],
        "at": [_ts(4), _ts(5)], "reasonText": [None, "Timekeeper not approved"],
        "comment": [None, "see OCG 3.1"], "lastModified": [_ts(4), _ts(5)],
    })
    status_history.write_parquet(root / "ebilling/status_history.parquet")

    payments = pl.DataFrame({
        "paymentNumber": ["P-1", "P-2"], "invoiceNumber": ["NY-0001", "NY-0002"],
        "paymentDate": [dt.date(2026, 3, 1)] * 2,
        "amount": [Decimal("950.55"), Decimal("951.55")], "currency": ["USD"] * 2,
        "status": ["Paid"] * 2, "lastModified": [_ts(40), _ts(41)],
    }, schema_overrides={"amount": money})
    payments.write_parquet(root / "ebilling/payments.parquet")
    return root
