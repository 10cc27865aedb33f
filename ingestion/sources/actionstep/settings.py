"""Actionstep (LPM B): resources, money columns, "T"/"F" booleans and paging limits."""
from __future__ import annotations

RESOURCES: tuple[str, ...] = (
    "participants", "rates", "actions", "timeentries", "disbursements", "bills", "billlines",
    "receipts", "writeoffs",
)
MONEY: dict[str, str] = {
    "rates": "rate", "actions": "fixedFee", "timeentries": "billableAmount",
    "disbursements": "amount", "bills": "totalInclusive", "billlines": "amount",
    "receipts": "amount", "writeoffs": "amount",
}
# Actionstep sends booleans as the text "T"/"F" and timestamps as text with an offset: both
# are kept as sent (validated); the cursor is also stored as UTC in <cursor>_utc.
TF_FIELDS = ("isCompany", "isClient", "isTimekeeper", "isBillableOverride", "isBillable")
TEXT_TIMESTAMPS = ("createdTimestamp", "modifiedTimestamp")
PAGE_SIZE = 200          # Actionstep's maximum pageSize
API_PATH = "/api/rest"
TOKEN_PATH = "/api/oauth/token"
