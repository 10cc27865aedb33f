"""LEDES inbox settings: which files, which fields must read as numbers or dates."""
from __future__ import annotations

DEFAULT_GLOB = "*.txt"
# Files are parsed (parse_ledes_many) and handed to dlt in batches of about this many bytes.
BATCH_BYTES = 32 * 1024 * 1024

# Fields that must be a plain decimal when not blank (else the record is quarantined).
NUMBER_FIELDS: tuple[str, ...] = (
    "INVOICE_TOTAL",
    "LINE_ITEM_NUMBER_OF_UNITS",
    "LINE_ITEM_ADJUSTMENT_AMOUNT",
    "LINE_ITEM_TOTAL",
    "LINE_ITEM_UNIT_COST",
)
# An invoice's identity in the inbox: the same invoice delivered again under another name
# (whatever its bytes) is recognised by it.
INVOICE_KEY: tuple[str, ...] = ("LAW_FIRM_ID", "CLIENT_ID", "INVOICE_NUMBER")
# Fields that must be a real YYYYMMDD date when not blank.
DATE_FIELDS: tuple[str, ...] = ("INVOICE_DATE", "LINE_ITEM_DATE")
# The money the tally sums for line records.
MONEY_FIELD = "LINE_ITEM_TOTAL"
# How much of a rejected file the quarantine keeps as its raw record.
RAW_FILE_CHARS = 4000
