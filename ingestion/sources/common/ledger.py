"""The ledger of one load: what each resource received, loaded and quarantined.

Every source run gets a :class:`Ledger`. The resources of the source write into it while dlt
extracts them: a bad record goes to :meth:`Ledger.quarantine` (with the raw record, the
reason and, where it applies, file, line and field), a good batch that passed dlt's
incremental cursor is counted by :meth:`Ledger.count_loaded`. The pipeline writes the ledger
through dlt into the source's dataset, in the same extract and load package as the data
(:meth:`Ledger.resources`, evaluated after the data), as two tables:

``quarantine``  source, resource, load_id, raw_record (JSON text), reason, file, line, field
``load_tally``  load_id, source, resource, received, loaded, quarantined, redelivered,
                money_received, money_loaded, money_quarantined, loaded_at

``load_id`` is the dlt load id of the data (``_dlt_load_id`` of the rows it counts), so
``received = loaded + quarantined`` can be proven per load against the tables themselves.
``redelivered`` counts records the source sent again that were already loaded (a repeated
page, or a record at the incremental boundary that dlt de-duplicated): they are neither
received nor loaded a second time.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract.items_transform import MapItem

MONEY = {"data_type": "decimal", "precision": 24, "scale": 6}  # exact for every source

DLT_ID = "_dlt_id"


def dlt_id_hints() -> dict[str, dict[str, Any]]:
    """The column hint of ``_dlt_id`` as dlt declares it (for Arrow resources that carry it)."""
    from dlt.common.schema.utils import dlt_id_column

    col = dict(dlt_id_column())
    col.pop("name", None)
    return {DLT_ID: col}


def conform(table: pa.Table, columns: dict[str, dict[str, Any]]) -> pa.Table:
    """``table`` with the declared ``columns`` first, in their order (a declared text column
    it lacks is added as nulls), then its other columns, each field nullable as declared: the
    shape dlt's normalize step would otherwise rewrite the parquet file into."""
    n = table.num_rows
    arrays, fields = [], []
    for name, hint in columns.items():
        if name in table.column_names:
            col = table.column(name)
        elif hint.get("data_type") == "text":
            col = pa.chunked_array([pa.nulls(n, pa.string())])
        else:
            continue
        arrays.append(col)
        fields.append(pa.field(name, col.type, nullable=hint.get("nullable", True)))
    for name in table.column_names:
        if name not in columns:
            arrays.append(table.column(name))
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def first_delivery(table: pa.Table, keys: tuple[str, ...], seen: set[Any], ledger: Ledger,
                   resource: str) -> pa.Table:
    """Only the rows whose primary key (``keys``) was not yet delivered in this run; a repeat
    is counted as redelivered, never loaded twice, so each load holds a key once (also a
    first load written without merge) and the tally stays exact. ``seen`` is the run's set.
    A row with a missing (null) key is always kept, for the checks to quarantine."""
    if len(keys) == 1:
        values = table.column(keys[0]).to_pylist()
    else:
        values = list(zip(*(table.column(k).to_pylist() for k in keys), strict=True))
    fresh = set(values)
    if len(fresh) == len(values) and seen.isdisjoint(fresh):
        seen |= fresh
        return table
    keep = []
    for v in values:
        if v is None or (type(v) is tuple and None in v):
            keep.append(True)  # a missing key is the checks' business (quarantine)
        elif v in seen:
            keep.append(False)
        else:
            seen.add(v)
            keep.append(True)
    ledger.count_redelivered(resource, keep.count(False))
    return table.filter(pa.array(keep, pa.bool_()))


