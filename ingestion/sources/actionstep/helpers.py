"""Actionstep paging: ``page``/``pageSize`` with ``meta.paging.<resource>.nextPage`` links."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingestion.sources.common.http import ApiClient, SourceError
from ingestion.sources.common.pages import JsonPage, Resource
from ingestion.sources.common.rest import paged, since_text


def actionstep_pages(client: ApiClient, api_url: str, spec: Resource, page_size: int,
                     since: Any) -> Iterator[JsonPage]:
    """Each answer's ``<resource>`` list (read into Arrow by :class:`JsonPage`), following
    ``meta.paging.<resource>.nextPage`` (fetched while this page is converted)."""
    params: dict[str, Any] = {"pageSize": page_size, "page": 1, "sort": "id"}
    if since is not None:
        # inclusive: dlt's incremental drops the boundary rows it already loaded
        params["modifiedTimestamp_gte"] = since_text(since)

    def parse(url: str, body: bytes) -> tuple[JsonPage, str | None]:
        page = JsonPage(body, spec.name, spec, lambda b: client.decode(url, b))
        if not page.is_list:
            raise SourceError("actionstep", f"{spec.name}: the answer has no '{spec.name}' list",
                              "Check sources.actionstep.base_url / api_url.")
        meta = page.other.get("meta")
        paging = (meta.get("paging") if isinstance(meta, dict) else None) or {}
        mine = (paging.get(spec.name) if isinstance(paging, dict) else None) or {}
        return page, mine.get("nextPage") if isinstance(mine, dict) else None

    return paged(client, f"{api_url}/{spec.name}", params, parse)
