"""The three REST sources against their emulators (real HTTP servers on 127.0.0.1).

Each source: a full load ties out and loads every row; a re-run loads nothing; after rows
change, an incremental run loads exactly those rows and the tables hold no duplicates. Every
fault switch of the emulators is exercised: 429 bursts and a real rate limit (Retry-After),
5xx bursts, slow answers, token expiry and revocation (refresh once), bad credentials (clear
error), repeated pages, a new field and amounts sent as strings (quarantined, tie-out exact).
"""
from __future__ import annotations

import time
from decimal import Decimal

import pytest
from ingest_helpers import ROWS, emulator, endpoint, query, tie_out

from ingestion.pipeline import IngestError, run_source

SYSTEMS = {
    # source: (a money resource, its money field in the firm, the raw money column, cursor)
    "clio": ("activities", "total", "total", "updated_at"),
    "actionstep": ("timeentries", "billableAmount", "billable_amount", "modifiedTimestamp"),
    "ebilling": ("invoices", "submittedTotal", "submitted_total", "lastModified"),
}
ALL_RESOURCES = {
    "clio": 10, "actionstep": 9, "ebilling": 5,
}
PK = {"clio": "id", "actionstep": "id", "ebilling": "invoice_id"}


def _run(name, server, raw, **kw):
    kw.setdefault("backoff_base", 0.01)  # keep the 5xx backoff short in tests
    return run_source(name, None, raw["raw_db"], pipelines_dir=raw["pipelines_dir"],
                      endpoint=endpoint(server), **kw)


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_full_then_rerun_then_incremental(name, firm, raw):
    import ingest_minifirm as minifirm

    resource, field, column, _ = SYSTEMS[name]
    with emulator(name, firm) as server:
        first = _run(name, server, raw, page_size=50)
        assert len(first.resources) == ALL_RESOURCES[name]
        for r in first.resources:
            assert (r.received, r.loaded, r.quarantined) == (ROWS, ROWS, 0), r
        t = tie_out(raw["raw_db"], name, first.load_id)
        assert t[resource]["money_loaded"] == minifirm.money_total(name, resource, field, ROWS)
        again = _run(name, server, raw, page_size=50)
        assert again.received == 0 and again.loaded == 0
    # the vendor edits three records: later cursor, +1.00 on the money field
    minifirm.touch_rows(firm, name, resource, [3, 50, 99], column=field)
    with emulator(name, firm) as server:
        third = _run(name, server, raw, page_size=50, resources=[resource])
    assert third.resource(resource).loaded == 3
    tie_out(raw["raw_db"], name, third.load_id)
    ds = f"raw_{name}"
    rows, distinct, total = query(
        raw["raw_db"], f"select count(*), count(distinct {PK[name]}), sum({column}) "
                       f"from {ds}.{resource}")[0]
    assert rows == distinct == ROWS
    assert total == minifirm.money_total(name, resource, field, ROWS) + Decimal("3.00")


# a resource with money and one without, per source
PLAIN = {"clio": "contacts", "actionstep": "participants", "ebilling": "status_history"}


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_every_fault_switch(name, firm, raw):
    """One run through all data faults at once: 429 bursts (Retry-After), 5xx bursts, slow
    answers, token expiry mid-run, repeated pages, a new vendor field and money sent as
    strings. Transient faults are retried; repeated pages load nothing twice; the new field
    becomes a column; records with string amounts are quarantined; the tie-out is exact."""
    import ingest_minifirm as minifirm

    resource, field, _, _ = SYSTEMS[name]
    plain = PLAIN[name]
    faults = {"burst_429_every": 5, "burst_429_count": 2, "retry_after": 0,
              "error_5xx_every": 7, "error_5xx_count": 2, "token_max_uses": 6,
              "slow_ms": 5, "slow_every": 1, "repeat_page_every": 2,
              "new_field": "riskScore", "new_field_value": 7, "string_amounts": True}
    with emulator(name, firm, faults) as server:
        summary = _run(name, server, raw, page_size=20, resources=[resource, plain])
        injected = server.fault_state.snapshot()["injected"]
        tokens = server.tokens.issued
    assert all(injected[k] > 0 for k in ("429", "5xx", "slow", "repeat")), injected
    assert tokens > 1  # expired tokens were refreshed
    money = summary.resource(resource)
    assert (money.received, money.loaded, money.quarantined) == (ROWS, 0, ROWS)
    other = summary.resource(plain)
    assert (other.received, other.loaded, other.quarantined) == (ROWS, ROWS, 0)
    assert money.redelivered + other.redelivered > 0
    t = tie_out(raw["raw_db"], name, summary.load_id)
    assert t[resource]["money_quarantined"] == minifirm.money_total(name, resource, field, ROWS)
    ds = f"raw_{name}"
    rows, distinct, drift = query(raw["raw_db"], f"select count(*), count(distinct {PK[name]}), "
                                                 f"count(risk_score) from {ds}.{plain}")[0]
    assert rows == distinct == drift == ROWS
    reason, raw_record, fld = query(
        raw["raw_db"], f"select reason, raw_record, field from {ds}.quarantine "
                       f"where load_id = ? limit 1", [summary.load_id])[0]
    assert "type changed" in reason and "string" in reason
    assert fld and raw_record.startswith("{")


