"""dlt sources of lexrecon: one small package per source system.

``clio`` (LPM A), ``actionstep`` (LPM B), ``ebilling`` (e-billing platform API),
``ledes_files`` (LEDES inbox folder) and ``sales`` (the sales system's SQL database). Shared
pieces (HTTP client with retries and OAuth refresh, Arrow page conversion, quarantine and
tally ledger) live in ``common``. ``ingestion.pipeline`` runs them into raw.duckdb.
"""
