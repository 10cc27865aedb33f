"""E-billing platform emulator, in the style of the Legal Tracker Billing API (OData).

``GET /billing-api/v1/<collection>`` for every parquet file in ``<firm>/ebilling/``
(invoices, statusHistory = status_history, adjustments, appeals, payments),
``GET /billing-api/v1/<collection>(<id>)`` for one record, and ``POST /oauth/token``.
Every data request needs ``Authorization: Bearer <token>`` and the ``Company-ID`` header.
OData options: ``$filter``, ``$orderby``, ``$top``, ``$skip``, ``$count=true``, ``$select``,
``$expand=adjustments`` (invoices). Server paging: at most ``maxpagesize`` records per
response (default 200, ``Prefer: odata.maxpagesize=N`` up to 1000), continued by
``@odata.nextLink``. See README.md.
"""
from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import polars as pl

from .faults import Faults
from .odata import parse_filter, parse_orderby
from .server import BadRequest, EmulatorServer, Request, Response, Table

PREFIX = "/billing-api/v1/"
DEFAULT_COMPANY_ID = "HALE-MARSH-24-6437381"


def _camel(stem: str) -> str:
    head, *rest = stem.split("_")
    return head + "".join(r.title() for r in rest)


class EbillingEmulator(EmulatorServer):
    name = "ebilling"
    token_path = "/oauth/token"
    default_limit = 200
    max_limit = 1000
    ts_format = "%Y-%m-%dT%H:%M:%SZ"
    null_relations = False

    def __init__(self, *args: Any, company_id: str = DEFAULT_COMPANY_ID, **kw: Any):
        super().__init__(*args, **kw)
        self.company_id = company_id
        self.collections = {_camel(stem): stem for stem in self.tables}
        self._adjustments_json: dict[bool, dict[Any, str]] = {}
        self._adj_lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return self.base_url + "/billing-api/v1"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "company_id": self.company_id}

    def error(self, status: int, code: str, message: str,
              headers: dict[str, str] | None = None) -> Response:
        body = {"error": {"code": code, "message": message}}
        return Response(status, json.dumps(body).encode(), headers or {})

    def check_headers(self, req: Request) -> None:
        cid = req.headers.get("Company-ID")
        if not cid:
            raise BadRequest("the Company-ID header is required", 400, "MissingCompanyId")
        if cid != self.company_id:
            raise BadRequest(f"Company-ID {cid!r} is not known to this token", 403,
                             "Forbidden")

    def route(self, req: Request) -> Response:
        p = req.path.rstrip("/")
        if not p.startswith(PREFIX):
            return self.error(404, "NotFound", f"no endpoint {p}; try {PREFIX}invoices")
        rest = p[len(PREFIX):]
        key = None
        if rest.endswith(")") and "(" in rest:
            rest, key = rest[:-1].split("(", 1)
        stem = self.collections.get(rest, rest if rest in self.tables else None)
        if stem is None:
            return self.error(404, "NotFound", f"no collection {rest!r}; collections: "
                              f"{', '.join(sorted(self.collections))}")
        if key is not None:
            return self.serve_data(req, stem, lambda f: self.one(req, stem, key, f))
        return self.serve_data(req, stem, lambda f: self.page(req, stem, f))

    # -- helpers -----------------------------------------------------------------------------
    def _select(self, req: Request, t: Table) -> tuple[str, ...]:
        sel = req.arg("$select")
        if not sel:
            return tuple(t.columns)
        names = [s.strip() for s in sel.split(",") if s.strip()]
        bad = [n for n in names if n not in t.columns]
        if bad:
            raise BadRequest(f"$select: unknown field(s) {', '.join(bad)}; fields: "
                             f"{', '.join(t.columns)}")
        return tuple(c for c in t.columns if c in names)

    def _expand(self, req: Request, stem: str) -> bool:
        exp = req.arg("$expand")
        if not exp:
            return False
        if exp.strip() != "adjustments" or stem != "invoices" or "adjustments" not in self.tables:
            raise BadRequest(f"$expand={exp!r} is not supported here; only "
                             "$expand=adjustments on invoices")
        return True

    def _adjustments_by_invoice(self, string_money: bool) -> dict[Any, str]:
        with self._adj_lock:
            got = self._adjustments_json.get(string_money)
            if got is None:
                a = self.tables["adjustments"]
                rows = a.encode(slice(0, len(a)), tuple(a.columns), string_money)
                inv = a.df["invoiceId"].to_list()
                grouped: dict[Any, list[str]] = {}
                for k, r in zip(inv, rows):
                    grouped.setdefault(k, []).append(r)
                got = {k: "[" + ",".join(v) + "]" for k, v in grouped.items()}
                self._adjustments_json[string_money] = got
            return got

    def _rows(self, req: Request, stem: str, t: Table, sel: slice | np.ndarray,
              faults: Faults) -> list[str]:
        rows = t.encode(sel, self._select(req, t), faults.string_amounts)
        if self._expand(req, stem):
            adj = self._adjustments_by_invoice(faults.string_amounts)
            ids = t.ids[sel]
            rows = [r[:-1] + ',"adjustments":' + adj.get(k, "[]") + "}"
                    for r, k in zip(rows, ids.tolist())]
        return self.add_record_extras(rows, faults)

    def one(self, req: Request, stem: str, key: str, faults: Faults) -> Response:
        t = self.table(stem)
        k: object = key.strip("'")
        if t.ids.dtype.kind in "iu":
            try:
                k = int(key)
            except ValueError:
                raise BadRequest(f"key {key!r} is not an integer", 404, "NotFound") from None
        pos = int(np.searchsorted(t.ids, k))
        if pos >= len(t) or t.ids[pos] != k:
            raise BadRequest(f"{stem}({key}) not found", 404, "NotFound")
        rows = self._rows(req, stem, t, slice(pos, pos + 1), faults)
        return Response(200, rows[0].encode())

    def page(self, req: Request, stem: str, faults: Faults) -> Response:
        t = self.table(stem)
        try:
            top = int(req.arg("$top")) if req.arg("$top") else None
            skip = int(req.arg("$skip") or 0)
        except ValueError:
            raise BadRequest("$top and $skip must be integers") from None
        if skip < 0 or (top is not None and top < 0):
            raise BadRequest("$top and $skip must be >= 0")
        pagesize = self.default_limit
        prefer = req.headers.get("Prefer") or ""
        if "odata.maxpagesize=" in prefer:
            try:
                pagesize = int(prefer.split("odata.maxpagesize=", 1)[1].split(",")[0])
            except ValueError:
                raise BadRequest(f"Prefer: bad odata.maxpagesize in {prefer!r}") from None
        pagesize = max(1, min(pagesize, self.max_limit))
        flt, orderby = req.arg("$filter") or "", req.arg("$orderby") or ""
        idx = self._index(t, flt, orderby)
        total = len(t) if idx is None else len(idx)
        want = total - skip if top is None else min(top, total - skip)
        n = max(0, min(want, pagesize))
        start = min(skip, total)
        sel: slice | np.ndarray = slice(start, start + n) if idx is None else idx[start:start + n]
        rows = self._rows(req, stem, t, sel, faults)
        head: dict[str, Any] = {"@odata.context":
                                f"{self.api_url}/$metadata#{_camel(stem)}"}
        if (req.arg("$count") or "").lower() == "true":
            head["@odata.count"] = total
        body = json.dumps(head)[:-1] + ',"value":[' + ",".join(rows) + "]"
        if want > n:
            nxt = req.url(**{"$skip": start + n,
                             "$top": (top - n) if top is not None else None})
            body += ',"@odata.nextLink":' + json.dumps(nxt)
        headers = {"Preference-Applied": f"odata.maxpagesize={pagesize}"} if prefer else {}
        return Response(200, (body + "}").encode(), headers)

    def _index(self, t: Table, flt: str, orderby: str) -> np.ndarray | None:
        if orderby.split() in ([t.pk], [t.pk, "asc"]):
            orderby = ""  # the natural order already
        if not flt and not orderby:
            return None

        def build() -> np.ndarray:
            frame = t.df.with_row_index("__pos")
            if flt:
                frame = frame.filter(parse_filter(flt, t.df.schema))
            if orderby:
                cols, desc = parse_orderby(orderby, t.df.schema)
                frame = frame.sort(cols + ["__pos"], descending=desc + [False],
                                   nulls_last=True)
            return frame["__pos"].cast(pl.Int64).to_numpy()
        return t.cached_index(("odata", flt, orderby), build)