def test_rate_limit_honours_retry_after(firm, raw):
    with emulator("clio", firm, {"rate_limit": 4, "rate_window": 1.0}) as server:
        started = time.monotonic()
        summary = _run("clio", server, raw, page_size=20, resources=["activities"])
        elapsed = time.monotonic() - started
        statuses = server._status_counts
    assert statuses.get(429, 0) >= 1
    assert elapsed >= 1.0  # it waited for the window instead of hammering
    assert summary.resource("activities").loaded == ROWS


@pytest.mark.parametrize("name", ["clio"])
def test_bad_credentials_fail_clearly_without_the_secret(name, firm, raw):
    with emulator(name, firm) as server:
        ep = endpoint(server)
        ep["client_secret"] = "s3cret-wrong-value"
        with pytest.raises(IngestError) as err:
            run_source(name, None, raw["raw_db"], pipelines_dir=raw["pipelines_dir"],
                       endpoint=ep, resources=[SYSTEMS[name][0]])
    message = str(err.value)
    assert message.startswith(f"{name}:")
    assert "refused the credentials" in message and "client_secret" in message
    assert "s3cret-wrong-value" not in message


def test_revoked_tokens_are_refreshed_once(firm, raw):
    """A 401 mid-run is answered by one refresh; a second 401 is a clear error."""
    with emulator("clio", firm) as server:
        import requests
        requests.post(server.base_url + "/_emulator/expire-tokens", timeout=5)
        summary = _run("clio", server, raw, resources=["users"])
        assert summary.resource("users").loaded == ROWS
    # every token dies after 0 uses: refresh once, then give up with a clear message
    with emulator("clio", firm, {"token_ttl": 0}) as server, pytest.raises(IngestError) as err:
        _run("clio", server, raw, resources=["matters"])
    assert "401" in str(err.value) and "even with a fresh token" in str(err.value)


def test_rotating_refresh_tokens_and_targeted_faults(firm, raw):
    """Clio's authorization-code flow leaves a refresh token; with rotation (Clio Platform)
    every refresh returns a new one and revokes the old, so the client must keep the newest.
    Faults limited to one resource after a number of requests hit only that resource."""
    import requests

    faults = {"token_max_uses": 2, "error_5xx_every": 2, "after_requests": 3,
              "resources": ["matters"]}
    with emulator("clio", firm, faults, rotate_refresh_tokens=True) as server:
        grant = requests.post(server.token_url, data={
            "grant_type": "authorization_code", "code": server.tokens.auth_code,
            "client_id": server.client_id, "client_secret": server.client_secret},
            timeout=5).json()
        ep = endpoint(server)
        ep["refresh_token"] = grant["refresh_token"]
        summary = run_source("clio", None, raw["raw_db"], pipelines_dir=raw["pipelines_dir"],
                             endpoint=ep, resources=["users", "matters"], page_size=20,
                             backoff_base=0.01)
        injected = server.fault_state.snapshot()["injected"]
        tokens = server.tokens.issued
    assert injected["5xx"] > 0 and tokens > 3
    assert summary.resource("users").loaded == ROWS
    assert summary.resource("matters").loaded == ROWS
    tie_out(raw["raw_db"], "clio", summary.load_id)


# -- JSON answers read straight into Arrow (common.pages.JsonPage) -------------------------

def _json_page_spec():
    from ingestion.sources.common.pages import Resource
    return Resource.parse("acts", "id:int total:money qty:qty rate:rate date:date note "
                          "matter__id:int bill__id:int ok:bool tf:tf at:tstext updated_at:ts",
                          cursor="updated_at", money="total")


def _good_records(n=6):
    return [{"id": i, "total": (1234.5 if i % 2 else 7), "qty": 0.25, "rate": 1.123456,
             "date": "2026-01-31", "note": None if i % 3 else f"n{i} café",
             "matter": {"id": i}, "bill": None if i % 2 else {"id": 9}, "ok": i % 2 == 0,
             "tf": "T", "at": "2026-01-31T12:00:00+11:00", "updated_at": "2026-01-31T12:00:00Z"}
            for i in range(1, n + 1)]


