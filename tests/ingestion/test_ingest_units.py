"""Small pure pieces: Retry-After parsing, page conversion, nothing logged with secrets."""
from __future__ import annotations

import email.utils
import time
from decimal import Decimal

from ingestion.sources.common.http import ApiClient, retry_after_seconds
from ingestion.sources.common.pages import Resource, page_to_arrow


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(later) <= 31


def test_page_to_arrow_exact_money_and_bad_records():
    spec = Resource.parse("bills", "id:int total:money date:date matter__id:int "
                          "updated_at:ts", cursor="updated_at", money="total")
    records = [
        {"id": 1, "total": 1234.5, "date": "2026-01-31", "matter": {"id": 7},
         "updated_at": "2026-01-31T12:00:00+00:00"},
        {"id": 2, "total": "99.10", "date": "2026-01-31", "matter": None,
         "updated_at": "2026-01-31T12:00:00+00:00"},
        {"id": 3, "total": 1.0, "date": "2026-02-30", "matter": {"id": 8},
         "updated_at": "2026-01-31T12:00:00+00:00"},
        {"id": None, "total": 5, "date": None, "matter": 9,
         "updated_at": "2026-01-31T12:00:00+00:00"},
    ]
    table, bad = page_to_arrow(records, spec)
    assert table.column("total").to_pylist() == [Decimal("1234.50")]
    assert str(table.schema.field("total").type) == "decimal128(18, 2)"
    assert table.column("matter__id").to_pylist() == [7]
    reasons = {b.index: (b.field, b.reason) for b in bad}
    assert reasons[1][0] == "total" and "type changed" in reasons[1][1]
    assert reasons[2][0] == "date"
    assert reasons[3][0] in ("matter__id", "id")
    assert [b.money for b in bad] == [Decimal("99.10"), Decimal("1.00"), Decimal("5.00")]


def test_client_repr_hides_secrets():
    c = ApiClient("clio", token_url="http://127.0.0.1:1/oauth/token", client_id="id",
                  client_secret="very-secret", refresh_token="also-secret")
    assert "secret" not in repr(c).replace("ApiClient", "")
