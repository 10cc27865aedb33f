"""LPM A emulator, shaped like the Clio Manage API v4.

``GET /api/v4/<resource>.json`` for every parquet file in ``<firm>/clio/`` (users, contacts,
matters, activities, activity_rates, calendar_entries, bills, line_items, allocations,
credit_memos), ``GET /api/v4/<resource>/<id>.json`` for one record, and ``POST /oauth/token``.
Query parameters: ``fields`` (default ``id,etag`` as in Clio; one nesting level
``matter{id}``), ``limit`` (1..200), ``page_token`` (opaque cursor taken from
``meta.paging.next``), ``order=id(asc)`` (the only order), ``updated_since`` and
``created_since`` (ISO-8601, inclusive). See README.md.
"""
from __future__ import annotations

import base64
import json

import numpy as np

from .faults import Faults
from .server import BadRequest, EmulatorServer, Request, Response, Table, parse_timestamp

PREFIX = "/api/v4/"


def parse_fields(text: str, table: Table) -> tuple[str, ...]:
    """Clio ``fields=`` -> the flat columns to serve, in table order."""
    items, depth, cur = [], 0, ""
    for ch in text:
        if ch == "{":
            depth += 1
            if depth > 1:
                raise BadRequest("fields: only one level of nesting is supported "
                                 f"(in {text!r})")
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise BadRequest(f"fields: unbalanced braces in {text!r}")
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    if depth:
        raise BadRequest(f"fields: unbalanced braces in {text!r}")
    items.append(cur)
    wanted: set[str] = set()
    for item in (i.strip() for i in items):
        if not item:
            continue
        if "{" in item:
            name, inner = item.split("{", 1)
            subs = [s.strip() for s in inner.rstrip("}").split(",") if s.strip()]
        else:
            name, subs = item, None
        group = [c for c in table.columns if c.startswith(name + "__")]
        if name in table.columns and subs is None:
            wanted.add(name)
        elif group:
            if subs is None:
                wanted.update(group)
            for sub in subs or []:
                col = f"{name}__{sub}"
                if col not in table.columns:
                    raise BadRequest(f"Invalid field: {name}{{{sub}}} is not a field of "
                                     f"{table.name}")
                wanted.add(col)
        else:
            raise BadRequest(f"Invalid field: {name!r} is not a field of {table.name}; "
                             f"fields: {', '.join(table.field_names())}")
    return tuple(c for c in table.columns if c in wanted)


def encode_token(after: object) -> str:
    raw = json.dumps({"after": after.item() if hasattr(after, "item") else after})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> object:
    try:
        pad = "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(token + pad))["after"]
    except (ValueError, KeyError, TypeError):
        raise BadRequest(f"page_token {token!r} is not valid") from None


class ClioEmulator(EmulatorServer):
    name = "clio"
    token_path = "/oauth/token"
    default_limit = 200
    max_limit = 200

    def __init__(self, *args, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kw)
        self._fields_cache: dict[tuple[str, str], tuple[str, ...]] = {}

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/v4"

    def route(self, req: Request) -> Response:
        p = req.path
        if not (p.startswith(PREFIX) and p.endswith(".json")):
            return self.error(404, "not_found", f"no endpoint {p}; try {PREFIX}activities.json")
        rest = p[len(PREFIX):-len(".json")]
        if "/" in rest:
            resource, rid = rest.split("/", 1)
            return self.serve_data(req, resource, lambda f: self.one(req, resource, rid, f))
        return self.serve_data(req, rest, lambda f: self.page(req, rest, f))

    def _columns(self, req: Request, t: Table) -> tuple[str, ...]:
        fields = req.arg("fields")
        if fields is None:
            return tuple(c for c in t.columns if c in ("id", "etag")) or (t.pk,)
        got = self._fields_cache.get((t.name, fields))
        if got is None:
            got = parse_fields(fields, t)  # raises BadRequest; not cached then
            if len(self._fields_cache) > 1024:
                self._fields_cache.clear()
            self._fields_cache[(t.name, fields)] = got
        return got

    def one(self, req: Request, resource: str, rid: str, faults: Faults) -> Response:
        t = self.table(resource)
        key: object = rid
        if t.ids.dtype.kind in "iu":
            try:
                key = int(rid)
            except ValueError:
                raise BadRequest(f"id {rid!r} is not an integer", 404, "not_found") from None
        pos = int(np.searchsorted(t.ids, key))
        if pos >= len(t) or t.ids[pos] != key:
            raise BadRequest(f"{resource} {rid} not found", 404, "not_found")
        rows = self.add_record_extras(
            t.encode(slice(pos, pos + 1), self._columns(req, t), faults.string_amounts), faults)
        return Response(200, ('{"data":' + rows[0] + "}").encode())

    def page(self, req: Request, resource: str, faults: Faults) -> Response:
        t = self.table(resource)
        columns = self._columns(req, t)
        order = req.arg("order")
        if order not in (None, "", "id(asc)"):
            raise BadRequest(f"order {order!r} is not supported by the emulator; "
                             "only cursor pagination with order=id(asc)")
        try:
            limit = int(req.arg("limit") or self.default_limit)
        except ValueError:
            raise BadRequest(f"limit {req.arg('limit')!r} is not an integer") from None
        if not 1 <= limit <= self.max_limit:
            raise BadRequest(f"limit must be between 1 and {self.max_limit}, got {limit}")
        since = req.arg("updated_since")
        created = req.arg("created_since")
        idx = t.since(ge_us=parse_timestamp(since, "updated_since") if since else None,
                      created_ge_us=parse_timestamp(created, "created_since")
                      if created else None)
        token = req.arg("page_token")
        start = 0
        if token:
            after = decode_token(token)
            start = int(np.searchsorted(t.ids, after, side="right"))
        total = len(t) if idx is None else len(idx)
        if idx is None:
            stop = min(start + limit, len(t))
            rows_sel: slice | np.ndarray = slice(start, max(start, stop))
            more = stop < len(t)
            last = t.ids[stop - 1] if stop > start else None
        else:
            i0 = int(np.searchsorted(idx, start, side="left"))
            rows_sel = idx[i0:i0 + limit]
            more = i0 + limit < len(idx)
            last = t.ids[rows_sel[-1]] if len(rows_sel) else None
        rows = self.add_record_extras(t.encode(rows_sel, columns, faults.string_amounts),
                                      faults)
        paging: dict[str, str] = {}
        if more and last is not None:
            paging["next"] = req.url(page_token=encode_token(last))
        meta = json.dumps({"paging": paging, "records": total})
        body = '{"data":[' + ",".join(rows) + '],"meta":' + meta + "}"
        return Response(200, body.encode())