def add_dlt_id(table: pa.Table) -> pa.Table:
    """``table`` with dlt's row id column ``_dlt_id``: random ids exactly as dlt makes them
    (``DLT_ID_LENGTH_BYTES`` random bytes, base64 without padding), made in one vectorised
    step instead of dlt's Python loop per row in its normalize step, which then imports the
    parquet files as they are (``NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID`` is off)."""
    import secrets

    import polars as pl
    from dlt.common.normalizers.utils import DLT_ID_LENGTH_BYTES

    if DLT_ID in table.column_names:
        return table
    n = table.num_rows
    raw = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(DLT_ID_LENGTH_BYTES), n,
        [None, pa.py_buffer(secrets.token_bytes(n * DLT_ID_LENGTH_BYTES))])
    ids = (pl.from_arrow(raw.cast(pa.binary())).bin.encode("base64")  # type: ignore[union-attr]
           .str.strip_chars_end("=").to_arrow())
    return table.append_column(pa.field(DLT_ID, pa.string(), nullable=False),
                               pa.chunked_array([ids.cast(pa.string())]))

QUARANTINE_COLUMNS: dict[str, Any] = {
    "source": {"data_type": "text", "nullable": False},
    "resource": {"data_type": "text", "nullable": False},
    "load_id": {"data_type": "text", "nullable": False},
    "raw_record": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "file": {"data_type": "text", "nullable": True},
    "line": {"data_type": "bigint", "nullable": True},
    "field": {"data_type": "text", "nullable": True},
    "money": {**MONEY, "nullable": True},
}

TALLY_COLUMNS: dict[str, Any] = {
    "load_id": {"data_type": "text", "nullable": False},
    "source": {"data_type": "text", "nullable": False},
    "resource": {"data_type": "text", "nullable": False},
    "received": {"data_type": "bigint", "nullable": False},
    "loaded": {"data_type": "bigint", "nullable": False},
    "quarantined": {"data_type": "bigint", "nullable": False},
    "redelivered": {"data_type": "bigint", "nullable": False},
    "money_column": {"data_type": "text", "nullable": True},
    "money_received": {**MONEY, "nullable": True},
    "money_loaded": {**MONEY, "nullable": True},
    "money_quarantined": {**MONEY, "nullable": True},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}


