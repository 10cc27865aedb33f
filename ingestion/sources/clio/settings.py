"""Clio Manage API v4 (LPM A): resources, fields and paging limits."""
from __future__ import annotations

RESOURCES: tuple[str, ...] = (
    "users", "activity_rates", "contacts", "matters", "calendar_entries", "activities",
    "bills", "line_items", "allocations", "credit_memos",
)
# The money column each resource's tally sums.
MONEY: dict[str, str] = {
    "users": "rate", "activity_rates": "rate", "matters": "flat_fee", "activities": "total",
    "bills": "total", "line_items": "total", "allocations": "amount", "credit_memos": "amount",
}
PAGE_SIZE = 200          # Clio's maximum `limit`
API_PATH = "/api/v4"
TOKEN_PATH = "/oauth/token"
