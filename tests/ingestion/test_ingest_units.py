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


def _forced_slow(records, spec, monkeypatch):
    from ingestion.sources.common import pages
    with monkeypatch.context() as m:
        m.setattr(pages, "_arrow_columns", lambda *a: None)
        return page_to_arrow(records, spec)


def test_page_fast_path_equals_per_value_path(monkeypatch):
    """A clean page goes through pyarrow in one pass; the result is the per-value path's."""
    from ingestion.sources.common import pages
    spec = Resource.parse("acts", "id:int total:money qty:qty rate:rate date:date note "
                          "matter__id:int bill__id:int ok:bool tf:tf at:tstext "
                          "updated_at:ts", cursor="updated_at", money="total")
    records = [
        {"id": i, "total": (1234.5 if i % 2 else 7), "qty": 0.25, "rate": 1.123456,
         "date": "2026-01-31", "note": None if i % 3 else f"n{i}",
         "matter": {"id": i}, "bill": None if i % 2 else {"id": 9}, "ok": i % 2 == 0,
         "tf": "T", "at": "2026-01-31T12:00:00+11:00", "updated_at": "2026-01-31T12:00:00Z"}
        for i in range(1, 7)]
    assert pages._arrow_columns(records, spec, set(spec.vendor_field_names)) is not None
    fast, fast_bad = page_to_arrow(records, spec)
    slow, slow_bad = _forced_slow(records, spec, monkeypatch)
    assert fast.equals(slow) and fast.schema == slow.schema and fast_bad == slow_bad == []
    assert fast.column("total").to_pylist()[:2] == [Decimal("1234.50"), Decimal("7.00")]
    assert fast.column("bill__id").to_pylist()[:2] == [None, 9]


def test_page_fast_path_declines_what_it_cannot_check():
    from ingestion.sources.common import pages
    spec = Resource.parse("acts", "id:int total:money matter__id:int", money="total")
    known = set(spec.vendor_field_names)
    ok = {"id": 1, "total": 1.5, "matter": {"id": 1}}
    for bad in ({**ok, "id": 1.0}, {**ok, "id": True}, {**ok, "total": True},
                {**ok, "total": "1.50"}, {**ok, "matter": 5}, {**ok, "new": 1},
                {"id": 1, "total": 1.5}, 7):
        assert pages._arrow_columns([ok, bad], spec, known) is None, bad


def test_a_key_delivered_twice_in_a_run_is_loaded_once():
    import pyarrow as pa

    from ingestion.sources.common.ledger import Ledger
    from ingestion.sources.common.rest import _first_delivery
    ledger, seen = Ledger("clio"), set()
    first = _first_delivery(pa.table({"id": [1, 2, 3]}), "id", seen, ledger, "acts")
    again = _first_delivery(pa.table({"id": [3, 4, 4, 5]}), "id", seen, ledger, "acts")
    assert first.num_rows == 3 and again.column("id").to_pylist() == [4, 5]
    assert ledger.tallies["acts"].redelivered == 2 and ledger.tallies["acts"].received == 0


def test_dlt_ids_are_dlt_shaped_and_unique():
    import pyarrow as pa
    from dlt.common.normalizers.utils import generate_dlt_ids

    from ingestion.sources.common.ledger import add_dlt_id
    t = add_dlt_id(pa.table({"a": list(range(10_000))}))
    ids = t.column("_dlt_id").to_pylist()
    assert len(set(ids)) == 10_000 and not t.schema.field("_dlt_id").nullable
    assert {len(i) for i in ids} == {len(generate_dlt_ids(1)[0])}
    assert add_dlt_id(t) is t  # never twice


def test_first_delivery_composite_keys_and_missing_keys():
    import pyarrow as pa

    from ingestion.sources.common.ledger import Ledger, first_delivery
    ledger, seen = Ledger("sales"), set()
    t = pa.table({"c": ["EUR", "EUR", "GBP", None, None], "m": ["01", "01", "01", "01", "01"]})
    out = first_delivery(t, ("c", "m"), seen, ledger, "fx_rates")
    assert out.column("c").to_pylist() == ["EUR", "GBP", None, None]
    assert ledger.tallies["fx_rates"].redelivered == 1


def test_ledes_content_hash_ignores_framing_but_not_values():
    """A re-delivered LEDES file is recognised by its records: line ends, a byte order mark,
    ``[]`` terminators, blank lines and the encoding of the same characters do not change the
    content hash; any changed value does."""
    import ingest_minifirm as minifirm

    from ingestion.sources.ledes_files.helpers import content_sha256, sha256_of

    text = minifirm.ledes_file("INV-00001", ["100.50", "110.25"]).replace(
        "Drafting memo", "Révision du mémoire")
    base = content_sha256(text.encode())
    variants = [
        text.replace("\n", "\r\n").encode(),                # CRLF
        b"\xef\xbb\xbf" + text.encode(),                    # UTF-8 BOM
        text.replace("[]\n", "\n").encode(),                # no record terminators
        text.replace("\n", "\n\n").encode() + b"\n\n",      # blank lines
        text.encode("cp1252"),                              # Windows-1252, same characters
        text.rstrip("\n").encode(),                         # no final line end
    ]
    for data in variants:
        assert sha256_of(data) != sha256_of(text.encode())
        assert content_sha256(data) == base, data[:40]
    assert content_sha256(text.replace("110.25", "110.26").encode()) != base
    assert content_sha256(text.replace("|2|F|", "|3|F|").encode()) != base
