"""The sales/finance system: a SQL database read with dlt's ``sql_database`` (pyarrow backend).

SQLite by default (the demo firm's ``sales/sales.sqlite``), PostgreSQL as well
(``postgresql+psycopg2://user:password@host:port/db``). Configuration:
``sources.sales.credentials`` (a secret: ``SOURCES__SALES__CREDENTIALS``),
``sources.sales.schema`` (database schema, PostgreSQL), ``sources.sales.chunk_size``.

Every table is merged on its primary key; tables with ``updated_at`` load incrementally on it
(dlt pushes ``updated_at >= last value`` into the SQL and de-duplicates the boundary).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt
import sqlalchemy as sa
from dlt.extract.resource import DltResource
from dlt.sources.credentials import ConnectionStringCredentials
from dlt.sources.sql_database import sql_table

from ingestion.sources.common.ledger import Ledger, LedgerStep
from ingestion.sources.sales.helpers import (
    checker,
    column_hints,
    numeric_from_checker,
    select_numeric_as_text,
)
from ingestion.sources.sales.settings import DEFAULT_CHUNK_SIZE, TABLES

CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}


@dlt.source(name="sales", section="sales", max_table_nesting=0)
def sales(
    credentials: ConnectionStringCredentials = dlt.secrets.value,
    schema: str | None = dlt.config.value,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    tables: Sequence[str] | None = None,
    ledger: Any = None,
) -> Iterator[DltResource]:
    """The four sales tables (``customers``, ``fx_rates``, ``revenue_bookings``,
    ``cash_receipts``), each checked, counted into ``ledger`` and merged."""
    ledger = ledger if ledger is not None else Ledger("sales")
    url = credentials.to_native_representation() if isinstance(
        credentials, ConnectionStringCredentials) else str(credentials)
    engine = sa.create_engine(url)
    is_sqlite = engine.dialect.name == "sqlite"
    for name in tables or TABLES:
        spec = TABLES[name]
        incremental = (dlt.sources.incremental(spec["cursor"]) if spec["cursor"] else None)
        resource = sql_table(
            credentials=engine,
            table=name,
            schema=schema,
            incremental=incremental,
            chunk_size=chunk_size,
            backend="pyarrow",
            reflection_level="full_with_precision",
            type_adapter_callback=numeric_from_checker if is_sqlite else None,
            query_adapter_callback=select_numeric_as_text if is_sqlite else None,
            write_disposition="merge",
            primary_key=list(spec["primary_key"]),
        )
        # decimal hints: PostgreSQL types are exact, so the hints drive dlt's Arrow conversion.
        # SQLite may hold text in a NUMERIC column: there the checker makes the decimals
        # (same precision and scale) so a bad value is quarantined, not a failed batch.
        resource.apply_hints(columns=column_hints(name, decimals=not is_sqlite),
                             schema_contract=CONTRACT)
        resource.add_step(LedgerStep(checker(name, ledger)))
        yield resource
