"""The shape every REST resource of lexrecon shares: pages -> Arrow -> incremental -> ledger.

A vendor package supplies a :class:`Resource` spec and a ``pages(since)`` function that yields
each page (following the vendor's pagination, usually through :func:`paged`): a
:class:`~ingestion.sources.common.pages.JsonPage` (the answer as sent, read by Arrow's JSON
reader) or a list of JSON records. :func:`rest_resource`
makes the dlt resource: each page becomes an Arrow table (bad records to the quarantine), a
page the server sent twice is skipped (counted as redelivered), dlt's incremental step keeps
only rows past the stored cursor (de-duplicating the boundary), then the ledger counts what
is loaded. Merge on the primary key makes every re-run idempotent.
"""
from __future__ import annotations

import datetime as dt
import operator
from base64 import b64encode
from collections.abc import Callable, Iterator
from hashlib import shake_128
from typing import Any

import dlt
import polars as pl
import pyarrow as pa

from ingestion.sources.common.http import ApiClient
from ingestion.sources.common.ledger import (
    Ledger,
    LedgerStep,
    dlt_id_hints,
    first_delivery,
    money_sum,
)
from ingestion.sources.common.pages import (
    JsonPage,
    Resource,
    dest_name,
    page_to_arrow,
    utc_cursor,
)

CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}

# polars dtypes of ingestion.demo_firm.schema -> field kinds of common.pages
_MONEY = pl.Decimal(18, 2)


def kind_of(dtype: pl.DataType) -> str:
    if dtype == pl.Int64:
        return "int"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.Datetime):
        return "ts"
    if isinstance(dtype, pl.Decimal):
        return "money" if dtype.scale == 2 else "qty"
    return "str"


def spec_from_schema(system: str, name: str, *, overrides: dict[str, str] | None = None,
                     money: str | None = None) -> Resource:
    """A resource spec from the project's table declarations (``ingestion.demo_firm.schema``);
    ``overrides`` sets the kind of named fields (e.g. Actionstep ``"T"/"F"`` booleans)."""
    from ingestion.demo_firm.schema import table

    t = table(system, name)
    overrides = overrides or {}
    tokens = [f"{c}:{overrides.get(c, kind_of(d))}" for c, d in t.columns]
    if money is None:
        money = next((c for c in ("total", "amount", "totalInclusive", "submittedTotal",
                                  "billableAmount", "amountRecovered", "rate")
                      if c in dict(t.columns)), None)
    return Resource.parse(name, " ".join(tokens), primary_key=t.primary_key,
                          cursor=t.cursor, money=money)


def cursor_column(spec: Resource) -> str:
    """The Arrow column dlt's incremental runs on: the cursor itself when it is a typed UTC
    timestamp; ``<cursor>_utc`` (added) when the vendor sends text with offsets."""
    assert spec.cursor
    f = spec.field(spec.cursor)
    return f.dest if f.kind == "ts" else f.dest + "_utc"


def page_fingerprint(records: list[dict[str, Any]], pk: str) -> int | None:
    """Identity of a page: the primary keys it holds, in order (raw, before any checks)."""
    if not records:
        return None
    if set(map(type, records)) == {dict}:
        return hash(tuple(map(operator.methodcaller("get", pk), records)))
    return hash(tuple(r.get(pk) if isinstance(r, dict) else repr(r) for r in records))