def _both_ways(records, *, body=None):
    """(JsonPage's result, page_to_arrow's result on the decoded records, the page)."""
    import json

    import orjson

    from ingestion.sources.common.pages import JsonPage, page_to_arrow
    spec = _json_page_spec()
    body = body if body is not None else json.dumps(
        {"data": records, "meta": {"paging": {"next": "http://x/next"}, "records": 6}}).encode()
    page = JsonPage(body, "data", spec, orjson.loads)
    return page.to_arrow(), page_to_arrow(orjson.loads(body)["data"], spec), page


def test_json_page_reads_a_clean_answer_in_arrow_like_the_per_value_path():
    (table, bad), (expected, expected_bad), page = _both_ways(_good_records())
    assert page.struct is not None  # Arrow's JSON reader took it: no Python object per value
    assert page.other == {"meta": {"paging": {"next": "http://x/next"}, "records": 6}}
    assert table.equals(expected) and table.schema == expected.schema
    assert bad == expected_bad == []
    assert table.column("total").to_pylist()[:2] == [Decimal("1234.50"), Decimal("7.00")]
    assert page.keys("id") == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("change", [
    {"total": "99.10"},          # a changed type: money as a string
    {"total": True},             # a boolean amount
    {"id": 3.0},                 # a float key
    {"id": 2 ** 70},             # beyond int64
    {"matter": 5},               # a relation that is not an object
    {"note": 12},                # a number for text
    {"riskScore": 7},            # schema drift: a new field (a new column, not bad)
    {"date": "2026-02-30"},      # an impossible date (read by Arrow, checked after)
    {"id": None},                # a missing key
])
def test_json_page_quarantines_exactly_what_the_per_value_path_does(change):
    records = _good_records()
    records[2] = {**records[2], **change}
    (table, bad), (expected, expected_bad), page = _both_ways(records)
    # Arrow's reader refuses a value of another JSON type (the per-value path then reads the
    # page); a new field it reads, and the page still goes the per-value way (new column)
    assert (page.struct is not None) == (change in ({"date": "2026-02-30"}, {"id": None},
                                                    {"riskScore": 7}))
    assert table.equals(expected) and table.schema == expected.schema
    assert [(b.index, b.field, b.reason, b.money) for b in bad] == \
        [(b.index, b.field, b.reason, b.money) for b in expected_bad]
    if "riskScore" in change:  # drift is not bad: a new column
        assert bad == [] and table.column("risk_score").to_pylist()[2] == 7
    else:
        assert [b.index for b in bad] == [2] and bad[0].record == records[2]


def test_json_page_falls_back_on_what_arrow_cannot_read():
    """...and a record that is not an object among records with nullable offset timestamps
    (``tstext``): a null timestamp is not a bad one (it used to fail the per-value path)."""
    import orjson

    from ingestion.sources.common.http import SourceError
    from ingestion.sources.common.pages import JsonPage
    spec = _json_page_spec()
    # a record that is not an object, and a null record: quarantined by the per-value path
    for odd in (7, None):
        body = orjson.dumps({"data": [*_good_records(2), odd]})
        page = JsonPage(body, "data", spec, orjson.loads)
        assert page.struct is None
        table, bad = page.to_arrow()
        assert table.num_rows == 2 and [b.reason for b in bad] == ["record is not a JSON object"]
    # NaN is not JSON: Arrow would read it, the page must fail as invalid JSON

    def decode(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise SourceError("clio", "GET x returned invalid JSON", "Check.") from None
    nan = orjson.dumps({"data": _good_records(2)}).replace(b'"total":7', b'"total":NaN')
    with pytest.raises(SourceError, match="invalid JSON"):
        JsonPage(nan, "data", spec, decode).to_arrow()
    # no records list at all: the vendor helper's clear error
    page = JsonPage(b'{"error": "nope"}', "data", spec, decode)
    assert not page.is_list


def test_pages_are_prefetched_in_order_and_stop_with_the_last():
    """``paged`` asks for the next page while the current one is used, one request at a
    time, in the same order as without prefetching, and nothing after the last page."""
    from ingestion.sources.common.rest import paged

    class Client:
        source = "test"

        def __init__(self):
            self.calls = []

        def get_bytes(self, url, params=None):
            self.calls.append(url)
            return url.encode()

    def parse(url, body):
        n = int(url.rsplit("/", 1)[1])
        return body.decode(), (f"http://x/{n + 1}" if n < 5 else None)

    client = Client()
    got = []
    for page in paged(client, "http://x/1", {"a": 1}, parse):
        got.append((page, len(client.calls)))
    assert [p for p, _ in got] == [f"http://x/{n}" for n in range(1, 6)]
    assert client.calls == [f"http://x/{n}" for n in range(1, 6)]
    assert all(calls <= n + 1 for n, (_, calls) in enumerate(got, start=1))
    plain = Client()
    assert list(paged(plain, "http://x/1", None, parse, prefetch=False)) == \
        [p for p, _ in got] and plain.calls == client.calls
