"""What the sales system's tables are: keys, cursors, money columns and required values."""
from __future__ import annotations

from typing import Any

# table -> primary key, update cursor (None: small table reloaded whole and merged), the money
# column the tally sums, the columns a record cannot be loaded without, and ISO date columns.
TABLES: dict[str, dict[str, Any]] = {
    "customers": {
        "primary_key": ("customer_id",), "cursor": "updated_at", "money": None,
        "required": ("customer_id", "currency"), "dates": (),
    },
    "fx_rates": {
        "primary_key": ("currency", "month"), "cursor": None, "money": None,
        "required": ("currency", "month", "rate_to_usd"), "dates": (),
    },
    "revenue_bookings": {
        "primary_key": ("booking_id",), "cursor": "updated_at", "money": "amount_usd",
        "required": ("booking_id", "customer_id", "currency", "amount_local", "amount_usd",
                     "booking_date", "period"),
        "dates": ("booking_date",),
    },
    "cash_receipts": {
        "primary_key": ("receipt_id",), "cursor": "updated_at", "money": "amount_usd",
        "required": ("receipt_id", "currency", "amount_local", "amount_usd", "received_date"),
        "dates": ("received_date",),
    },
}

# Decimal columns: (precision, scale). Money NUMERIC(18,2), fx NUMERIC(18,6).
DECIMALS: dict[str, dict[str, tuple[int, int]]] = {
    "customers": {},
    "fx_rates": {"rate_to_usd": (18, 6)},
    "revenue_bookings": {
        "fees_local": (18, 2), "expenses_local": (18, 2), "amount_local": (18, 2),
        "split_percentage": (18, 4), "fx_rate": (18, 6), "amount_usd": (18, 2),
    },
    "cash_receipts": {"amount_local": (18, 2), "amount_usd": (18, 2)},
}

DEFAULT_CHUNK_SIZE = 100_000
