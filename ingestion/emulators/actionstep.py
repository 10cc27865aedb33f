"""LPM B emulator, shaped like the Actionstep REST API.

``GET /api/rest/<resource>`` for every parquet file in ``<firm>/actionstep/`` (actions,
timeentries, disbursements, bills, billlines, participants, rates, receipts, writeoffs),
``GET /api/rest/<resource>/<id>`` for one record, and ``POST /api/oauth/token``.
Paging ``page`` (1-based) / ``pageSize`` (default 50, max 200) with
``meta.paging.<resource>.{recordCount, pageCount, page, pageSize, prevPage, nextPage}``
(full URLs or null); relations under ``links``; "T"/"F" booleans and offset timestamps as
generated. Incremental filter: ``modifiedTimestamp_gt=<iso>`` (strict) or
``modifiedTimestamp_gte=<iso>``; the same as ``filter=modifiedTimestamp_gt:<iso>``.
Rows are always in ``id`` order (``sort=id``). See README.md.
"""
from __future__ import annotations

import json
import math

import numpy as np

from .faults import Faults
from .server import BadRequest, EmulatorServer, Request, Response, Table, parse_timestamp

PREFIX = "/api/rest/"

# links__<name> -> the resource a link id points to (for the top-level "links" templates)
LINK_TARGETS = {
    "action": "actions", "owner": "participants", "bill": "bills", "timeentry": "timeentries",
    "disbursement": "disbursements", "theirParticipant": "participants",
    "primaryParticipants": "participants", "assignedTo": "participants",
    "billingPartner": "participants", "utbmsTaskCode": "utbmscodes",
    "utbmsActivityCode": "utbmscodes", "utbmsExpenseCode": "utbmscodes",
}


class ActionstepEmulator(EmulatorServer):
    name = "actionstep"
    token_path = "/api/oauth/token"
    default_limit = 50
    max_limit = 200
    null_relations = False  # "links" is always an object, with null ids inside
    orgkey = "halemarsh"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/rest"

    def token_response(self, grant: dict) -> dict:
        return {**grant, "scope": "all", "api_endpoint": self.api_url + "/",
                "orgkey": self.orgkey}

    def error(self, status: int, code: str, message: str,
              headers: dict[str, str] | None = None) -> Response:
        body = {"errors": [{"status": str(status), "title": code, "detail": message}]}
        return Response(status, json.dumps(body).encode(), headers or {})

    def route(self, req: Request) -> Response:
        p = req.path.rstrip("/")
        if not p.startswith(PREFIX):
            return self.error(404, "not_found", f"no endpoint {p}; try {PREFIX}timeentries")
        rest = p[len(PREFIX):]
        if "/" in rest:
            resource, rid = rest.split("/", 1)
            return self.serve_data(req, resource, lambda f: self.one(req, resource, rid, f))
        return self.serve_data(req, rest, lambda f: self.page(req, rest, f))

    def _links(self, req: Request, t: Table) -> dict[str, str]:
        out = {}
        for c in t.columns:
            if c.startswith("links__"):
                rel = c[len("links__"):]
                target = LINK_TARGETS.get(rel, rel)
                out[f"{t.name}.{rel}"] = f"{req.base_url}{PREFIX}{target}/{{{t.name}.{rel}}}"
        return out

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
            t.encode(slice(pos, pos + 1), tuple(t.columns), faults.string_amounts), faults)
        body = ('{"links":' + json.dumps(self._links(req, t)) + ',"' + resource + '":'
                + rows[0] + ',"linked":{},"meta":{"paging":{}}}')
        return Response(200, body.encode())

    def _filters(self, req: Request) -> tuple[int | None, int | None]:
        gt = req.arg("modifiedTimestamp_gt")
        gte = req.arg("modifiedTimestamp_gte")
        for f in req.query.get("filter", []):
            name, _, value = f.partition(":")
            if name == "modifiedTimestamp_gt":
                gt = value
            elif name == "modifiedTimestamp_gte":
                gte = value
            else:
                raise BadRequest(f"filter {f!r} is not supported; use "
                                 "modifiedTimestamp_gt:<iso> or modifiedTimestamp_gte:<iso>")
        return (parse_timestamp(gt, "modifiedTimestamp_gt") if gt else None,
                parse_timestamp(gte, "modifiedTimestamp_gte") if gte else None)

    def page(self, req: Request, resource: str, faults: Faults) -> Response:
        t = self.table(resource)
        sort = req.arg("sort")
        if sort not in (None, "", "id"):
            raise BadRequest(f"sort {sort!r} is not supported by the emulator; only sort=id")
        try:
            page = int(req.arg("page") or 1)
            size = int(req.arg("pageSize") or self.default_limit)
        except ValueError:
            raise BadRequest("page and pageSize must be integers") from None
        if page < 1:
            raise BadRequest(f"page must be >= 1, got {page}")
        if not 1 <= size <= self.max_limit:
            raise BadRequest(f"pageSize must be between 1 and {self.max_limit}, got {size}")
        gt, gte = self._filters(req)
        idx = t.since(gt_us=gt, ge_us=gte)
        total = len(t) if idx is None else len(idx)
        start = (page - 1) * size
        stop = min(start + size, total)
        if idx is None:
            sel: slice | np.ndarray = slice(min(start, total), max(min(start, total), stop))
        else:
            sel = idx[start:stop]
        rows = self.add_record_extras(t.encode(sel, tuple(t.columns), faults.string_amounts),
                                      faults)
        page_count = math.ceil(total / size) if total else 0
        paging = {
            "recordCount": total, "pageCount": page_count, "page": page, "pageSize": size,
            "prevPage": req.url(page=page - 1) if page > 1 else None,
            "nextPage": req.url(page=page + 1) if page < page_count else None,
        }
        body = ('{"links":' + json.dumps(self._links(req, t)) + ',"' + resource + '":['
                + ",".join(rows) + '],"linked":{},"meta":{"paging":'
                + json.dumps({resource: paging}) + "}}")
        return Response(200, body.encode())
