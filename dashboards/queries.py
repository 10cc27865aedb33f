"""Every SQL statement the dashboard runs: read-only, parameters bound, scope enforced here.

Each public function takes the path of the published warehouse (``serving.duckdb``), the
caller's ``Scope`` (from the signed-in user, never from the browser) and the page ``Filters``;
it takes one short read-only DuckDB connection (``connect``: from the published file's anchor
connection), runs its statements and closes it; a publish by atomic file replace is picked up by
the next request. The page callbacks are thin wrappers
around these functions, so a benchmark can time them without a browser (``PAGE_QUERIES``).

Scope rule: a partner sees only rows of matters whose billing partner is their own timekeeper
id. The rule is added to every statement as a bound parameter; a partner scope without a
timekeeper id sees nothing. Browser-supplied values (filters, sort columns, grid filters) are
validated: values are bound parameters, identifiers are looked up in fixed allow-lists.
"""
from __future__ import annotations

import calendar
import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_VALUE_LEN = 64
EXPORT_ROW_LIMIT = 1_000_000


class WarehouseUnavailable(RuntimeError):
    """The published warehouse file is missing or cannot be opened."""


@dataclass(frozen=True)
class Scope:
    role: str
    partner_id: str | None = None

    @property
    def is_partner(self) -> bool:
        return self.role == "partner"