def paged(client: ApiClient, url: str, params: dict[str, Any] | None,
          parse: Callable[[str, bytes], tuple[Any, str | None]], *,
          prefetch: bool = True) -> Iterator[Any]:
    """GET ``url`` and every next page: ``parse(url, body)`` gives (the page, the next URL
    or None; the next URL carries every parameter). With ``prefetch`` the next page is
    requested in a background thread as soon as its URL is known, so the server prepares
    and sends it while this page is converted and written (one request in flight at a time,
    in the same order as without: retries, token refreshes and faults behave the same)."""
    if not prefetch:
        while url:
            page, next_url = parse(url, client.get_bytes(url, params))
            yield page
            url, params = next_url, None
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{client.source}-pages")
    try:
        pending = pool.submit(client.get_bytes, url, params)
        while pending is not None:
            body = pending.result()
            page, next_url = parse(url, body)
            del body
            pending = pool.submit(client.get_bytes, next_url, None) if next_url else None
            url = next_url or url
            yield page
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def rest_resource(
    spec: Resource,
    pages: Callable[[dt.datetime | None], Iterator[list[dict[str, Any]] | JsonPage]],
    ledger: Ledger,
    *,
    initial_value: dt.datetime | None = None,
    batch_rows: int = 50_000,
) -> Any:
    """A merge resource for one endpoint, Arrow pages, incremental on the update cursor."""
    pk = dest_name(spec.primary_key)
    cursor = cursor_column(spec)
    columns = spec.columns
    if cursor not in columns:
        columns = {**columns, cursor: {"data_type": "timestamp", "timezone": True,
                                       "nullable": True}}
    columns = {**columns, **dlt_id_hints()}  # the ledger step adds _dlt_id to each batch
    ledger.tally(spec.name, dest_name(spec.money) if spec.money else None)

    @dlt.resource(name=spec.name, write_disposition="merge", primary_key=pk, columns=columns,
                  schema_contract=CONTRACT)
    def resource(
        updated=dlt.sources.incremental(cursor, initial_value=initial_value),  # noqa: B008
    ) -> Iterator[pa.Table]:
        since = updated.last_value
        known = KnownBoundary(updated, cursor, pk)
        seen_pages: set[int] = set()
        seen_keys: set[Any] = set()  # primary keys handed over in this run
        # pages are handed to dlt in batches: dlt's per-item cost (hints, schema) is paid
        # once per batch, not per 200-record page
        buffered: list[pa.Table] = []
        buffered_rows = 0
        for records in pages(since):
            if isinstance(records, JsonPage):  # an answer read by Arrow's JSON reader
                page = records
                fp = hash(tuple(page.keys(spec.primary_key))) if len(page) else None
            else:
                page = None
                fp = page_fingerprint(records, spec.primary_key)
            if fp is None:
                continue
            if fp in seen_pages:  # the server sent the same page again: nothing twice
                ledger.count_redelivered(spec.name, len(records))
                continue
            seen_pages.add(fp)
            table, bad = page.to_arrow() if page is not None else page_to_arrow(records, spec)
            for b in bad:
                ledger.quarantine(spec.name, b.record, b.reason, field=b.field, money=b.money)
            table = _first_delivery(table, pk, seen_keys, ledger, spec.name)
            if table.num_rows == 0:
                continue
            if cursor not in table.column_names:
                table = table.append_column(cursor, utc_cursor(table, dest_name(spec.cursor)))
            table = known.drop(table)
            if table.num_rows == 0:
                continue
            buffered.append(table)
            buffered_rows += table.num_rows
            if buffered_rows >= batch_rows:
                yield _concat(buffered)
                buffered, buffered_rows = [], 0
        if buffered:
            yield _concat(buffered)

    money_col = dest_name(spec.money) if spec.money else None
    resource.add_step(LedgerStep(ledger.counter(spec.name, money_col)))
    return resource


