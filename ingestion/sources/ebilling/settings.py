"""E-billing platform (Legal Tracker Billing API shape, OData v4): collections and paging."""
from __future__ import annotations

# resource (raw table) -> OData collection name
COLLECTIONS: dict[str, str] = {
    "invoices": "invoices",
    "status_history": "statusHistory",
    "adjustments": "adjustments",
    "appeals": "appeals",
    "payments": "payments",
}
MONEY: dict[str, str] = {
    "invoices": "submittedTotal", "adjustments": "amount", "appeals": "amountRecovered",
    "payments": "amount",
}
PAGE_SIZE = 1000         # Prefer: odata.maxpagesize (the platform's maximum)
API_PATH = "/billing-api/v1"
TOKEN_PATH = "/oauth/token"