def _clean(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_VALUE_LEN:
        return None
    return value


@dataclass(frozen=True)
class Filters:
    """Page filters as the browser sent them, reduced to plain strings or None."""

    period_from: str | None = None
    period_to: str | None = None
    office: str | None = None
    partner: str | None = None
    client: str | None = None
    matter: str | None = None

    @classmethod
    def from_inputs(cls, period_from=None, period_to=None, office=None, partner=None,
                    client=None, matter=None) -> Filters:
        pf, pt = _clean(period_from), _clean(period_to)
        pf = pf if pf and PERIOD_RE.match(pf) else None
        pt = pt if pt and PERIOD_RE.match(pt) else None
        if pf and pt and pf > pt:
            pf, pt = pt, pf
        return cls(pf, pt, _clean(office), _clean(partner), _clean(client), _clean(matter))

    @property
    def start(self) -> date | None:
        if not self.period_from:
            return None
        y, m = map(int, self.period_from.split("-"))
        return date(y, m, 1)

    @property
    def end(self) -> date | None:
        """Last day of ``period_to``."""
        if not self.period_to:
            return None
        y, m = map(int, self.period_to.split("-"))
        return date(y, m, calendar.monthrange(y, m)[1])


# --------------------------------------------------------------------------- connections
# DuckDB keeps one database instance per file and process (catalog, buffer cache): opening a
# connection to a file that another open connection holds reuses that instance, and opening a
# fresh one re-reads the catalog (tens of ms on a large file). So the first request for a
# published file opens a long-lived read-only *anchor* connection, and every request gets its
# own short connection from it (``anchor.cursor()``), closed when the request ends.
#
# The anchor is tied to the file's identity (inode, device, size, mtime). A publish replaces
# the file by rename (new inode): the next request sees the change, retires the old anchor and
# opens a new one. DuckDB's instance cache is keyed by path, so the old instance must be gone
# before the new file can be opened: requests still running on the old snapshot finish on it
# (their connections stay valid), the last of them closes the old anchor, and requests for the
# new file wait for that (milliseconds) instead of failing or reading the old snapshot.
RETIRE_WAIT_S = 120.0


class _Anchor:
    def __init__(self, path: Path, ident: tuple) -> None:
        self.ident = ident
        self.users = 0
        self.retired = False
        self.con = duckdb.connect(str(path), read_only=True)
        # the file's catalog does not change while it is published: looked up once
        self.relations: set[str] | None = None
        self.columns: dict[str, set[str]] = {}

    def close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error:  # pragma: no cover - closing never matters to readers
            pass


_ANCHORS: dict[str, _Anchor] = {}
_OPEN: dict[int, _Anchor] = {}  # id(connection handed out) -> its anchor, while it is open
_ANCHOR_LOCK = threading.Condition()


def _identity(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        raise WarehouseUnavailable(
            f"{path}: the warehouse has not been published yet; run `lexrecon build` and "
            "`lexrecon publish` (or `make run`)"
        ) from None
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns)


def _acquire(path: Path) -> _Anchor:
    key = str(path.resolve())
    deadline = time.monotonic() + RETIRE_WAIT_S
    with _ANCHOR_LOCK:
        while True:
            ident = _identity(path)
            anchor = _ANCHORS.get(key)
            if anchor is not None and anchor.ident == ident:
                anchor.users += 1
                return anchor
            if anchor is not None:  # a publish replaced the file: retire the old snapshot
                anchor.retired = True
                if anchor.users == 0:
                    anchor.close()
                    del _ANCHORS[key]
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WarehouseUnavailable(f"{path}: readers of the previous snapshot are "
                                               "still running; try again")
                _ANCHOR_LOCK.wait(min(left, 1.0))
                continue
            try:
                anchor = _Anchor(path, ident)
            except duckdb.Error as exc:  # pragma: no cover - depends on the file system
                raise WarehouseUnavailable(
                    f"{path}: cannot open the warehouse read-only: {exc}") from exc
            _ANCHORS[key] = anchor
            anchor.users += 1
            return anchor


def _release(path: Path, anchor: _Anchor) -> None:
    key = str(path.resolve())
    with _ANCHOR_LOCK:
        anchor.users -= 1
        if anchor.retired and anchor.users == 0:
            anchor.close()
            if _ANCHORS.get(key) is anchor:
                del _ANCHORS[key]
            _ANCHOR_LOCK.notify_all()


def release_all() -> None:
    """Close every idle anchor connection (tests, or before deleting a published file)."""
    with _ANCHOR_LOCK:
        for key, anchor in list(_ANCHORS.items()):
            anchor.retired = True
            if anchor.users == 0:
                anchor.close()
                del _ANCHORS[key]


@contextmanager
def connect(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One short read-only connection to the published warehouse (from the file's anchor)."""
    path = Path(db)
    anchor = _acquire(path)
    con = None
    try:
        with _ANCHOR_LOCK:  # the anchor's cursor list is shared by the request threads
            try:
                con = anchor.con.cursor()
            except duckdb.Error as exc:  # pragma: no cover - depends on the file system
                raise WarehouseUnavailable(f"{path}: cannot open the warehouse: {exc}") from exc
            _OPEN[id(con)] = anchor
        yield con
    finally:
        if con is not None:
            with _ANCHOR_LOCK:
                _OPEN.pop(id(con), None)
                con.close()
        _release(path, anchor)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    """The rows as dicts of plain values (as ``_plain``: DECIMAL -> float, DATE -> ISO text).
    Converted column by column through Arrow: building a Python ``Decimal`` per cell costs
    more than the query on the large pre-aggregated pages. The money is summed as DECIMAL in
    SQL; only the finished value is turned into a float for display."""
    con.abort()  # finish an earlier execute() of this request left at fetchone()
    table = con.sql(sql, params=list(params)).to_arrow_table()
    columns = []
    for col in table.columns:
        kind = col.type
        if pa.types.is_decimal(kind):  # HUGEINT sums arrive as decimal(38, 0): keep ints
            # via the exact decimal text: the nearest float, as float(Decimal) gives
            col = pc.cast(pc.cast(col, pa.string()),
                          pa.int64() if kind.scale == 0 else pa.float64())
        elif pa.types.is_date(kind):
            col = pc.cast(col, pa.string())
        columns.append(col)
    names = table.column_names
    return [dict(zip(names, row, strict=True)) for row in zip(
        *(c.to_pylist() for c in columns), strict=True)] if table.num_rows else []


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    row = con.execute(sql, list(params)).fetchone()
    return _plain(row[0]) if row else None


# --------------------------------------------------------------------------- mart names
# Every relation the dashboard reads, in one place. Marts are the contract; the data-health
# page also reads the load tallies and the dbt tie-out failure tables (schema ``audit``).
DIM_CLIENTS = "marts.dim_clients"
DIM_MATTERS = "marts.dim_matters"
DIM_TIMEKEEPERS = "marts.dim_timekeepers"
FCT_TIME = "marts.fct_time_entries"
FCT_INVOICES = "marts.fct_invoices"
FCT_LINES = "marts.fct_invoice_lines"
FCT_PAYMENTS = "marts.fct_payments"
FCT_REJECTIONS = "marts.fct_rejections"
FCT_OCG = "marts.fct_ocg_violations"
FCT_AGING = "marts.fct_ar_aging"
FCT_ROLL = "marts.fct_ar_roll_forward"
FCT_WRITE_OFFS = "marts.fct_write_offs"
FCT_VARIANCE = "marts.fct_invoice_sales_variance"
FCT_VARIANCE_MONTHLY = "marts.fct_sales_variance_monthly"
SALES_BOOKINGS = "staging.stg_sales__revenue_bookings"  # source records behind a variance
FCT_LEAKAGE = "marts.fct_revenue_leakage"
FCT_WORKLIST = "marts.fct_collections_worklist"
FCT_REALIZATION = "marts.fct_realization_monthly"
FCT_LOCKUP = "marts.fct_lockup_monthly"
FCT_UNRECORDED = "marts.fct_unrecorded_time"
LOAD_TALLIES = "intermediate.int_load_tallies_unioned"
# Serving marts (dbt_project/models/marts/serving): pre-aggregates and build-time results, so a
# callback reads a small table instead of scanning a multi-million-row fact or fitting a model.
SRV_AGING = "marts.srv_ar_aging_summary"
SRV_LINE_TOTALS = "marts.srv_invoice_line_totals"
SRV_VARIANCE_PARTNER = "marts.srv_sales_variance_partner_monthly"
SRV_WORKLIST = "marts.srv_collections_worklist"
SRV_PREBILL_OCG = "marts.srv_prebill_ocg_exceptions"
SRV_PREBILL_CODES = "marts.srv_prebill_code_suggestions"


class MartMissing(WarehouseUnavailable):
    """A mart the page needs is not in the published warehouse (yet)."""


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    anchor = _OPEN.get(id(con))
    if anchor is not None and anchor.relations is not None:
        return anchor.relations
    found = {f"{s}.{t}" for s, t in con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views()").fetchall()}
    if anchor is not None:
        anchor.relations = found
    return found


def _need(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    missing = [n for n in names if n not in _relations(con)]
    if missing:
        raise MartMissing(f"not in the published warehouse yet: {', '.join(missing)}; "
                          "rebuild and publish (`lexrecon build`, `lexrecon publish`)")


# --------------------------------------------------------------------------- scope + filters
@dataclass(frozen=True)
class Cols:
    """Where a query finds the columns that scope and filters apply to (SQL expressions).
    ``Cols.on("i", date="invoice_date")`` qualifies the usual mart columns with an alias."""

    date: str | None = None
    matter: str | None = "matter_number"
    client: str | None = "client_code"
    office: str | None = "office"
    partner: str | None = "billing_partner_timekeeper_id"
    month: str | None = None  # a 'YYYY-MM' text column the period applies to (instead of date)

    @classmethod
    def on(cls, alias: str, date: str | None = None, month: str | None = None) -> Cols:
        q = f"{alias}." if alias else ""
        return cls(date=f"{q}{date}" if date else None, matter=f"{q}matter_number",
                   client=f"{q}client_code", office=f"{q}office",
                   partner=f"{q}billing_partner_timekeeper_id",
                   month=f"{q}{month}" if month else None)


@dataclass
class Where:
    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return (" where " + " and ".join(self.parts)) if self.parts else ""

    @property
    def and_sql(self) -> str:
        return (" and " + " and ".join(self.parts)) if self.parts else ""


NO_PARTNER = "\x00no-partner\x00"


def _where(scope: Scope, f: Filters, cols: Cols, *, use_period: bool = True) -> Where:
    """Scope first (always), then the page filters, all as bound parameters."""
    w = Where()
    if scope.is_partner:
        # Enforced for every statement: the signed-in partner's own matters only.
        w.add(f"{cols.partner} = ?", scope.partner_id or NO_PARTNER)
    if use_period and cols.date:
        if f.start:
            w.add(f"{cols.date} >= ?", f.start)
        if f.end:
            w.add(f"{cols.date} <= ?", f.end)
    if use_period and cols.month:
        if f.period_from:
            w.add(f"{cols.month} >= ?", f.period_from)
        if f.period_to:
            w.add(f"{cols.month} <= ?", f.period_to)
    if f.office and cols.office:
        w.add(f"{cols.office} = ?", f.office)
    if f.partner and cols.partner:
        w.add(f"{cols.partner} = ?", f.partner)
    if f.client and cols.client:
        w.add(f"{cols.client} = ?", f.client)
    if f.matter and cols.matter:
        w.add(f"{cols.matter} = ?", f.matter)
    return w


def _ratio(num: Any, den: Any) -> float | None:
    if num is None or not den:
        return None
    return float(num) / float(den)


# --------------------------------------------------------------------------- filter options
def filter_options(db: str | Path, scope: Scope) -> dict[str, list[dict]]:
    """Options for the filter bar, limited to what the scope may see."""
    w = _where(scope, Filters(), Cols.on("m"))
    with connect(db) as con:
        months = _rows(con, f"select distinct invoice_month as v from {FCT_INVOICES} "
                            f"union select distinct entry_month from {FCT_TIME} order by v")
        months = [m for m in months if m["v"]]
        matters = _rows(
            con,
            "select m.matter_number, m.client_code, m.office, m.billing_partner_timekeeper_id, "
            f"m.client_name, m.billing_partner_name, m.matter_name from {DIM_MATTERS} m"
            + w.sql + " order by m.matter_number",
            w.params,
        )
    offices = sorted({m["office"] for m in matters if m["office"]})
    partners = sorted({(m["billing_partner_timekeeper_id"], m["billing_partner_name"])
                       for m in matters if m["billing_partner_timekeeper_id"]})
    clients = sorted({(m["client_code"], m["client_name"]) for m in matters if m["client_code"]})
    return {
        "periods": [{"label": r["v"], "value": r["v"]} for r in months],
        "offices": [{"label": o, "value": o} for o in offices],
        "partners": [{"label": f"{n or p} ({p})", "value": p} for p, n in partners],
        "clients": [{"label": f"{n or c} ({c})", "value": c} for c, n in clients],
        "matters": [{"label": f"{m['matter_number']} {m['matter_name'] or ''}".strip(),
                     "value": m["matter_number"], "client": m["client_code"]} for m in matters],
    }


# --------------------------------------------------------------------------- overview
def _as_of(con: duckdb.DuckDBPyConnection, f: Filters) -> Any:
    if f.end:
        return con.execute(f"select max(as_of_date) from {SRV_AGING} where as_of_date <= ?",
                           [f.end]).fetchone()[0]
    return con.execute(f"select max(as_of_date) from {SRV_AGING}").fetchone()[0]


def _lockup(con: duckdb.DuckDBPyConnection, scope: Scope, f: Filters) -> dict[str, Any]:
    """WIP, AR, DSO and lockup at the month end of the period (or the latest month), from
    fct_lockup_monthly (month x billing partner); partners' rows are summed, then the day
    counts are recomputed from the summed amounts and the mart's window lengths."""
    if f.client or f.matter:
        return {"lockup_note": "lockup is kept per billing partner, not per client or matter"}
    w = _where(scope, replace(f, office=None, period_from=None),
               Cols(date=None, matter=None, client=None, office=None,
                    partner="l.billing_partner_timekeeper_id", month="l.month"))
    if f.office:
        w.add(f"l.billing_partner_timekeeper_id in (select tk.timekeeper_id from "
              f"{DIM_TIMEKEEPERS} tk where tk.office = ?)", f.office)
    row = con.execute(
        f"""select l.month, sum(l.wip_usd), sum(l.ar_usd), sum(l.collections_12m_usd),
                   max(l.collections_window_days), sum(l.billings_3m_usd),
                   max(l.billings_window_days)
            from {FCT_LOCKUP} l
            where l.month = (select max(m.month) from {FCT_LOCKUP} m
                             where (? is null or m.month <= ?)){w.and_sql}
            group by l.month""", [f.period_to, f.period_to, *w.params]).fetchone()
    if not row:
        return {"lockup_note": "no lockup rows for this selection"}
    month, wip, ar, coll, coll_days, bill, bill_days = (_plain(v) for v in row)
    per_day_coll = _ratio(coll, coll_days)
    wip_days = _ratio(wip, per_day_coll)
    debtor_days = _ratio(ar, per_day_coll)
    return {"lockup_month": month, "wip_usd": wip or 0.0,
            "wip_days": wip_days, "debtor_days": debtor_days,
            "lockup_days": (wip_days + debtor_days)
            if wip_days is not None and debtor_days is not None else None,
            "dso_days": _ratio(ar, _ratio(bill, bill_days)), "lockup_note": None}


def overview_kpis(db: str | Path, scope: Scope, f: Filters) -> dict[str, Any]:
    """Billed, collected, the realization chain (invoice cohorts of the period: worked at
    standard -> billed -> approved -> collected), open AR, DSO, WIP, lockup, value lost."""
    rz = _where(scope, f, Cols.on("r", month="invoice_month"))
    pay = _where(scope, f, Cols.on("p", "payment_date"))
    wo = _where(scope, f, Cols.on("w", "write_off_date"))
    ar = _where(scope, f, Cols.on("a"), use_period=False)
    lk = _where(scope, f, Cols.on("k", month="month"))
    with connect(db) as con:
        _need(con, FCT_REALIZATION, FCT_LOCKUP, FCT_PAYMENTS, SRV_AGING, FCT_WRITE_OFFS,
              FCT_LEAKAGE)
        worked, billed_fees, billed, approved, pending, collected_cohort = (
            _plain(v) for v in con.execute(
                "select sum(r.worked_value_usd), sum(r.billed_fees_usd), sum(r.billed_usd), "
                "sum(r.approved_usd), sum(r.pending_approval_usd), sum(r.collected_usd) "
                f"from {FCT_REALIZATION} r" + rz.sql, rz.params).fetchone())
        cash = _scalar(con, f"select sum(p.amount_usd) from {FCT_PAYMENTS} p "
                            "where not p.is_voided" + pay.and_sql, pay.params)
        lost = _rows(con, f"select w.write_off_type, sum(w.amount_usd) as usd "
                          f"from {FCT_WRITE_OFFS} w" + wo.sql + " group by 1", wo.params)
        leakage = _scalar(con, f"select sum(k.amount_usd) from {FCT_LEAKAGE} k" + lk.sql,
                          lk.params)
        as_of = _as_of(con, f)
        ar_usd = None
        if as_of is not None:
            ar_usd = _scalar(con, f"select sum(a.open_amount_usd) from {SRV_AGING} a "
                                  "where a.as_of_date = ?" + ar.and_sql, [as_of, *ar.params])
        lockup = _lockup(con, scope, f)
    lost_by = {r["write_off_type"]: r["usd"] or 0.0 for r in lost}
    out = {
        "worked_usd": worked or 0.0,
        "billed_fees_usd": billed_fees or 0.0,
        "billed_usd": billed or 0.0,
        "approved_usd": approved or 0.0,
        "collected_cohort_usd": collected_cohort or 0.0,
        "cash_collected_usd": cash or 0.0,
        "billing_realization": _ratio(billed_fees, worked),
        "approval_realization": _ratio(approved, (billed or 0) - (pending or 0)),
        "collection_realization": _ratio(collected_cohort, billed),
        "realization": _ratio((billed_fees or 0) * (collected_cohort or 0),
                              (worked or 0) * (billed or 0)) if worked and billed else None,
        "ar_usd": ar_usd or 0.0,
        "ar_as_of": _plain(as_of),
        "written_off_usd": sum(lost_by.values()),
        "written_off_by_type": lost_by,
        "leakage_usd": leakage or 0.0,
        "wip_usd": None, "wip_days": None, "debtor_days": None, "lockup_days": None,
        "dso_days": None, "lockup_month": None,
    }
    out.update(lockup)
    return out


def overview_trend(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    """Per invoice month: worked at standard, billed fees, billed, collected to date (invoice
    cohorts), cash collected that month, and the realization ratios."""
    rz = _where(scope, f, Cols.on("r", month="invoice_month"))
    pay = _where(scope, f, Cols.on("p", "payment_date"))
    sql = f"""
        with r as (select r.invoice_month as month, sum(r.worked_value_usd) as worked,
                          sum(r.billed_fees_usd) as billed_fees, sum(r.billed_usd) as billed,
                          sum(r.collected_usd) as collected
                   from {FCT_REALIZATION} r{rz.sql} group by 1),
             c as (select strftime(p.payment_date, '%Y-%m') as month, sum(p.amount_usd) as v
                   from {FCT_PAYMENTS} p where not p.is_voided{pay.and_sql} group by 1),
             months as (select month from r union select month from c)
        select months.month, coalesce(r.worked, 0) as worked_usd,
               coalesce(r.billed_fees, 0) as billed_fees_usd, coalesce(r.billed, 0) as billed_usd,
               coalesce(r.collected, 0) as collected_cohort_usd,
               coalesce(c.v, 0) as cash_collected_usd
        from months left join r using (month) left join c using (month)
        where months.month is not null order by months.month
    """
    with connect(db) as con:
        _need(con, FCT_REALIZATION, FCT_PAYMENTS)
        rows = _rows(con, sql, [*rz.params, *pay.params])
    for r in rows:
        r["billing_realization"] = _ratio(r["billed_fees_usd"], r["worked_usd"])
        r["collection_realization"] = _ratio(r["collected_cohort_usd"], r["billed_usd"])
    return rows


def lockup_trend(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    """Per month end: WIP and AR (USD), WIP days, debtor days, lockup and DSO."""
    if f.client or f.matter:
        return []
    w = _where(scope, replace(f, office=None),
               Cols(date=None, matter=None, client=None, office=None,
                    partner="l.billing_partner_timekeeper_id", month="l.month"))
    if f.office:
        w.add(f"l.billing_partner_timekeeper_id in (select tk.timekeeper_id from "
              f"{DIM_TIMEKEEPERS} tk where tk.office = ?)", f.office)
    with connect(db) as con:
        _need(con, FCT_LOCKUP)
        rows = _rows(con, "select l.month, sum(l.wip_usd) as wip_usd, sum(l.ar_usd) as ar_usd, "
                          "sum(l.collections_12m_usd) as coll, max(l.collections_window_days) "
                          "as coll_days, sum(l.billings_3m_usd) as bill, "
                          f"max(l.billings_window_days) as bill_days from {FCT_LOCKUP} l"
                          + w.sql + " group by 1 order by 1", w.params)
    for r in rows:
        per_day = _ratio(r.pop("coll"), r.pop("coll_days"))
        r["wip_days"] = _ratio(r["wip_usd"], per_day)
        r["debtor_days"] = _ratio(r["ar_usd"], per_day)
        r["lockup_days"] = (r["wip_days"] + r["debtor_days"]) \
            if r["wip_days"] is not None and r["debtor_days"] is not None else None
        r["dso_days"] = _ratio(r["ar_usd"], _ratio(r.pop("bill"), r.pop("bill_days")))
    return rows


# --------------------------------------------------------------------------- aging
AGING_BUCKET_ORDER = ["0-30", "31-60", "61-90", "91-120", "120+"]
_AGING_GROUPS = {
    "client": ("a.client_code", "coalesce(c.client_name, a.client_code)"),
    "matter": ("a.matter_number", "a.matter_number"),
}


def aging_buckets(db: str | Path, scope: Scope, f: Filters, by: str = "client") -> dict:
    """Open AR (USD) by due-date aging bucket for each client or matter at the latest as-of."""
    key, label = _AGING_GROUPS.get(by, _AGING_GROUPS["client"])
    w = _where(scope, f, Cols.on("a"), use_period=False)
    with connect(db) as con:
        _need(con, SRV_AGING, DIM_CLIENTS)
        as_of = _as_of(con, f)
        if as_of is None:
            return {"as_of": None, "rows": []}
        rows = _rows(
            con,
            f"select {key} as key, {label} as label, a.aging_bucket_due_date as bucket, "
            f"sum(a.open_amount_usd) as open_usd from {SRV_AGING} a "
            f"left join {DIM_CLIENTS} c on c.client_code = a.client_code "
            "where a.as_of_date = ?" + w.and_sql + " group by all order by key",
            [as_of, *w.params],
        )
    return {"as_of": _plain(as_of), "rows": rows}


def aging_trend(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    """Open AR (USD) by bucket at each month-end snapshot in the period."""
    w = _where(scope, f, Cols.on("a", "as_of_date"))
    with connect(db) as con:
        _need(con, SRV_AGING)
        return _rows(con, f"select a.as_of_date, a.aging_bucket_due_date as bucket, "
                          f"sum(a.open_amount_usd) as open_usd from {SRV_AGING} a "
                          "where a.as_of_date = last_day(a.as_of_date)" + w.and_sql
                          + " group by all order by a.as_of_date", w.params)


# --------------------------------------------------------------------------- variance
VARIANCE_CAUSES = (
    ("missing_in_sales_usd", "Missing in sales"),
    ("booking_without_invoice_usd", "Booking without invoice"),
    ("duplicate_booking_usd", "Duplicate booking"),
    ("timing_usd", "Timing (cut-off)"),
    ("split_allocation_usd", "Split allocation"),
    ("rate_definition_usd", "Rate definition"),
    ("rounding_fx_usd", "Rounding / FX"),
    ("unexplained_usd", "Unexplained"),
)
_VARIANCE_GROUPS = {  # the group key (over the variance rows v) and its label (over the groups g)
    "month": ("v.month", "g.key", ""),
    "partner": ("v.billing_partner_timekeeper_id",
                "coalesce(t.timekeeper_name || ' (' || g.key || ')', g.key)",
                f" left join {DIM_TIMEKEEPERS} t on t.timekeeper_id = g.key"),
    "client": ("v.client_code", "coalesce(c.client_name || ' (' || g.key || ')', g.key)",
               f" left join {DIM_CLIENTS} c on c.client_code = g.key"),
}


def _variance_where(scope: Scope, f: Filters) -> Where:
    """Monthly variance mart: month, partner and client columns; office via the partner."""
    w = _where(scope, replace(f, office=None, matter=None),
               Cols(date=None, matter=None, client="v.client_code", office=None,
                    partner="v.billing_partner_timekeeper_id", month="v.month"))
    if f.office:
        w.add(f"v.billing_partner_timekeeper_id in (select tk.timekeeper_id from "
              f"{DIM_TIMEKEEPERS} tk where tk.office = ?)", f.office)
    return w


def _variance_source(con: duckdb.DuckDBPyConnection, f: Filters, by: str) -> str:
    """Month x partner x client rows are needed only by client or with a client filter;
    otherwise the month x partner pre-aggregate gives the same sums (tied out in dbt)."""
    if by == "client" or f.client:
        _need(con, FCT_VARIANCE_MONTHLY)
        return FCT_VARIANCE_MONTHLY
    _need(con, SRV_VARIANCE_PARTNER)
    return SRV_VARIANCE_PARTNER


def variance_breakdown(db: str | Path, scope: Scope, f: Filters, by: str = "month") -> list[dict]:
    """Invoice file vs sales system (USD) by month, billing partner or client, with causes."""
    by = by if by in _VARIANCE_GROUPS else "month"
    key, label, label_join = _VARIANCE_GROUPS[by]
    w = _variance_where(scope, f)
    sums = ["invoice_usd", "sales_amount_usd", "variance_usd", *(c for c, _ in VARIANCE_CAUSES)]
    inner = ", ".join(f"sum(v.{c}) as {c}" for c in sums)
    outer = ", ".join(f"g.{c}" for c in sums if c != "sales_amount_usd")
    with connect(db) as con:
        source = _variance_source(con, f, by)
        # sum per group first, then label the groups (a join per group, not per row)
        rows = _rows(con, f"select g.key, {label} as label, g.sales_amount_usd as sales_usd, "
                          f"{outer} from (select {key} as key, {inner} from {source} v{w.sql} "
                          f"group by 1) g{label_join} order by "
                          + ("g.key" if by == "month" else "abs(g.variance_usd) desc, g.key"),
                     w.params)
    for r in rows:
        r["variance_pct"] = _ratio(r["variance_usd"], r["invoice_usd"])
    return rows


def variance_waterfall(db: str | Path, scope: Scope, f: Filters,
                       month: str | None = None) -> dict[str, Any]:
    """Invoices (USD) → each cause → sales system (USD); the causes add up to the variance."""
    month = month if isinstance(month, str) and PERIOD_RE.match(month) else None
    w = _variance_where(scope, f)
    if month:
        w.add("v.month = ?", month)
    causes = ", ".join(f"coalesce(sum(v.{c}), 0)" for c, _ in VARIANCE_CAUSES)
    with connect(db) as con:
        source = _variance_source(con, f, "month")
        row = con.execute(f"select coalesce(sum(v.invoice_usd), 0), "
                          "coalesce(sum(v.sales_amount_usd), 0), "
                          f"coalesce(sum(v.variance_usd), 0), {causes} "
                          f"from {source} v" + w.sql, w.params).fetchone()
    invoice, sales, variance = (Decimal(x) for x in row[:3])
    steps = [{"cause": label, "column": col, "usd": float(v)}
             for (col, label), v in zip(VARIANCE_CAUSES, row[3:])]
    explained = sum(Decimal(v) for v in row[3:])
    return {"month": month, "invoice_usd": float(invoice), "sales_usd": float(sales),
            "variance_usd": float(variance), "causes": steps,
            "causes_add_up": explained == variance and sales - invoice == variance}


def variance_sources(db: str | Path, scope: Scope, variance_key: str) -> dict[str, Any]:
    """The records behind one variance row: the row, and the sales bookings it compares."""
    key = _clean(variance_key)
    w = _where(scope, Filters(), Cols.on("v"))
    with connect(db) as con:
        _need(con, FCT_VARIANCE)
        rows = _rows(con, f"select * from {FCT_VARIANCE} v where v.variance_key = ?" + w.and_sql,
                     [key, *w.params])
        bookings: list[dict] = []
        if rows and SALES_BOOKINGS in _relations(con):
            v = rows[0]
            ids = [i for i in [v.get("booking_id"), *(v.get("duplicate_booking_ids") or "")
                               .split(",")] if i]
            bookings = _rows(con, "select booking_id, invoice_number, customer_id, matter_number, "
                                  "billing_partner_timekeeper_id, period, booking_date, currency, "
                                  "fees_local, expenses_local, amount_local, split_percentage, "
                                  "fx_rate, amount_usd, request_id "
                                  f"from {SALES_BOOKINGS} where (invoice_number = ? "
                                  "or list_contains(?, booking_id)) order by booking_id",
                             [v.get("invoice_number") or "\x00", ids])
    return {"variance": rows[0] if rows else None, "bookings": bookings}


# --------------------------------------------------------------------------- rejections + OCG
_REJ_GROUPS = {
    "reason": "coalesce(r.reason_label, r.reason_code)",
    "client": "coalesce(c.client_name, r.client_code)",
    "timekeeper": "'(invoice level)'",
}
_CUT_GROUPS = {
    "reason": "coalesce(w.reason_label, w.reason_code)",
    "client": "coalesce(c.client_name, w.client_code)",
    "timekeeper": "coalesce(t.timekeeper_name, w.timekeeper_id, '(none)')",
}


def rejection_summary(db: str | Path, scope: Scope, f: Filters) -> dict[str, Any]:
    """E-billed invoices submitted, rejected, the rejection rate and the money cut (USD)."""
    inv = _where(scope, f, Cols.on("i", "invoice_date"))
    rej = _where(scope, f, Cols.on("r", "rejected_date"))
    cut = _where(scope, f, Cols.on("w", "write_off_date"))
    with connect(db) as con:
        _need(con, FCT_INVOICES, FCT_REJECTIONS, FCT_WRITE_OFFS)
        submitted = _scalar(con, f"select count(*) from {FCT_INVOICES} i where "
                                 "i.ebilling_platform is not null and not i.is_void"
                            + inv.and_sql, inv.params) or 0
        rejected, invoices_rejected, unresolved = con.execute(
            f"select count(*), count(distinct r.invoice_number), "
            f"count(*) filter (where not r.is_resolved) from {FCT_REJECTIONS} r"
            + rej.sql, rej.params).fetchone()
        # recovered, converted at the rate of the cut itself (amount_usd / amount)
        recovered_usd = "w.amount_recovered * w.amount_usd / nullif(w.amount, 0)"
        money_cut, recovered = con.execute(
            f"select sum(w.amount_usd), sum({recovered_usd}) "
            f"from {FCT_WRITE_OFFS} w where w.write_off_type = 'ebilling_reduction'"
            + cut.and_sql, cut.params).fetchone()
    return {
        "submitted": int(submitted), "rejections": int(rejected or 0),
        "invoices_rejected": int(invoices_rejected or 0), "unresolved": int(unresolved or 0),
        "rejection_rate": _ratio(invoices_rejected or 0, submitted),
        "money_cut_usd": _plain(money_cut) or 0.0, "recovered_usd": _plain(recovered) or 0.0,
    }


def rejection_breakdown(db: str | Path, scope: Scope, f: Filters, by: str = "reason") -> list[dict]:
    """Rejections (count) and money cut by e-billing reductions (USD) by reason, client or
    timekeeper (rejections are per invoice, so they have no timekeeper)."""
    by = by if by in _REJ_GROUPS else "reason"
    rej = _where(scope, f, Cols.on("r", "rejected_date"))
    cut = _where(scope, f, Cols.on("w", "write_off_date"))
    sql = f"""
        with r as (select {_REJ_GROUPS[by]} as label, count(*) as rejections
                   from {FCT_REJECTIONS} r left join {DIM_CLIENTS} c on c.client_code = r.client_code
                   {rej.sql} group by 1),
             k as (select {_CUT_GROUPS[by]} as label, sum(w.amount_usd) as money_cut_usd,
                          count(*) as cuts
                   from {FCT_WRITE_OFFS} w left join {DIM_CLIENTS} c on c.client_code = w.client_code
                   left join {DIM_TIMEKEEPERS} t on t.timekeeper_id = w.timekeeper_id
                   where w.write_off_type = 'ebilling_reduction'{cut.and_sql} group by 1)
        select coalesce(r.label, k.label) as label, coalesce(r.rejections, 0) as rejections,
               coalesce(k.cuts, 0) as cuts, coalesce(k.money_cut_usd, 0) as money_cut_usd
        from r full outer join k on k.label = r.label
        order by money_cut_usd desc, rejections desc, label
    """
    with connect(db) as con:
        _need(con, FCT_REJECTIONS, FCT_WRITE_OFFS)
        return _rows(con, sql, [*rej.params, *cut.params])


def ocg_violations_by_rule(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    """OCG violations (LEDES lines that break the client's rules file) per rule: lines and the
    amount at risk in USD (null where a rule puts no amount at risk)."""
    w = _where(scope, f, Cols.on("v", "invoice_date"))
    with connect(db) as con:
        _need(con, FCT_OCG)
        return _rows(con, "select v.rule_code as rule, count(*) as violations, "
                          "count(distinct v.invoice_number) as invoices, "
                          f"sum(v.amount_usd) as amount from {FCT_OCG} v" + w.sql
                          + " group by 1 order by violations desc, rule", w.params)


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    anchor = _OPEN.get(id(con))
    if anchor is not None and relation in anchor.columns:
        return anchor.columns[relation]
    schema, table = relation.split(".")
    found = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
        [schema, table]).fetchall()}
    if anchor is not None:
        anchor.columns[relation] = found
    return found


def _first(cols: set[str], *candidates: str) -> str:
    for c in candidates:
        if c in cols:
            return c
    raise MartMissing(f"none of the columns {', '.join(candidates)} is in the mart")


# --------------------------------------------------------------------------- write-offs + leakage
def write_offs_by_category(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    """Value lost (USD) by write-off type and reason."""
    w = _where(scope, f, Cols.on("w", "write_off_date"))
    with connect(db) as con:
        _need(con, FCT_WRITE_OFFS)
        return _rows(con, f"select w.write_off_type as category, coalesce(w.reason_label, "
                          "w.reason_code) as reason, count(*) as items, sum(w.amount_usd) as usd "
                          f"from {FCT_WRITE_OFFS} w" + w.sql
                          + " group by all order by usd desc nulls last", w.params)


def write_offs_trend(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    w = _where(scope, f, Cols.on("w", "write_off_date"))
    with connect(db) as con:
        _need(con, FCT_WRITE_OFFS)
        return _rows(con, "select strftime(w.write_off_date, '%Y-%m') as month, "
                          "w.write_off_type as category, sum(w.amount_usd) as usd "
                          f"from {FCT_WRITE_OFFS} w" + w.sql + " group by all order by 1",
                     w.params)


def leakage_by_category(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    """Revenue leakage (unrecorded calendar time, non-billable time, ...) by category."""
    w = _where(scope, f, Cols.on("k", month="month"))
    with connect(db) as con:
        _need(con, FCT_LEAKAGE)
        return _rows(con, "select k.leakage_category as category, sum(k.event_count) as items, "
                          f"sum(k.hours) as hours, sum(k.amount_usd) as usd from {FCT_LEAKAGE} k"
                          + w.sql + " group by 1 order by usd desc nulls last", w.params)


# --------------------------------------------------------------------------- evidence
def _check(name: str, detail: str, exceptions: int | None, difference: Any = None) -> dict:
    return {"check": name, "detail": detail,
            "exceptions": exceptions, "difference": _plain(difference),
            "status": "n/a" if exceptions is None else ("pass" if exceptions == 0 else "fail")}


def tie_outs(db: str | Path, scope: Scope, f: Filters) -> list[dict]:
    """Tie-out checks for the period, computed on the marts now, plus the dbt tie-out tests'
    stored exceptions for invoices of the period. Each row: pass/fail and the exceptions."""
    if scope.is_partner:
        raise PermissionError("tie-outs are firm-wide; not available to a partner scope")
    inv = _where(scope, f, Cols.on("i", "invoice_date"))
    out: list[dict] = []
    with connect(db) as con:
        _need(con, FCT_INVOICES, SRV_LINE_TOTALS, FCT_ROLL)
        rels = _relations(con)
        lt = _where(scope, f, Cols.on("t", "invoice_date"))
        n, diff = con.execute(  # per invoice: subtotal - Σ lines (pre-summed at build time)
            f"select count(*), sum(abs(t.subtotal_minus_lines)) from {SRV_LINE_TOTALS} t "
            "where not t.is_void and t.subtotal_minus_lines <> 0" + lt.and_sql,
            lt.params).fetchone()
        out.append(_check("Invoice subtotal = Σ lines",
                          "every invoice of the period, LPM lines, to the cent", n, diff))
        n, diff = con.execute(
            f"select count(*), sum(abs(i.total_amount - i.subtotal_amount - i.tax_amount)) "
            f"from {FCT_INVOICES} i where not i.is_void and i.total_amount <> "
            "i.subtotal_amount + i.tax_amount" + inv.and_sql, inv.params).fetchone()
        out.append(_check("Invoice total = subtotal + tax", "every invoice of the period", n,
                          diff))
        months = Where()
        if f.period_from:
            months.add("year_month >= ?", f.period_from)
        if f.period_to:
            months.add("year_month <= ?", f.period_to)
        n, diff = con.execute(
            "select count(*) filter (where roll_forward_difference <> 0), "
            f"sum(abs(roll_forward_difference)) from {FCT_ROLL}" + months.sql,
            months.params).fetchone()
        out.append(_check("AR roll-forward", "opening + billed − collected − written off = "
                          "closing, per month and currency", n, diff))
        n = _scalar(con, f"select count(*) from {FCT_INVOICES} i where not i.is_void and "
                         "i.paid_amount + i.written_off_amount > i.total_amount" + inv.and_sql,
                    inv.params)
        out.append(_check("No invoice over-collected", "paid + written off ≤ total", n))
        if FCT_VARIANCE in rels:
            out.append(_variance_tieout(con, scope, f))
        else:
            out.append(_check("Variance causes add up", f"{FCT_VARIANCE} not published yet",
                              None))
        for name, label in AUDIT_TESTS.items():
            rel = f"audit.{name}"
            if rel not in rels:
                out.append(_check(label, f"{rel} not in the published warehouse", None))
                continue
            cols = _columns(con, rel)
            if "invoice_number" in cols and (f.start or f.end):
                n = _scalar(con, f"select count(*) from {rel} t where t.invoice_number in "
                                 f"(select i.invoice_number from {FCT_INVOICES} i"
                            + inv.sql + ")", inv.params)
                detail = f"dbt test {name}, invoices of the period"
            else:
                n = _scalar(con, f"select count(*) from {rel}")
                detail = f"dbt test {name}, whole build"
            out.append(_check(label, detail, int(n or 0)))
    return out


AUDIT_TESTS = {
    "assert_invoice_totals_equal_lines": "dbt: invoice totals = Σ lines",
    "assert_ledes_invoice_totals": "dbt: LEDES invoice total = Σ line items",
    "assert_ledes_line_math": "dbt: LEDES line math (units × cost + adjustment)",
    "assert_ledes_lines_match_lpm_lines": "dbt: LEDES lines = LPM lines",
    "assert_ar_roll_forward": "dbt: AR roll-forward",
    "assert_load_tallies_balance": "dbt: received = loaded + quarantined",
    "assert_raw_equals_marts_plus_quarantine": "dbt: raw totals = marts + quarantined",
}


def _variance_tieout(con: duckdb.DuckDBPyConnection, scope: Scope, f: Filters) -> dict:
    cols = _columns(con, FCT_VARIANCE)
    amount = _first(cols, "variance_usd", "variance_amount_usd", "amount_usd")
    month = _first(cols, "period", "variance_month", "invoice_month", "year_month")
    inv_side = _first(cols, "invoice_usd", "invoice_amount_usd")
    book_side = _first(cols, "booking_usd", "booking_amount_usd", "sales_amount_usd")
    w = Where()
    if f.period_from:
        w.add(f"{month} >= ?", f.period_from)
    if f.period_to:
        w.add(f"{month} <= ?", f.period_to)
    n, diff = con.execute(
        f"select count(*) filter (where d <> 0), sum(abs(d)) from (select {month}, "
        f"sum(coalesce({book_side}, 0)) - sum(coalesce({inv_side}, 0)) - sum({amount}) as d "
        f"from {FCT_VARIANCE}{w.sql} group by 1)", w.params).fetchone()
    return _check("Variance causes add up", "per month: Σ causes = sales − invoices (USD)", n, diff)


# --------------------------------------------------------------------------- data health
def load_health(db: str | Path, now: datetime | None = None) -> list[dict]:
    """Per source: last successful load, its age in hours, resources and counts."""
    with connect(db) as con:
        _need(con, LOAD_TALLIES)
        rows = _rows(con, f"""
            with last as (select source, max(loaded_at) as loaded_at from {LOAD_TALLIES}
                          group by source)
            select t.source, last.loaded_at as last_load_at, any_value(t.load_id) as load_id,
                   count(distinct t.resource) as resources, sum(t.received_count) as received,
                   sum(t.loaded_count) as loaded, sum(t.quarantined_count) as quarantined
            from {LOAD_TALLIES} t join last on last.source = t.source
                 and last.loaded_at = t.loaded_at
            group by t.source, last.loaded_at order by t.source""")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    for r in rows:
        at = r["last_load_at"]
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        r["age_hours"] = round((now - at).total_seconds() / 3600, 1) if at else None
        r["last_load_at"] = at.isoformat(sep=" ", timespec="minutes") if at else None
    return rows


def test_results(db: str | Path) -> list[dict]:
    """The stored dbt tie-out tests: one row per test with its exception count."""
    with connect(db) as con:
        names = sorted(r.split(".", 1)[1] for r in _relations(con) if r.startswith("audit."))
        out = []
        for name in names:
            n = _scalar(con, f'select count(*) from audit."{name}"')
            out.append({"test": name, "exceptions": int(n or 0),
                        "status": "pass" if not n else "fail"})
    return out


def build_results(db: str | Path) -> dict[str, Any] | None:
    """dbt's results for the build that was published (``<serving_db>.run_results.json``,
    copied by ``lexrecon publish``): counts per status and the nodes that did not pass.
    None when the file is absent (a warehouse not published by ``lexrecon publish``)."""
    path = Path(str(db) + ".run_results.json")
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    counts: dict[str, int] = {}
    problems = []
    tests = 0
    for r in data.get("results", []):
        status = str(r.get("status"))
        counts[status] = counts.get(status, 0) + 1
        uid = str(r.get("unique_id", ""))
        tests += uid.startswith("test.")
        if status not in ("success", "pass", "skipped", "no-op"):
            problems.append({"node": uid, "status": status,
                             "failures": r.get("failures"), "message": r.get("message")})
    return {"generated_at": data.get("metadata", {}).get("generated_at"), "counts": counts,
            "tests": tests, "problems": problems}


def warehouse_info(db: str | Path) -> dict[str, Any]:
    path = Path(db)
    if not path.is_file():
        return {"path": str(path), "published_at": None, "size_mb": None}
    st = path.stat()
    return {"path": str(path),
            "published_at": datetime.fromtimestamp(st.st_mtime, UTC)
            .strftime("%Y-%m-%d %H:%M UTC"),
            "size_mb": round(st.st_size / 1e6, 1)}


# --------------------------------------------------------------------------- tables (grids)
@dataclass(frozen=True)
class Dataset:
    """A table shown in a grid and exported as CSV: fixed SQL, fixed columns."""

    title: str
    from_sql: str  # "from ... [join ...]"; the columns below are selectable
    columns: tuple[tuple[str, str, str], ...]  # (output name, SQL expression, kind)
    cols: Cols
    default_sort: str
    page: str  # the page whose access rule applies to this dataset
    # drill-down keys: (name, SQL expression compared with "= ?", or a condition whose every
    # "?" takes the value)
    extra_cols: tuple[tuple[str, str], ...] = ()
    base_where: str = ""  # a fixed condition (no parameters)
    requires: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c[0] for c in self.columns]


def _ds(**kw) -> Dataset:
    return Dataset(**kw)


DATASETS: dict[str, Dataset] = {
    "invoices": _ds(
        title="Invoices",
        from_sql=f"from {FCT_INVOICES} i left join {DIM_CLIENTS} c on c.client_code = i.client_code",
        columns=(
            ("invoice_number", "i.invoice_number", "text"),
            ("invoice_date", "i.invoice_date", "date"),
            ("client_code", "i.client_code", "text"),
            ("client_name", "c.client_name", "text"),
            ("matter_number", "i.matter_number", "text"),
            ("billing_partner_timekeeper_id", "i.billing_partner_timekeeper_id", "text"),
            ("office", "i.office", "text"),
            ("status", "i.status", "text"),
            ("currency", "i.currency", "text"),
            ("total_amount", "i.total_amount", "money"),
            ("total_amount_usd", "i.total_amount_usd", "money"),
            ("open_amount", "i.open_amount", "money"),
            ("match_status", "i.match_status", "text"),
        ),
        cols=Cols.on("i", "invoice_date"), default_sort="-invoice_date", page="overview",
        extra_cols=(("invoice_month", "i.invoice_month"),),
        requires=(FCT_INVOICES,),
    ),
    "variance_invoices": _ds(
        title="Invoices and bookings with a variance",
        from_sql=f"from {FCT_VARIANCE} v",
        columns=(
            ("variance_key", "v.variance_key", "text"),
            ("variance_month", "v.variance_month", "text"),
            ("booking_period", "v.booking_period", "text"),
            ("primary_cause", "v.primary_cause", "text"),
            ("invoice_number", "v.invoice_number", "text"),
            ("booking_id", "v.booking_id", "text"),
            ("client_code", "v.client_code", "text"),
            ("matter_number", "v.matter_number", "text"),
            ("billing_partner_timekeeper_id", "v.billing_partner_timekeeper_id", "text"),
            ("office", "v.office", "text"),
            ("currency", "v.currency", "text"),
            ("invoice_usd", "v.invoice_usd", "money"),
            ("sales_amount_usd", "v.sales_amount_usd", "money"),
            ("variance_usd", "v.variance_usd", "money"),
            ("timing_moved_usd", "v.timing_moved_usd", "money"),
            ("duplicate_booking_ids", "v.duplicate_booking_ids", "text"),
        ),
        cols=Cols(date=None, matter="v.matter_number", client="v.client_code",
                  office="v.office", partner="v.billing_partner_timekeeper_id",
                  month="v.variance_month"),
        default_sort="variance_month", page="variance",
        # a month's drill-down: invoices of that month and bookings booked in it (TIMING moves
        # an invoice's amount to its booking's period in the monthly mart)
        extra_cols=(("variance_month", "(v.variance_month = ? or v.booking_period = ?)"),),
        base_where="v.primary_cause <> 'MATCHED'",
        requires=(FCT_VARIANCE,),
    ),
    "invoice_lines": _ds(
        title="Invoice lines",
        from_sql=f"from {FCT_LINES} l",
        columns=(
            ("invoice_number", "l.invoice_number", "text"),
            ("line_number", "l.line_number", "text"),
            ("line_date", "l.line_date", "date"),
            ("line_type", "l.line_type", "text"),
            ("timekeeper_id", "l.timekeeper_id", "text"),
            ("task_code", "l.task_code", "text"),
            ("description", "l.description", "text"),
            ("quantity", "l.quantity", "number"),
            ("unit_price", "l.unit_price", "money"),
            ("adjustment_amount", "l.adjustment_amount", "money"),
            ("line_total", "l.line_total", "money"),
            ("line_total_usd", "l.line_total_usd", "money"),
            ("source_system", "l.source_system", "text"),
            ("source_line_id", "l.source_line_id", "text"),
            ("time_entry_key", "l.time_entry_key", "text"),
            ("expense_key", "l.expense_key", "text"),
            ("matter_number", "l.matter_number", "text"),
        ),
        cols=Cols(date="l.invoice_date", matter="l.matter_number", client="l.client_code",
                  office=None, partner="l.billing_partner_timekeeper_id"),
        default_sort="line_number", page="variance",
        extra_cols=(("invoice_number", "l.invoice_number"),),
        requires=(FCT_LINES,),
    ),
    "collections_worklist": _ds(
        title="Collections worklist",
        from_sql=f"from {FCT_WORKLIST} w",
        columns=(
            ("priority_rank", "w.priority_rank", "number"),
            ("billing_partner_timekeeper_id", "w.billing_partner_timekeeper_id", "text"),
            ("billing_partner_name", "w.billing_partner_name", "text"),
            ("invoice_number", "w.invoice_number", "text"),
            ("client_code", "w.client_code", "text"),
            ("client_name", "w.client_name", "text"),
            ("matter_number", "w.matter_number", "text"),
            ("invoice_date", "w.invoice_date", "date"),
            ("due_date", "w.due_date", "date"),
            ("days_past_due", "w.days_past_due", "number"),
            ("aging_bucket_due_date", "w.aging_bucket_due_date", "text"),
            ("currency", "w.currency", "text"),
            ("open_amount", "w.open_amount", "money"),
            ("open_amount_usd", "w.open_amount_usd", "money"),
            ("last_payment_date", "w.last_payment_date", "date"),
            ("ebilling_status", "w.ebilling_status", "text"),
        ),
        cols=Cols.on("w"), default_sort="-open_amount_usd", page="aging",
        requires=(FCT_WORKLIST,),
    ),
    "rejections": _ds(
        title="Rejections",
        from_sql=f"from {FCT_REJECTIONS} r left join {DIM_CLIENTS} c on c.client_code = r.client_code",
        columns=(
            ("rejected_date", "r.rejected_date", "date"),
            ("invoice_number", "r.invoice_number", "text"),
            ("platform", "r.platform", "text"),
            ("client_code", "r.client_code", "text"),
            ("client_name", "c.client_name", "text"),
            ("matter_number", "r.matter_number", "text"),
            ("billing_partner_timekeeper_id", "r.billing_partner_timekeeper_id", "text"),
            ("reason_code", "r.reason_code", "text"),
            ("reason_text", "r.reason_text", "text"),
            ("is_resolved", "r.is_resolved", "text"),
            ("currency", "r.currency", "text"),
            ("submitted_total", "r.submitted_total", "money"),
        ),
        cols=Cols.on("r", "rejected_date"), default_sort="-rejected_date", page="rejections",
        requires=(FCT_REJECTIONS,),
    ),
    "ebilling_cuts": _ds(
        title="Money cut by e-billing platforms (line reductions)",
        from_sql=f"from {FCT_WRITE_OFFS} w",
        columns=(
            ("write_off_date", "w.write_off_date", "date"),
            ("invoice_number", "w.invoice_number", "text"),
            ("line_number", "w.line_number", "text"),
            ("client_code", "w.client_code", "text"),
            ("matter_number", "w.matter_number", "text"),
            ("timekeeper_id", "w.timekeeper_id", "text"),
            ("reason_code", "w.reason_code", "text"),
            ("reason_text", "w.reason_text", "text"),
            ("currency", "w.currency", "text"),
            ("amount", "w.amount", "money"),
            ("amount_recovered", "w.amount_recovered", "money"),
            ("amount_usd", "w.amount_usd", "money"),
        ),
        cols=Cols.on("w", "write_off_date"), default_sort="-amount_usd", page="rejections",
        base_where="w.write_off_type = 'ebilling_reduction'",
        requires=(FCT_WRITE_OFFS,),
    ),
    "ocg_violations": _ds(
        title="OCG violations",
        from_sql=f"from {FCT_OCG} v",
        columns=(
            ("invoice_date", "v.invoice_date", "date"),
            ("invoice_number", "v.invoice_number", "text"),
            ("line_item_number", "v.line_item_number", "text"),
            ("rule_code", "v.rule_code", "text"),
            ("severity", "v.severity", "text"),
            ("client_code", "v.client_code", "text"),
            ("matter_number", "v.matter_number", "text"),
            ("timekeeper_id", "v.timekeeper_id", "text"),
            ("line_date", "v.line_date", "date"),
            ("message", "v.message", "text"),
            ("currency", "v.currency", "text"),
            ("line_total", "v.line_total", "money"),
            ("amount_usd", "v.amount_usd", "money"),
            ("rules_file", "v.rules_file", "text"),
        ),
        cols=Cols.on("v", "invoice_date"), default_sort="-invoice_date", page="rejections",
        requires=(FCT_OCG,),
    ),
    "unrecorded_time": _ds(
        title="Unrecorded calendar time (calendar entries without a time entry)",
        from_sql=f"from {FCT_UNRECORDED} u",
        columns=(
            ("event_date", "u.event_date", "date"),
            ("timekeeper_id", "u.timekeeper_id", "text"),
            ("matter_number", "u.matter_number", "text"),
            ("client_code", "u.client_code", "text"),
            ("summary", "u.summary", "text"),
            ("event_hours", "u.event_hours", "number"),
            ("standard_rate", "u.standard_rate", "money"),
            ("currency", "u.currency", "text"),
            ("unrecorded_value", "u.unrecorded_value", "money"),
            ("unrecorded_value_usd", "u.unrecorded_value_usd", "money"),
            ("billing_partner_timekeeper_id", "u.billing_partner_timekeeper_id", "text"),
            ("calendar_entry_id", "u.calendar_entry_id", "text"),
        ),
        cols=Cols.on("u", "event_date"), default_sort="-unrecorded_value_usd", page="leakage",
        requires=(FCT_UNRECORDED,),
    ),
    "write_offs": _ds(
        title="Write-downs and write-offs",
        from_sql=f"from {FCT_WRITE_OFFS} w",
        columns=(
            ("write_off_date", "w.write_off_date", "date"),
            ("write_off_type", "w.write_off_type", "text"),
            ("reason_code", "w.reason_code", "text"),
            ("reason_label", "w.reason_label", "text"),
            ("invoice_number", "w.invoice_number", "text"),
            ("line_number", "w.line_number", "text"),
            ("client_code", "w.client_code", "text"),
            ("matter_number", "w.matter_number", "text"),
            ("timekeeper_id", "w.timekeeper_id", "text"),
            ("currency", "w.currency", "text"),
            ("amount", "w.amount", "money"),
            ("amount_usd", "w.amount_usd", "money"),
            ("reason_text", "w.reason_text", "text"),
        ),
        cols=Cols.on("w", "write_off_date"), default_sort="-amount_usd", page="leakage",
        extra_cols=(("write_off_type", "w.write_off_type"),),
        requires=(FCT_WRITE_OFFS,),
    ),
}


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown table '{name}'") from None


def _grid_filter_sql(ds: Dataset, filter_model: dict | None, w: Where) -> None:
    """AG Grid column filters: text 'contains'/'equals' and number comparisons; columns are
    looked up in the dataset's allow-list, values bound."""
    exprs = {name: (expr, kind) for name, expr, kind in ds.columns}
    if not isinstance(filter_model, dict):
        return
    for col, spec in filter_model.items():
        if col not in exprs or not isinstance(spec, dict):
            continue
        expr, _kind = exprs[col]
        value = spec.get("filter")
        op = spec.get("type")
        if spec.get("filterType") == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            sql_op = {"equals": "=", "notEqual": "<>", "lessThan": "<", "greaterThan": ">",
                      "lessThanOrEqual": "<=", "greaterThanOrEqual": ">="}.get(op)
            if sql_op:
                w.add(f"{expr} {sql_op} ?", value)
        elif isinstance(value, str) and value and len(value) <= MAX_VALUE_LEN:
            if op == "equals":
                w.add(f"cast({expr} as varchar) = ?", value)
            else:
                w.add(f"cast({expr} as varchar) ilike ? escape '\\'",
                      "%" + _escape_like(value) + "%")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order_sql(ds: Dataset, sort_model: list | None) -> str:
    exprs = {name: expr for name, expr, _ in ds.columns}
    parts = []
    for item in sort_model if isinstance(sort_model, list) else []:
        if not isinstance(item, dict):
            continue
        col = item.get("colId")
        if isinstance(col, str) and col in exprs:
            direction = "desc" if item.get("sort") == "desc" else "asc"
            parts.append(f"{exprs[col]} {direction} nulls last")
    if not parts:
        d = ds.default_sort
        desc = d.startswith("-")
        parts.append(f"{exprs[d.lstrip('-')]} {'desc' if desc else 'asc'} nulls last")
    # A stable tie-break so blocks never overlap or skip rows.
    parts.append(", ".join(f"{expr} asc" for _, expr, _ in ds.columns[:3]))
    return " order by " + ", ".join(parts)


def _dataset_where(ds: Dataset, scope: Scope, f: Filters, extra: dict | None,
                   filter_model: dict | None) -> Where:
    w = _where(scope, f, ds.cols)
    if ds.base_where:
        w.parts.insert(0, ds.base_where)
    keys = dict(ds.extra_cols)
    for key, value in (extra or {}).items() if isinstance(extra, dict) else []:
        value = _clean(value)
        if key in keys and value is not None:
            expr = keys[key]
            if "?" in expr:
                w.add(expr, *[value] * expr.count("?"))
            else:
                w.add(f"{expr} = ?", value)
    _grid_filter_sql(ds, filter_model, w)
    return w


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def table_rows(db: str | Path, name: str, scope: Scope, f: Filters, start: Any = 0,
               end: Any = 100, sort_model: list | None = None, filter_model: dict | None = None,
               extra: dict | None = None) -> dict[str, Any]:
    """One block of rows for AG Grid's infinite row model, plus the total row count."""
    ds = _dataset(name)
    start = max(0, _int(start, 0))
    end = max(start, min(_int(end, start + 100), start + 1000))
    w = _dataset_where(ds, scope, f, extra, filter_model)
    select = ", ".join(f"{expr} as {n}" for n, expr, _ in ds.columns)
    with connect(db) as con:
        _need(con, *ds.requires)
        total = _scalar(con, f"select count(*) {ds.from_sql}{w.sql}", w.params)
        rows = _rows(con, f"select {select} {ds.from_sql}{w.sql}{_order_sql(ds, sort_model)} "
                          "limit ? offset ?", [*w.params, end - start, start])
    return {"rowData": rows, "rowCount": int(total or 0)}


def table_export(db: str | Path, name: str, scope: Scope, f: Filters,
                 sort_model: list | None = None, filter_model: dict | None = None,
                 extra: dict | None = None) -> tuple[list[str], list[tuple]]:
    """All rows of a table for CSV export (header, rows), same scope and filters as the grid."""
    ds = _dataset(name)
    w = _dataset_where(ds, scope, f, extra, filter_model)
    select = ", ".join(f"{expr} as {n}" for n, expr, _ in ds.columns)
    with connect(db) as con:
        _need(con, *ds.requires)
        cur = con.execute(f"select {select} {ds.from_sql}{w.sql}{_order_sql(ds, sort_model)} "
                          "limit ?", [*w.params, EXPORT_ROW_LIMIT])
        return ds.names, cur.fetchall()


def source_records(db: str | Path, scope: Scope, invoice_number: str, line_number: str) -> dict:
    """The records behind one invoice line: the line, its time entry or expense in the LPM."""
    inv, line = _clean(invoice_number), _clean(line_number)
    w = _where(scope, Filters(), DATASETS["invoice_lines"].cols)
    with connect(db) as con:
        _need(con, FCT_LINES, FCT_TIME)
        lines = _rows(con, f"select * exclude (billing_partner_timekeeper_id) from {FCT_LINES} l "
                           "where l.invoice_number = ? and l.line_number = ?" + w.and_sql,
                      [inv, line, *w.params])
        entries: list[dict] = []
        if lines and lines[0].get("time_entry_key"):
            tw = _where(scope, Filters(), Cols.on("te"))
            entries = _rows(con, f"select te.time_entry_key, te.source_system, "
                                 "te.source_entry_id, te.entry_date, te.timekeeper_id, "
                                 "te.matter_number, te.hours_worked, te.hours_billable, "
                                 "te.recorded_rate, te.standard_rate, te.recorded_value, "
                                 "te.billed_amount, te.status, te.narrative "
                                 f"from {FCT_TIME} te where te.time_entry_key = ?" + tw.and_sql,
                            [lines[0]["time_entry_key"], *tw.params])
    return {"line": lines[0] if lines else None, "time_entries": entries}


# Query functions behind each page's callbacks, for benchmarks (server time per callback):
# each takes (serving_db, Scope, Filters, ...); grids call table_rows(db, DATASET, ...).
PAGE_QUERIES: dict[str, list] = {
    "all": [filter_options],
    "overview": [overview_kpis, overview_trend, lockup_trend],
    "variance": [variance_breakdown, variance_waterfall, variance_sources, source_records],
    "aging": [aging_buckets, aging_trend],
    "rejections": [rejection_summary, rejection_breakdown, ocg_violations_by_rule],
    "leakage": [write_offs_by_category, write_offs_trend, leakage_by_category],
    "evidence": [tie_outs],
    "health": [load_health, test_results, warehouse_info, build_results],
}
PAGE_DATASETS: dict[str, list[str]] = {
    page: [name for name, ds in DATASETS.items() if ds.page == page] for page in PAGE_QUERIES
}


# --------------------------------------------------------------------------- scored worklist
# The collections worklist scored by payment likelihood (reports.collections: a model fitted on
# the firm's own payment history) is computed when the warehouse is built
# (marts.srv_collections_worklist, by the same code as `lexrecon collections`), so every call,
# the first after a publish included, reads a table; the caller's scope is applied here.
WORKLIST_ROWS = 500  # rows a page shows; the counts cover every row in scope


def scored_collections_worklist(db: str | Path, scope: Scope, f: Filters,
                                limit: int | None = WORKLIST_ROWS) -> dict[str, Any]:
    """{"as_of", "evaluation", "auc", "rows", "count", "past_due"}: the scored worklist in the
    caller's scope and filters (a partner: own invoices only; a partner scope without a
    timekeeper id gets none), ranked within what they see; ``rows`` holds the first ``limit``
    (None = all), ``count`` and ``past_due`` count every row."""
    empty = {"as_of": None, "evaluation": "", "auc": None, "rows": [], "count": 0, "past_due": 0}
    if scope.is_partner and not scope.partner_id:
        return empty
    w = _where(scope, replace(f, period_from=None, period_to=None), Cols.on("w"))
    lim = "" if limit is None else " limit ?"
    with connect(db) as con:
        _need(con, SRV_WORKLIST)
        model = con.execute(f"select any_value(model_as_of), any_value(model_evaluation), "
                            f"any_value(model_auc) from {SRV_WORKLIST}").fetchone()
        count, past_due = con.execute(
            f"select count(*), count(*) filter (where w.dunning_stage >= 1) from {SRV_WORKLIST} w"
            + w.sql, w.params).fetchone()
        rows = _rows(con, f"select * exclude (rank, model_as_of, model_evaluation, model_auc), "
                          "row_number() over (order by w.rank) as rank "
                          f"from {SRV_WORKLIST} w{w.sql} order by w.rank{lim}",
                     [*w.params, *([] if limit is None else [max(0, int(limit))])])
    if model is None or model[1] is None:
        return empty
    return {"as_of": _plain(model[0]), "evaluation": model[1], "auc": model[2], "rows": rows,
            "count": int(count or 0), "past_due": int(past_due or 0)}


# --------------------------------------------------------------------------- LEDES export, pre-bill
def ledes_export_invoices(db: str | Path, scope: Scope, f: Filters) -> list[str]:
    """Invoice numbers the caller may export as LEDES: non-void invoices in their scope and the
    page filters (period by invoice date, office, partner, client, matter)."""
    w = _where(scope, f, Cols.on("i", "invoice_date"))
    with connect(db) as con:
        return [r[0] for r in con.execute(
            f"select i.invoice_number from {FCT_INVOICES} i where not i.is_void"
            + w.and_sql + " order by i.invoice_number", w.params).fetchall()]


PREBILL_ROWS = 300  # rows a page shows per table; the counts cover every row in scope


def prebill_exceptions(db: str | Path, scope: Scope, f: Filters,
                       limit: int | None = PREBILL_ROWS) -> dict[str, Any]:
    """Pre-bill exceptions (reports.prebill: OCG rules on unbilled time, UTBMS suggestions for
    uncoded time), computed when the warehouse is built (marts.srv_prebill_*, by the same code
    as `lexrecon prebill`), restricted here to the caller's scope (a partner: own matters only)
    and the client / matter / office / partner filters. ``ocg`` and ``uncoded`` hold the first
    ``limit`` rows (None = all); the counts and the amount at risk cover every row."""
    w = _where(scope, replace(f, period_from=None, period_to=None), Cols.on("x"))
    lim = "" if limit is None else " limit ?"
    lim_p = [] if limit is None else [max(0, int(limit))]
    with connect(db) as con:
        _need(con, SRV_PREBILL_OCG, SRV_PREBILL_CODES)
        n_rules = _scalar(con, f"select any_value(rules_files) from {SRV_PREBILL_OCG}")
        summary, pair_accuracy = con.execute(
            f"select any_value(model_summary), any_value(model_pair_accuracy) "
            f"from {SRV_PREBILL_CODES}").fetchone()
        n_ocg, at_risk = con.execute(
            f"select count(*), sum(try_cast(x.amount_at_risk as decimal(18, 2))) "
            f"from {SRV_PREBILL_OCG} x" + w.sql, w.params).fetchone()
        n_codes = _scalar(con, f"select count(*) from {SRV_PREBILL_CODES} x" + w.sql, w.params)
        ocg = _rows(con, f"select * exclude (rules_files) from {SRV_PREBILL_OCG} x{w.sql} "
                         "order by x.client_code, x.matter_number, x.entry_date, "
                         f"x.time_entry_key, x.code{lim}", [*w.params, *lim_p])
        codes = _rows(con, "select * exclude (model_summary, model_pair_accuracy, "
                           f"model_held_out) from {SRV_PREBILL_CODES} x{w.sql} "
                           f"order by x.time_entry_key{lim}", [*w.params, *lim_p])
    if n_rules is None:  # no findings to carry the count: the rules folder the build reads
        from lexrecon.config import paths

        folder = paths().firm / "ocg"
        n_rules = len(list(folder.glob("*.y*ml"))) if folder.is_dir() else 0
    return {"rules_files": int(n_rules), "ocg": ocg, "uncoded": codes,
            "ocg_count": int(n_ocg or 0), "at_risk": _plain(at_risk) or 0.0,
            "uncoded_count": int(n_codes or 0),
            "accuracy": summary or "no coded history to learn from",
            "pair_accuracy": pair_accuracy}
