"""Actionstep paging: ``page``/``pageSize`` with ``meta.paging.<resource>.nextPage`` links."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingestion.sources.common.http import ApiClient, SourceError
from ingestion.sources.common.pages import Resource
from ingestion.sources.common.rest import since_text


def actionstep_pages(client: ApiClient, api_url: str, spec: Resource, page_size: int,
                     since: Any) -> Iterator[list[dict[str, Any]]]:
    url: str | None = f"{api_url}/{spec.name}"
    params: dict[str, Any] | None = {"pageSize": page_size, "page": 1, "sort": "id"}
    if since is not None:
        assert params is not None
        # inclusive: dlt's incremental drops the boundary rows it already loaded
        params["modifiedTimestamp_gte"] = since_text(since)
    while url:
        body = client.get(url, params)
        rows = body.get(spec.name) if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise SourceError("actionstep", f"{spec.name}: the answer has no '{spec.name}' list",
                              "Check sources.actionstep.base_url / api_url.")
        yield rows
        paging = ((body.get("meta") or {}).get("paging") or {}).get(spec.name) or {}
        url = paging.get("nextPage")
        params = None  # nextPage carries every parameter
