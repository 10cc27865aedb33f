"""Clio paging: ``fields=`` with nested relations, ``order=id(asc)`` cursor pages."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingestion.sources.common.http import ApiClient, SourceError
from ingestion.sources.common.pages import JsonPage, Resource
from ingestion.sources.common.rest import paged, since_text


def fields_param(spec: Resource) -> str:
    """``id,etag,...,matter{id},user{id}``: Clio sends only ``id,etag`` unless asked."""
    plain: list[str] = []
    nested: dict[str, list[str]] = {}
    for f in spec.fields:
        if len(f.path) == 2:
            if f.path[0] not in nested:
                nested[f.path[0]] = []
                plain.append(f.path[0])
            nested[f.path[0]].append(f.path[1])
        else:
            plain.append(f.name)
    return ",".join(f"{p}{{{','.join(nested[p])}}}" if p in nested else p for p in plain)


def clio_pages(client: ApiClient, api_url: str, spec: Resource, page_size: int,
               since: Any) -> Iterator[JsonPage]:
    """Each answer's ``data`` (read into Arrow by :class:`JsonPage`), following
    ``meta.paging.next`` (the next page is fetched while this one is converted)."""
    params: dict[str, Any] = {"fields": fields_param(spec), "limit": page_size,
                              "order": "id(asc)"}
    if since is not None:
        params["updated_since"] = since_text(since)

    def parse(url: str, body: bytes) -> tuple[JsonPage, str | None]:
        page = JsonPage(body, "data", spec, lambda b: client.decode(url, b))
        if not page.is_list:
            raise SourceError("clio", f"{spec.name}: the answer has no 'data' list",
                              "Check sources.clio.base_url (it must be the API host).")
        meta = page.other.get("meta")
        paging = (meta.get("paging") if isinstance(meta, dict) else None) or {}
        return page, paging.get("next") if isinstance(paging, dict) else None

    return paged(client, f"{api_url}/{spec.name}.json", params, parse)
