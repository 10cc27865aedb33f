"""OData paging: ``$filter`` on the cursor, ``$orderby`` key, ``@odata.nextLink``."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingestion.sources.common.http import ApiClient, SourceError
from ingestion.sources.common.pages import JsonPage, Resource
from ingestion.sources.common.rest import paged, since_text


def odata_pages(client: ApiClient, api_url: str, collection: str, spec: Resource,
                since: Any) -> Iterator[JsonPage]:
    """Each answer's ``value`` (read into Arrow by :class:`JsonPage`), following
    ``@odata.nextLink`` (fetched while this page is converted)."""
    params: dict[str, Any] = {"$orderby": f"{spec.primary_key} asc"}
    if since is not None and spec.cursor:
        params["$filter"] = f"{spec.cursor} ge {since_text(since, z=True)}"

    def parse(url: str, body: bytes) -> tuple[JsonPage, str | None]:
        page = JsonPage(body, "value", spec, lambda b: client.decode(url, b))
        if not page.is_list:
            raise SourceError("ebilling", f"{collection}: the answer has no OData 'value' list",
                              "Check sources.ebilling.base_url / api_url.")
        link = page.other.get("@odata.nextLink")
        return page, link if isinstance(link, str) else None

    return paged(client, f"{api_url}/{collection}", params, parse)
