"""LPM A: the Clio Manage API v4 (office NYC).

Resources (dataset ``raw_clio``): users, activity_rates, contacts, matters,
calendar_entries, activities, bills, line_items, allocations, credit_memos. Each is merged on
``id`` and loaded incrementally on ``updated_at`` (``updated_since``, inclusive; dlt drops the
boundary rows it already has). Nested relations arrive flattened as ``matter__id``.

Configuration (dlt config/secrets or environment variables):
``sources.clio.base_url`` (``SOURCES__CLIO__BASE_URL``, e.g. ``https://app.clio.com``),
``sources.clio.token_url`` (default ``<base_url>/oauth/token``),
secrets ``sources.clio.client_id``, ``client_secret``, ``refresh_token`` (the long-lived token
of Clio's authorization-code flow; without it the client-credentials grant is used),
``sources.clio.page_size`` (1-200).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt

from ingestion.sources.clio.helpers import clio_pages
from ingestion.sources.clio.settings import API_PATH, MONEY, PAGE_SIZE, RESOURCES, TOKEN_PATH
from ingestion.sources.common.http import ApiClient
from ingestion.sources.common.ledger import Ledger
from ingestion.sources.common.rest import rest_resource, spec_from_schema


@dlt.source(name="clio", section="clio", max_table_nesting=0)
def clio(
    base_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str | None = None,
    token_url: str | None = None,
    api_url: str | None = None,
    page_size: int = PAGE_SIZE,
    max_retries: int = 8,
    backoff_base: float = 0.25,
    resources: Sequence[str] | None = None,
    ledger: Any = None,
) -> Iterator[Any]:
    ledger = ledger if ledger is not None else Ledger("clio")
    from ingestion.sources.common.http import RetryPolicy
    client = ApiClient("clio", token_url=token_url or base_url.rstrip("/") + TOKEN_PATH,
                       client_id=client_id, client_secret=client_secret,
                       refresh_token=refresh_token,
                       policy=RetryPolicy(max_retries=max_retries, backoff_base=backoff_base),
                       config_hint="sources.clio")
    root = (api_url or base_url.rstrip("/") + API_PATH).rstrip("/")
    for name in resources or RESOURCES:
        spec = spec_from_schema("clio", name, money=MONEY.get(name, ""))
        yield rest_resource(
            spec, lambda since, spec=spec: clio_pages(client, root, spec, page_size, since),
            ledger)
