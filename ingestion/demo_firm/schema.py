"""Every table of the demo firm, declared once (docs/demo-firm.md is the same contract in prose).

Emulators and dlt sources import this: columns in order with their Arrow/Polars dtypes, the
primary key (always the first column), the update cursor column and the money columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MONEY = pl.Decimal(18, 2)
LEDES_MONEY = pl.Decimal(18, 4)
QTY = pl.Decimal(18, 4)
TS = pl.Datetime("us", "UTC")
S, I, D, B = pl.String, pl.Int64, pl.Date, pl.Boolean


@dataclass(frozen=True)
class Table:
    system: str                      # folder: clio, actionstep, ebilling (sales is SQLite)
    name: str
    columns: tuple[tuple[str, pl.DataType], ...]
    cursor: str

    @property
    def primary_key(self) -> str:
        return self.columns[0][0]

    @property
    def money_columns(self) -> tuple[str, ...]:
        return tuple(c for c, t in self.columns if t in (MONEY, LEDES_MONEY))

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return dict(self.columns)

    @property
    def path(self) -> str:
        return f"{self.system}/{self.name}.parquet"


def _t(system: str, name: str, cursor: str, cols: str, types: dict[str, pl.DataType]) -> Table:
    names = cols.split()
    return Table(system, name, tuple((c, types.get(c, S)) for c in names), cursor)


CLIO = "clio"
AS = "actionstep"
EB = "ebilling"

TABLES: dict[str, Table] = {f"{t.system}.{t.name}": t for t in [
    _t(CLIO, "users", "updated_at",
       "id name first_name last_name email timekeeper_id classification subscription_type rate "
       "enabled created_at updated_at",
       {"id": I, "rate": MONEY, "enabled": B, "created_at": TS, "updated_at": TS}),
    _t(CLIO, "activity_rates", "updated_at", "id user__id rate effective_date updated_at",
       {"id": I, "user__id": I, "rate": MONEY, "effective_date": D, "updated_at": TS}),
    _t(CLIO, "contacts", "updated_at",
       "id name type is_client client_code ledes_client_id currency ebilling_platform "
       "payment_terms_days updated_at",
       {"id": I, "is_client": B, "payment_terms_days": I, "updated_at": TS}),
    _t(CLIO, "matters", "updated_at",
       "id display_number description status billing_method flat_fee billable open_date "
       "close_date client_reference practice_area client__id responsible_attorney__id "
       "originating_attorney__id updated_at",
       {"id": I, "flat_fee": MONEY, "billable": B, "open_date": D, "close_date": D,
        "client__id": I, "responsible_attorney__id": I, "originating_attorney__id": I,
        "updated_at": TS}),
    _t(CLIO, "calendar_entries", "updated_at",
       "id summary start_at end_at matter__id calendar_owner__id updated_at",
       {"id": I, "start_at": TS, "end_at": TS, "matter__id": I, "calendar_owner__id": I,
        "updated_at": TS}),
    _t(CLIO, "activities", "updated_at",
       "id etag type date quantity quantity_in_hours price total note non_billable no_charge "
       "status utbms_task__code utbms_activity__code utbms_expense__code matter__id user__id "
       "bill__id created_at updated_at",
       {"id": I, "date": D, "quantity": QTY, "quantity_in_hours": QTY, "price": MONEY,
        "total": MONEY, "non_billable": B, "no_charge": B, "matter__id": I, "user__id": I,
        "bill__id": I, "created_at": TS, "updated_at": TS}),
    _t(CLIO, "bills", "updated_at",
       "id number issued_at due_at start_at end_at state type sub_total tax_sum total paid due "
       "balance currency split_percentage client__id matter__id created_at updated_at",
       {"id": I, "issued_at": D, "due_at": D, "start_at": D, "end_at": D, "sub_total": MONEY,
        "tax_sum": MONEY, "total": MONEY, "paid": MONEY, "due": MONEY, "balance": MONEY,
        "split_percentage": MONEY, "client__id": I, "matter__id": I, "created_at": TS,
        "updated_at": TS}),
    _t(CLIO, "line_items", "updated_at",
       "id bill__id activity__id matter__id user__id type kind line_number date description "
       "quantity price discount total updated_at",
       {"id": I, "bill__id": I, "activity__id": I, "matter__id": I, "user__id": I,
        "line_number": I, "date": D, "quantity": QTY, "price": MONEY, "discount": MONEY,
        "total": MONEY, "updated_at": TS}),
    _t(CLIO, "allocations", "updated_at",
       "id date amount payment_type voided_at bill__id contact__id updated_at",
       {"id": I, "date": D, "amount": MONEY, "voided_at": TS, "bill__id": I, "contact__id": I,
        "updated_at": TS}),
    _t(CLIO, "credit_memos", "updated_at", "id date amount reason bill__id updated_at",
       {"id": I, "date": D, "amount": MONEY, "bill__id": I, "updated_at": TS}),
    # Actionstep: timestamps are ISO-8601 text with an offset, booleans "T"/"F"
    _t(AS, "participants", "modifiedTimestamp",
       "id displayName firstName lastName email isCompany isClient isTimekeeper timekeeperId "
       "classification clientCode ledesClientId currency ebillingPlatform paymentTermsDays "
       "modifiedTimestamp",
       {"id": I, "paymentTermsDays": I}),
    _t(AS, "rates", "modifiedTimestamp", "id links__owner rate effectiveDate modifiedTimestamp",
       {"id": I, "links__owner": I, "rate": MONEY, "effectiveDate": D}),
    _t(AS, "actions", "modifiedTimestamp",
       "id name reference status billingMethod fixedFee isBillableOverride theirReference "
       "practiceArea createdTimestamp modifiedTimestamp links__primaryParticipants "
       "links__assignedTo links__billingPartner",
       {"id": I, "fixedFee": MONEY, "links__primaryParticipants": I, "links__assignedTo": I,
        "links__billingPartner": I}),
    _t(AS, "timeentries", "modifiedTimestamp",
       "id timestampDate description actualHours billableHours billingBehavior rateUnitPrice "
       "billableAmount isBillable links__action links__owner links__utbmsTaskCode "
       "links__utbmsActivityCode links__bill modifiedTimestamp",
       {"id": I, "timestampDate": D, "actualHours": QTY, "billableHours": QTY,
        "rateUnitPrice": MONEY, "billableAmount": MONEY, "links__action": I, "links__owner": I,
        "links__bill": I}),
    _t(AS, "disbursements", "modifiedTimestamp",
       "id date description quantity unitPrice amount links__action links__utbmsExpenseCode "
       "links__bill modifiedTimestamp",
       {"id": I, "date": D, "quantity": QTY, "unitPrice": MONEY, "amount": MONEY,
        "links__action": I, "links__bill": I}),
    _t(AS, "bills", "modifiedTimestamp",
       "id ourReference status currency invoiceDate dueDate billingStartDate billingEndDate "
       "totalExclusive totalSalesTax totalInclusive totalPaid totalDue splitPercentage "
       "links__action links__theirParticipant modifiedTimestamp",
       {"id": I, "invoiceDate": D, "dueDate": D, "billingStartDate": D, "billingEndDate": D,
        "totalExclusive": MONEY, "totalSalesTax": MONEY, "totalInclusive": MONEY,
        "totalPaid": MONEY, "totalDue": MONEY, "splitPercentage": MONEY, "links__action": I,
        "links__theirParticipant": I}),
    _t(AS, "billlines", "modifiedTimestamp",
       "id links__bill links__timeentry links__disbursement lineNumber lineType date description "
       "quantity unitPrice adjustment amount modifiedTimestamp",
       {"id": I, "links__bill": I, "links__timeentry": I, "links__disbursement": I,
        "lineNumber": I, "date": D, "quantity": QTY, "unitPrice": MONEY, "adjustment": MONEY,
        "amount": MONEY}),
    _t(AS, "receipts", "modifiedTimestamp", "id date amount links__bill modifiedTimestamp",
       {"id": I, "date": D, "amount": MONEY, "links__bill": I}),
    _t(AS, "writeoffs", "modifiedTimestamp", "id date amount reason links__bill modifiedTimestamp",
       {"id": I, "date": D, "amount": MONEY, "links__bill": I}),
    _t(EB, "invoices", "lastModified",
       "invoiceId invoiceNumber platform firmClientId lawFirmMatterId clientMatterId invoiceDate "
       "submittedAt status statusAt currency submittedTotal approvedTotal lastModified",
       {"invoiceId": I, "invoiceDate": D, "submittedAt": TS, "statusAt": TS,
        "submittedTotal": MONEY, "approvedTotal": MONEY, "lastModified": TS}),
    _t(EB, "status_history", "lastModified",
       "id invoiceId invoiceNumber status at reasonText comment lastModified",
       {"id": I, "invoiceId": I, "at": TS, "lastModified": TS}),
    _t(EB, "adjustments", "lastModified",
       "id invoiceId invoiceNumber lineItemNumber type amount reason adjusterName dateTime "
       "lastModified",
       {"id": I, "invoiceId": I, "amount": MONEY, "dateTime": TS, "lastModified": TS}),
    _t(EB, "appeals", "lastModified",
       "id invoiceId invoiceNumber adjustmentId submittedAt outcome amountRecovered lastModified",
       {"id": I, "invoiceId": I, "adjustmentId": I, "submittedAt": TS, "amountRecovered": MONEY,
        "lastModified": TS}),
    _t(EB, "payments", "lastModified",
       "paymentNumber invoiceNumber paymentDate amount currency status lastModified",
       {"paymentDate": D, "amount": MONEY, "lastModified": TS}),
]}

GROUND_TRUTH = Table("", "ground_truth", tuple((c, t) for c, t in [
    ("anomaly_id", S), ("kind", S), ("system", S), ("invoice_number", S),
    ("line_item_number", S), ("booking_id", I), ("timekeeper_id", S), ("matter_number", S),
    ("entry_date", D), ("amount_usd", MONEY), ("detail", S)]), "anomaly_id")

# The sales system (SQLite): table -> (columns, primary key, cursor)
SALES_TABLES: dict[str, tuple[tuple[str, ...], str, str | None]] = {
    "customers": (("customer_id", "name", "currency", "updated_at"), "customer_id", "updated_at"),
    "fx_rates": (("currency", "month", "rate_to_usd"), "currency,month", None),
    "revenue_bookings": (("booking_id", "invoice_ref", "customer_id", "matter_ref", "office",
                          "partner_code", "booking_date", "period", "currency", "fees_local",
                          "expenses_local", "amount_local", "split_percentage", "fx_rate",
                          "amount_usd", "request_id", "created_at", "updated_at"),
                         "booking_id", "updated_at"),
    "cash_receipts": (("receipt_id", "invoice_ref", "customer_id", "received_date", "currency",
                       "amount_local", "amount_usd", "updated_at"), "receipt_id", "updated_at"),
}
SALES_MONEY = {"fees_local", "expenses_local", "amount_local", "amount_usd", "split_percentage"}

ANOMALY_KINDS = (
    "RATE_CAP", "TK_UNAPPROVED", "BLOCK_BILLING", "VAGUE", "INCREMENT", "DAILY_MAX", "TASK_CODE",
    "EXPENSE_DISALLOWED", "TRAVEL", "LATE", "DUPLICATE", "ADMIN", "EBILLING_REJECTION",
    "MISSING_IN_SALES", "BOOKING_WITHOUT_INVOICE", "DUPLICATE_BOOKING", "RATE_DEFINITION",
    "TIMING", "ROUNDING_FX", "SPLIT_ALLOCATION", "UNRECORDED_TIME", "WRITE_OFF",
)
OCG_CODES = ANOMALY_KINDS[:12]


def table(system: str, name: str) -> Table:
    return TABLES[f"{system}.{name}"]