def _json_default(value: Any) -> Any:
    if isinstance(value, (Decimal, dt.date, dt.datetime)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


def raw_json(record: Any) -> str:
    """A raw record as JSON text, exactly as far as JSON allows (no key sorting)."""
    return json.dumps(record, default=_json_default, ensure_ascii=False)


def money_sum(table: pa.Table, column: str | None) -> Decimal:
    """Sum of a decimal/number column of an Arrow table, as an exact Decimal (0 if none)."""
    if not column or column not in table.column_names or table.num_rows == 0:
        return Decimal(0)
    col = table.column(column)
    if not pa.types.is_decimal(col.type):
        col = pc.cast(col, pa.decimal128(38, 4))
    total = pc.sum(col).as_py()
    return Decimal(total) if total is not None else Decimal(0)


@dataclass
class ResourceTally:
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    redelivered: int = 0
    money_column: str | None = None
    money_loaded: Decimal = Decimal(0)
    money_quarantined: Decimal = Decimal(0)

    @property
    def money_received(self) -> Decimal:
        return self.money_loaded + self.money_quarantined


@dataclass
class Ledger:
    """Counts and quarantined records of one run of one source."""

    source: str
    tallies: dict[str, ResourceTally] = field(default_factory=dict)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    # called as on_progress(source, resource, received so far) after each batch
    on_progress: Callable[[str, str, int], None] | None = None
    # the load id the ledger was written under (set by the resources of :meth:`resources`)
    load_id: str | None = None

    def tally(self, resource: str, money_column: str | None = None) -> ResourceTally:
        t = self.tallies.get(resource)
        if t is None:
            t = self.tallies[resource] = ResourceTally(money_column=money_column)
        elif money_column and not t.money_column:
            t.money_column = money_column
        return t

    def quarantine(self, resource: str, raw_record: Any, reason: str, *, file: str | None = None,
                   line: int | None = None, field: str | None = None,
                   money: Decimal | None = None) -> None:
        """Set one bad record aside: it is received and quarantined, never loaded."""
        t = self.tally(resource)
        t.received += 1
        t.quarantined += 1
        if money is not None:
            t.money_quarantined += money
        self.quarantined.append({
            "source": self.source, "resource": resource,
            "raw_record": raw_record if isinstance(raw_record, str) else raw_json(raw_record),
            "reason": reason, "file": file, "line": line, "field": field, "money": money,
        })

    def count_loaded(self, resource: str, rows: int, money: Decimal = Decimal(0)) -> None:
        """A batch of good records handed to the destination."""
        t = self.tally(resource)
        t.received += rows
        t.loaded += rows
        t.money_loaded += money
        if self.on_progress is not None:
            self.on_progress(self.source, resource, t.received)

    def count_redelivered(self, resource: str, rows: int) -> None:
        self.tally(resource).redelivered += rows

    def counter(self, resource: str, money_column: str | None):
        """A dlt map step (placed after the incremental step) that counts loaded batches."""
        self.tally(resource, money_column)

        def count(item: Any) -> Any:
            if isinstance(item, pa.Table):
                self.count_loaded(resource, item.num_rows, money_sum(item, money_column))
                return add_dlt_id(item)
            elif isinstance(item, pa.RecordBatch):
                table = pa.Table.from_batches([item])
                self.count_loaded(resource, table.num_rows, money_sum(table, money_column))
                return add_dlt_id(table)
            elif isinstance(item, dict):
                money = item.get(money_column) if money_column else None
                self.count_loaded(resource, 1, Decimal(str(money)) if money is not None
                                  else Decimal(0))
            else:  # pragma: no cover - every source yields Arrow tables or dicts
                raise TypeError(f"cannot count a {type(item).__name__} for {resource}")
            return item

        return count

    # -- rows written through dlt -----------------------------------------------------
    def quarantine_rows(self, load_id: str) -> list[dict[str, Any]]:
        return [{**q, "load_id": load_id} for q in self.quarantined]

    def tally_rows(self, load_id: str) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        return [{
            "load_id": load_id, "source": self.source, "resource": name,
            "received": t.received, "loaded": t.loaded, "quarantined": t.quarantined,
            "redelivered": t.redelivered, "money_column": t.money_column,
            "money_received": t.money_received, "money_loaded": t.money_loaded,
            "money_quarantined": t.money_quarantined, "loaded_at": now,
        } for name, t in self.tallies.items()]

    def resources(self, load_id: str | None = None, *,
                  before: Callable[[], None] | None = None) -> list[Any]:
        """The two dlt resources that write this ledger (append-only, idempotent per load).

        Their rows are made when dlt evaluates them, not now: extracted in the same
        ``pipeline.extract`` call as the data, after the data's source, they count everything
        the data resources did and carry the load id of the package they are written into
        (``load_id`` None: dlt's current package, remembered in :attr:`load_id`), so data and
        ledger are committed together or not at all. ``before`` is called once, before the
        first ledger row is made (the pipeline's crash-test hook)."""
        contract = {"tables": "evolve", "columns": "freeze", "data_type": "freeze"}
        started: list[bool] = []

        def current_load_id() -> str:
            if not started:
                started.append(True)
                if before is not None:
                    before()
            self.load_id = load_id or dlt.current.load_package_state()["load_id"]
            return self.load_id

        def quarantine_rows() -> Iterator[list[dict[str, Any]]]:
            rows = self.quarantine_rows(current_load_id())
            if rows:
                yield rows

        def tally_rows() -> Iterator[list[dict[str, Any]]]:
            yield self.tally_rows(current_load_id())

        quarantine = dlt.resource(
            quarantine_rows, name="quarantine", write_disposition="append",
            columns=QUARANTINE_COLUMNS, schema_contract=contract)
        tally = dlt.resource(
            tally_rows, name="load_tally", write_disposition="merge",
            primary_key=("load_id", "resource"), columns=TALLY_COLUMNS,
            schema_contract=contract)
        return [quarantine, tally]


class LedgerStep(MapItem):
    """A map step that dlt places after the incremental step (and ``add_limit``).

    dlt orders transform steps by ``placement_affinity``: maps 0, incremental 1, limit 1.1,
    fork 2. The ledger must see only what passed the incremental cursor, so it sits at 1.5."""

    placement_affinity: ClassVar[float] = 1.5
