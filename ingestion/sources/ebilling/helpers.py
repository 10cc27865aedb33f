"""OData paging: ``$filter`` on the cursor, ``$orderby`` key, ``@odata.nextLink``."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingestion.sources.common.http import ApiClient, SourceError
from ingestion.sources.common.pages import Resource
from ingestion.sources.common.rest import since_text


def odata_pages(client: ApiClient, api_url: str, collection: str, spec: Resource,
                since: Any) -> Iterator[list[dict[str, Any]]]:
    url: str | None = f"{api_url}/{collection}"
    params: dict[str, Any] | None = {"$orderby": f"{spec.primary_key} asc"}
    if since is not None and spec.cursor:
        assert params is not None
        params["$filter"] = f"{spec.cursor} ge {since_text(since, z=True)}"
    while url:
        body = client.get(url, params)
        rows = body.get("value") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise SourceError("ebilling", f"{collection}: the answer has no OData 'value' list",
                              "Check sources.ebilling.base_url / api_url.")
        yield rows
        url = body.get("@odata.nextLink")
        params = None  # the next link carries $skip/$top and the filter