class KnownBoundary:
    """Drops, before dlt's incremental step, the records at the stored cursor value that an
    earlier run already loaded: exactly the records that step would drop itself.

    The vendors' ``updated_since`` filters are inclusive (timestamps have whole seconds, so a
    record changed in the same second as the last cursor value must not be missed), so every
    run is sent again every record at the last cursor value. dlt drops those it has already
    loaded by hashing each one's primary key in Python (``digest_dedup_value``, ~9 µs per
    record) and looking the hash up in the ``unique_hashes`` of its state. When many records
    share the last value (at large scale 182k Clio line items and 122k Actionstep bill lines
    have one timestamp) that is most of a daily run's time. This does the same selection with
    the same hashes, computed directly (shake-128 of the key's JSON text, 9 bytes, base64:
    ~1 µs per record), for integer keys only, and checks its hash against dlt's own function
    on the first key of every page; if they ever differ (another dlt version), it stops and
    leaves the work to dlt. Records at the last value that are not in the state (changed in
    that same second, after the last run) stay and are loaded. dlt still runs its own step on
    what is left, so the cursor, the state and the counts are those of dlt alone."""

    def __init__(self, incremental: Any, cursor: str, pk: str):
        from dlt.extract.utils import has_legacy_dedup_hashes

        self.cursor, self.pk = cursor, pk
        self.start = None
        self.hashes: set[str] = set()
        try:
            state = incremental.get_state()
            hashes = state.get("unique_hashes") or []
            start = incremental.start_value
        except Exception:  # noqa: BLE001 - no state to go by: dlt does all the work
            return
        if hashes and start is not None and not has_legacy_dedup_hashes(hashes):
            self.start, self.hashes = start, set(hashes)

    def drop(self, table: pa.Table) -> pa.Table:
        if self.start is None or table.num_rows == 0:
            return table
        import numpy as np
        import pyarrow.compute as pc

        keys_col = table.column(self.pk)
        cursor_col = table.column(self.cursor)
        if not pa.types.is_integer(keys_col.type) or not pa.types.is_timestamp(cursor_col.type):
            self.start = None
            return table
        try:
            start = pa.scalar(self.start, type=cursor_col.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            self.start = None
            return table
        at_start = pc.fill_null(pc.equal(cursor_col, start), False)
        positions = pc.indices_nonzero(at_start).to_numpy()
        if len(positions) == 0:
            return table
        keys = pc.take(keys_col, pa.array(positions)).to_pylist()
        sample = next((k for k in keys if k is not None), None)
        if sample is None:
            return table
        if not _same_digest(sample):
            self.start = None  # not dlt's hash: leave it to dlt
            return table
        hashes = self.hashes
        seen = np.fromiter((k is not None and _digest_int(k) in hashes for k in keys),
                           dtype=bool, count=len(keys))
        if not seen.any():
            return table
        keep = np.ones(table.num_rows, dtype=bool)
        keep[positions[seen]] = False
        return table.filter(pa.array(keep))


def _digest_int(key: int) -> str:
    """dlt's boundary de-duplication hash of an integer primary key
    (``dlt.extract.utils.digest_dedup_value``: shake-128 of its JSON text, 9 bytes, base64)."""
    return b64encode(shake_128(b"%d" % key).digest(9)).decode("ascii")


def _same_digest(key: Any) -> bool:
    """Whether :func:`_digest_int` gives dlt's own hash for ``key``."""
    from dlt.extract.utils import digest_dedup_value

    return isinstance(key, int) and _digest_int(key) == digest_dedup_value(key)


def _first_delivery(table: pa.Table, pk: str, seen: set[Any], ledger: Ledger,
                    resource: str) -> pa.Table:
    """Only the records whose primary key was not yet delivered in this run (a vendor whose
    pages shift while paging may send a record twice): see :func:`ledger.first_delivery`."""
    return first_delivery(table, (pk,), seen, ledger, resource)


def _concat(tables: list[pa.Table]) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="default")  # a field may appear mid-run


def since_text(value: Any, *, z: bool = False) -> str | None:
    """An incremental last value (datetime) as ISO-8601 UTC text for a query parameter."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    text = value.astimezone(dt.UTC).isoformat()
    return text.replace("+00:00", "Z") if z else text


__all__ = [
    "CONTRACT",
    "cursor_column",
    "money_sum",
    "paged",
    "rest_resource",
    "since_text",
    "spec_from_schema",
]
