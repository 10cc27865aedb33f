"""The e-billing platform's API (Legal Tracker Billing API shape, OData v4).

Resources (dataset ``raw_ebilling``): invoices, status_history, adjustments, appeals,
payments. Merged on their keys (``invoice_id``, ``id``, ``payment_number``); loaded
incrementally on ``lastModified`` (``$filter=lastModified ge ...``).

Configuration: ``sources.ebilling.base_url`` (``SOURCES__EBILLING__BASE_URL``),
``sources.ebilling.api_url`` (default ``<base_url>/billing-api/v1``),
``sources.ebilling.token_url`` (default ``<base_url>/oauth/token``), secrets ``client_id``,
``client_secret``, ``company_id`` (the ``Company-ID`` header); ``page_size`` (the
``Prefer: odata.maxpagesize`` asked for).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt

from ingestion.sources.common.http import ApiClient, RetryPolicy
from ingestion.sources.common.ledger import Ledger
from ingestion.sources.common.rest import rest_resource, spec_from_schema
from ingestion.sources.ebilling.helpers import odata_pages
from ingestion.sources.ebilling.settings import (
    API_PATH,
    COLLECTIONS,
    MONEY,
    PAGE_SIZE,
    TOKEN_PATH,
)


@dlt.source(name="ebilling", section="ebilling", max_table_nesting=0)
def ebilling(
    base_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    company_id: str = dlt.secrets.value,
    refresh_token: str | None = None,
    token_url: str | None = None,
    api_url: str | None = None,
    page_size: int = PAGE_SIZE,
    max_retries: int = 8,
    backoff_base: float = 0.25,
    resources: Sequence[str] | None = None,
    ledger: Any = None,
) -> Iterator[Any]:
    ledger = ledger if ledger is not None else Ledger("ebilling")
    client = ApiClient("ebilling", token_url=token_url or base_url.rstrip("/") + TOKEN_PATH,
                       client_id=client_id, client_secret=client_secret,
                       refresh_token=refresh_token,
                       headers={"Company-ID": company_id,
                                "Prefer": f"odata.maxpagesize={page_size}"},
                       policy=RetryPolicy(max_retries=max_retries, backoff_base=backoff_base),
                       config_hint="sources.ebilling")
    root = (api_url or base_url.rstrip("/") + API_PATH).rstrip("/")
    for name in resources or COLLECTIONS:
        spec = spec_from_schema("ebilling", name, money=MONEY.get(name, ""))
        yield rest_resource(
            spec,
            lambda since, spec=spec, name=name: odata_pages(client, root, COLLECTIONS[name],
                                                            spec, since),
            ledger)
