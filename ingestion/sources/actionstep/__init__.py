"""LPM B: the Actionstep REST API (office LDN).

Resources (dataset ``raw_actionstep``): participants, rates, actions, timeentries,
disbursements, bills, billlines, receipts, writeoffs. Merged on ``id``; loaded incrementally
on ``modifiedTimestamp`` (``modifiedTimestamp_gte``). Actionstep timestamps are text with a
UTC offset (kept as sent); the cursor runs on ``modified_timestamp_utc``, the same instant as
a UTC timestamp, because offset text does not sort as time. ``links`` relations arrive as
``links__action`` etc.; "T"/"F" booleans stay text.

Configuration: ``sources.actionstep.base_url`` (``SOURCES__ACTIONSTEP__BASE_URL``),
``sources.actionstep.api_url`` (default ``<base_url>/api/rest``; Actionstep's token answer
names the org's API endpoint), ``sources.actionstep.token_url`` (default
``<base_url>/api/oauth/token``), secrets ``client_id``, ``client_secret``, ``refresh_token``;
``page_size`` (1-200).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt

from ingestion.sources.actionstep.helpers import actionstep_pages
from ingestion.sources.actionstep.settings import (
    API_PATH,
    MONEY,
    PAGE_SIZE,
    RESOURCES,
    TEXT_TIMESTAMPS,
    TF_FIELDS,
    TOKEN_PATH,
)
from ingestion.sources.common.http import ApiClient, RetryPolicy
from ingestion.sources.common.ledger import Ledger
from ingestion.sources.common.rest import rest_resource, spec_from_schema

OVERRIDES = {**{f: "tf" for f in TF_FIELDS}, **{f: "tstext" for f in TEXT_TIMESTAMPS}}


@dlt.source(name="actionstep", section="actionstep", max_table_nesting=0)
def actionstep(
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
    ledger = ledger if ledger is not None else Ledger("actionstep")
    client = ApiClient("actionstep",
                       token_url=token_url or base_url.rstrip("/") + TOKEN_PATH,
                       client_id=client_id, client_secret=client_secret,
                       refresh_token=refresh_token,
                       policy=RetryPolicy(max_retries=max_retries, backoff_base=backoff_base),
                       config_hint="sources.actionstep")
    root = (api_url or base_url.rstrip("/") + API_PATH).rstrip("/")
    for name in resources or RESOURCES:
        spec = spec_from_schema("actionstep", name, overrides=OVERRIDES,
                                money=MONEY.get(name, ""))
        yield rest_resource(
            spec,
            lambda since, spec=spec: actionstep_pages(client, root, spec, page_size, since),
            ledger)
