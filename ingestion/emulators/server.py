"""Shared machinery of the emulators: pre-built tables, the HTTP server, auth and faults.

Each emulator (:mod:`.clio`, :mod:`.actionstep`, :mod:`.ebilling`) is an
:class:`EmulatorServer` subclass that maps URLs to :class:`Table` pages. A table is one
parquet file of the demo firm, loaded once, sorted by its primary key (first column);
pages are sliced by position (cursor = binary search on the sorted key) and encoded to JSON
by polars in one vectorised call per page. Money (Decimal) columns are sent as JSON numbers
with their exact decimal text (``1234.50``), never through a float.
"""
from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import polars as pl

from .faults import Faults, FaultState, faults_from_env
from .oauth import OAuthError, TokenStore

CURSOR_COLUMNS = ("updated_at", "modifiedTimestamp", "lastModified")
OFFSET_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"  # text timestamps as Actionstep sends them
_MIN_US = np.iinfo(np.int64).min
BLOCK_ROWS = 4096                  # rows encoded to JSON together and cached
EAGER_RENDER_ROWS = 500_000        # tables up to this size are rendered at start-up
LAZY_ROWS = 500_000                # bigger tables: only the key column is read at start-up
LAZY_READ_ROWS = 100_000           # ... and rows from the file until this many were read
BLOCK_CACHE_BYTES = 192 * 2**20    # per table: encoded JSON kept in memory
_SENTINEL = "\x01\x02"              # marks money values inside the JSON text ...
_SENTINEL_JSON = "\\u0001\\u0002"   # ... as the JSON writer escapes it


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "bad_request"):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_timestamp(text: str, what: str = "timestamp") -> int:
    """ISO-8601 text (offset or Z; naive = UTC; a bare date = midnight UTC) -> epoch µs."""
    s = text.strip()
    try:
        if len(s) == 10:
            value = dt.datetime.combine(dt.date.fromisoformat(s), dt.time())
        else:
            value = dt.datetime.fromisoformat(s.replace(" ", "+") if "T" in s and " " in s
                                              else s)
    except ValueError:
        raise BadRequest(f"{what} {text!r} is not an ISO-8601 timestamp "
                         "(e.g. 2026-01-31T12:00:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1_000_000) if value.microsecond == 0 else (
        int(value.replace(microsecond=0).timestamp()) * 1_000_000 + value.microsecond)


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------
class Table:
    """One resource: rows sorted by primary key, ready to be sliced and encoded.

    Only what every request needs is built when the server starts (the rows in key order and
    the key column); the rest is built on first use and kept: the cursor and ``created_at``
    columns as epoch microseconds (for ``updated_since`` filters) and the timestamp format of
    each datetime column. Timestamps of a table over ``EAGER_RENDER_ROWS`` rows are rendered as
    text per block of rows when the block is first encoded, not for the whole table at
    start-up, so a daily incremental run against millions of rows starts in a fraction of the
    time and renders only the rows it serves (smaller tables are rendered whole at start-up).

    A table over ``LAZY_ROWS`` rows whose file is already in key order is not read whole at
    start-up (:func:`load_tables` passes ``path``, ``keys`` and ``schema`` instead of ``df``):
    only its key column is; a column is read from the file when a filter or the timestamp
    format needs it, and rows when they are served (a slice of the file, which skips the
    row groups outside it), until ``LAZY_READ_ROWS`` rows were read that way or a request
    needs the typed frame (``df``): then the whole file is read once and used from then on.
    A daily incremental run serves a few thousand rows of such a table, at the end of the
    file, so it never reads the rest. Every answer is the same either way (tests compare).
    """

    def __init__(self, name: str, df: pl.DataFrame | None = None, *, ts_format: str,
                 null_relations: bool, rename: Callable[[str], str] | None = None,
                 path: Path | None = None, keys: pl.Series | None = None,
                 schema: pl.Schema | None = None):
        self.name = name
        self._path = None
        if df is None:  # a lazy table: the file is in key order (load_tables checked)
            assert path is not None and keys is not None and schema is not None
            self._file, self._path = _pinned(Path(path))  # the file as it is now
            self.schema = schema
            self.pk, self._height = keys.name, len(keys)
            self.ids = keys.to_numpy()
        else:
            self.pk = df.columns[0]
            if not _sorted_without_nulls(df[self.pk]):
                df = df.sort(self.pk, nulls_last=True)
            self._df = df  # typed, for filters ($filter) and ids
            self.schema, self._height = df.schema, df.height
            self.ids = df[self.pk].to_numpy()
        self.columns = list(self.schema)
        self.null_relations = null_relations
        self.ts_format = ts_format
        self.cursor_col = next((c for c in CURSOR_COLUMNS if c in self.columns), None)
        self.decimal_cols = [c for c, t in self.schema.items() if isinstance(t, pl.Decimal)]
        self.rename = rename or (lambda c: c)
        self._lazy: dict[str, Any] = {}
        self._lazy_lock = threading.Lock()
        self._expr_cache: dict[tuple, pl.Expr] = {}
        self._index_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._blocks: OrderedDict[tuple, list[str]] = OrderedDict()
        self._block_bytes: dict[tuple, int] = {}
        self._cached_bytes = 0
        self._read_rows = 0  # rows read from the file of a lazy table
        self.lock = threading.Lock()
        # a small table is rendered whole now, as every table was before: it costs little
        # (~0.1 s per 500k rows) and its first pages are then as quick as the rest
        self._render_df = (df.select(self.render)
                           if df is not None and df.height <= EAGER_RENDER_ROWS else None)

    @property
    def df(self) -> pl.DataFrame:
        """The whole table, typed (a lazy table reads its file now, once)."""
        if self._path is None:
            return self._df
        return self._once("df", lambda: pl.read_parquet(self._path))

    def _whole_read(self) -> bool:
        return self._path is None or "df" in self._lazy

    def _column(self, col: str) -> pl.DataFrame:
        """One column as a frame (from the file, for a lazy table not read whole)."""
        if self._whole_read():
            return self.df.select(col)
        return pl.read_parquet(self._path, columns=[col])

    def _rows(self, rows: slice | np.ndarray) -> pl.DataFrame:
        """The typed rows at these positions (a slice or ascending positions)."""
        if not self._whole_read():
            if isinstance(rows, slice):
                lo, hi = rows.start, min(rows.stop, self._height)
            elif len(rows):
                lo, hi = int(rows.min()), int(rows.max()) + 1
            else:
                lo = hi = 0
            hi = max(lo, hi)
            with self.lock:
                self._read_rows += hi - lo
                from_file = self._read_rows <= LAZY_READ_ROWS
            if from_file:
                part = pl.scan_parquet(self._path).slice(lo, hi - lo).collect()
                return part if isinstance(rows, slice) else part[rows - lo]
        whole = self.df
        if isinstance(rows, slice):
            return whole.slice(rows.start, rows.stop - rows.start)
        return whole[rows]

    def _once(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()`` on first use, then the kept value (one build even with threads)."""
        got = self._lazy.get(key, _MISSING)
        if got is _MISSING:
            with self._lazy_lock:
                got = self._lazy.get(key, _MISSING)
                if got is _MISSING:
                    got = self._lazy[key] = build()
        return got

    @property
    def cursor_us(self) -> np.ndarray | None:
        """The cursor column (updated_at, modifiedTimestamp or lastModified) as epoch µs
        (null: the smallest int64), in row order; None if the table has no cursor."""
        if self.cursor_col is None:
            return None
        return self._once("cursor_us", lambda: self._epoch_us(self.cursor_col))

    @property
    def created_us(self) -> np.ndarray | None:
        if "created_at" not in self.columns:
            return None
        return self._once("created_us", lambda: self._epoch_us("created_at"))

    @property
    def render(self) -> list[pl.Expr]:
        """Per column, the expression giving its value as served (timestamps as text in the
        vendor's format, with microseconds only where the column has any)."""
        def build() -> list[pl.Expr]:
            render = []
            for c, t in self.schema.items():
                if isinstance(t, pl.Datetime):
                    col = pl.col(c)
                    if t.time_zone is not None:
                        col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                    has_frac = bool(self._column(c).select(
                        (pl.col(c).dt.microsecond() != 0).any()).item())
                    fmt = self.ts_format.replace("%S", "%S%.6f") if has_frac else self.ts_format
                    render.append(col.dt.strftime(fmt).alias(c))
                else:
                    render.append(pl.col(c))
            return render
        return self._once("render", build)

    def rendered(self, rows: slice | np.ndarray) -> pl.DataFrame:
        """The rows at these positions (a slice or positions) with every value as served."""
        whole = self._render_df
        if whole is None:
            return self._rows(rows).select(self.render)
        if isinstance(rows, slice):
            return whole.slice(rows.start, rows.stop - rows.start)
        return whole[rows]

    def __len__(self) -> int:
        return self._height

    def _epoch_us(self, col: str) -> np.ndarray:
        t = self.schema[col]
        frame = self._column(col)
        c = pl.col(col)
        if t == pl.String:
            # the vendors' own format first (10x faster than letting polars infer one); any
            # value it does not read sends the whole column the general way below
            fast = frame.select(c.str.to_datetime(OFFSET_TS_FORMAT, time_zone="UTC",
                                                  strict=False).dt.epoch("us").alias("x"))["x"]
            if fast.null_count() == frame[col].null_count():
                return fast.fill_null(_MIN_US).to_numpy()
            c = c.str.to_datetime(time_zone="UTC", strict=False)
        elif isinstance(t, pl.Date):
            c = c.cast(pl.Datetime("us"))
        elif isinstance(t, pl.Datetime) and t.time_zone is not None:
            c = c.dt.convert_time_zone("UTC")
        out = frame.select(c.dt.epoch("us").alias("x"))["x"]
        if t == pl.String and out.null_count() > frame[col].null_count():
            # mixed text formats: polars inferred one format; parse each value instead
            out = pl.Series("x", [None if v is None else parse_timestamp(v, col)
                                  for v in frame[col].to_list()], dtype=pl.Int64)
        return out.fill_null(_MIN_US).to_numpy()

    # -- field selection and JSON encoding ---------------------------------------------
    def field_names(self) -> list[str]:
        """Top-level field names as served (nested groups by their prefix)."""
        seen: list[str] = []
        for c in self.columns:
            top = c.split("__", 1)[0]
            if top not in seen:
                seen.append(top)
        return [self.rename(t) for t in seen]

    def encoder(self, columns: tuple[str, ...], string_money: bool) -> pl.Expr:
        """An expression turning the given flat columns into one JSON text per row.

        polars writes decimals as JSON strings ("1234.50"). To send them as JSON numbers
        with the same exact text, each money value is wrapped in a sentinel (two control
        characters, escaped by the JSON writer as ``\\u0001\\u0002``) and the quote+sentinel
        pairs are then removed with two literal replacements (much cheaper than a regex).
        """
        key = (columns, string_money)
        expr = self._expr_cache.get(key)
        if expr is not None:
            return expr
        expr = pl.struct(self._nest(list(columns), "", string_money)).struct.json_encode()
        if not string_money and any(c in self.decimal_cols for c in columns):
            expr = (expr.str.replace_all('"' + _SENTINEL_JSON, "", literal=True)
                    .str.replace_all(_SENTINEL_JSON + '"', "", literal=True))
        self._expr_cache[key] = expr
        return expr

    def _leaf(self, column: str, string_money: bool) -> pl.Expr:
        if column in self.decimal_cols and not string_money:
            return pl.concat_str(pl.lit(_SENTINEL), pl.col(column).cast(pl.String),
                                 pl.lit(_SENTINEL))
        return pl.col(column)

    def _nest(self, columns: list[str], prefix: str, string_money: bool) -> list[pl.Expr]:
        groups: dict[str, list[str]] = {}
        order: list[str] = []
        for c in columns:
            rest = c[len(prefix):]
            head = rest.split("__", 1)[0]
            if head not in groups:
                groups[head] = []
                order.append(head)
            groups[head].append(c)
        exprs = []
        for head in order:
            cols = groups[head]
            if len(cols) == 1 and cols[0] == prefix + head:
                exprs.append(self._leaf(cols[0], string_money).alias(self.rename(head)))
                continue
            inner = [c for c in cols if c != prefix + head]
            struct = pl.struct(self._nest(inner, prefix + head + "__", string_money))
            if self.null_relations:
                all_null = pl.all_horizontal([pl.col(c).is_null() for c in inner])
                struct = pl.when(all_null).then(None).otherwise(struct)
            exprs.append(struct.alias(self.rename(head)))
        return exprs

    def _encode_direct(self, rows: slice | np.ndarray, key: tuple) -> list[str]:
        part = self.rendered(rows)
        if part.height == 0:
            return []
        return part.select(self.encoder(*key).alias("j"))["j"].to_list()

    def _block(self, key: tuple, b: int) -> list[str]:
        ck = (key, b)
        with self.lock:
            got = self._blocks.get(ck)
            if got is not None:
                self._blocks.move_to_end(ck)
                return got
        got = self._encode_direct(slice(b * BLOCK_ROWS, (b + 1) * BLOCK_ROWS), key)
        size = sum(map(len, got)) + 60 * len(got)
        with self.lock:
            if ck not in self._blocks:
                self._blocks[ck] = got
                self._block_bytes[ck] = size
                self._cached_bytes += size
                while self._cached_bytes > BLOCK_CACHE_BYTES and len(self._blocks) > 1:
                    old, _ = self._blocks.popitem(last=False)
                    self._cached_bytes -= self._block_bytes.pop(old)
        return got

    def encode(self, rows: slice | np.ndarray, columns: tuple[str, ...],
               string_money: bool) -> list[str]:
        """JSON text of the rows at these positions (a slice or sorted positions).

        Rows are encoded by polars in blocks of BLOCK_ROWS and kept in a bounded LRU cache,
        so paging through a table encodes each row once; sparse selections (an
        ``updated_since`` that matches a few rows per block) are encoded directly.
        """
        key = (columns, string_money)
        if isinstance(rows, slice):
            start, stop = rows.start, min(rows.stop, len(self))
            if stop <= start:
                return []
            out: list[str] = []
            for b in range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1):
                block = self._block(key, b)
                lo = max(start - b * BLOCK_ROWS, 0)
                hi = min(stop - b * BLOCK_ROWS, BLOCK_ROWS)
                out.extend(block[lo:hi])
            return out
        if len(rows) == 0:
            return []
        blocks = np.unique(rows // BLOCK_ROWS)
        if len(rows) * 8 < len(blocks) * BLOCK_ROWS:
            return self._encode_direct(rows, key)
        cache = {int(b): self._block(key, int(b)) for b in blocks}
        return [cache[p // BLOCK_ROWS][p % BLOCK_ROWS] for p in rows.tolist()]

    # -- row selection -------------------------------------------------------------------
    def cached_index(self, key: tuple, build: Callable[[], np.ndarray]) -> np.ndarray:
        with self.lock:
            idx = self._index_cache.get(key)
            if idx is not None:
                self._index_cache.move_to_end(key)
                return idx
        idx = build()
        with self.lock:
            self._index_cache[key] = idx
            while len(self._index_cache) > 64:
                self._index_cache.popitem(last=False)
        return idx

    def since(self, gt_us: int | None = None, ge_us: int | None = None,
              created_ge_us: int | None = None) -> np.ndarray | None:
        """Positions of rows passing the cursor filters (None = all rows), ascending.

        One vectorised comparison over the column (~13 ms for 5M rows), cached per filter:
        paging through one filter scans once. (A sorted index would answer in O(log n) but
        costs ~0.9 s to build for 5M rows, more than the handful of distinct filters an
        incremental run sends to an emulator process that lives for one run.)"""
        if gt_us is None and ge_us is None and created_ge_us is None:
            return None

        def build() -> np.ndarray:
            mask = np.ones(len(self), dtype=bool)
            cursor = self.cursor_us
            if cursor is not None:
                if gt_us is not None:
                    mask &= cursor > gt_us
                if ge_us is not None:
                    mask &= cursor >= ge_us
            created = self.created_us
            if created_ge_us is not None and created is not None:
                mask &= created >= created_ge_us
            return np.flatnonzero(mask)
        return self.cached_index(("since", gt_us, ge_us, created_ge_us), build)


_MISSING = object()


def _sorted_without_nulls(s: pl.Series) -> bool:
    """Whether ``s`` is already in ascending order with no nulls (then no sort is needed)."""
    if s.null_count() or len(s) < 2:
        return s.null_count() == 0
    try:
        values = s.to_numpy()
        return bool((values[1:] >= values[:-1]).all())
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        return False


def _pinned(path: Path) -> tuple[Any, Path]:
    """(an open file, a path) reading the file as it is now, even if it is replaced later
    (the demo firm's ``--extra-day`` writes a new file and renames it over the old one): on
    Linux ``/proc/self/fd/N`` of the file opened now, whose data stays readable while the
    table keeps it open; elsewhere (None, the path itself)."""
    import os

    if not os.path.isdir("/proc/self/fd"):
        return None, path
    fh = open(path, "rb")  # noqa: SIM115 - kept open by the table on purpose
    return fh, Path(f"/proc/self/fd/{fh.fileno()}")


def load_tables(folder: Path, **kw: Any) -> dict[str, Table]:
    """A :class:`Table` per parquet file of ``folder``: read whole, or, over ``LAZY_ROWS``
    rows and already in key order, lazily (only the key column now)."""
    tables = {}
    for path in sorted(Path(folder).glob("*.parquet")):
        schema = pl.read_parquet_schema(path)
        if schema and pl.scan_parquet(path).select(pl.len()).collect().item() > LAZY_ROWS:
            keys = pl.read_parquet(path, columns=[next(iter(schema))]).to_series()
            if _sorted_without_nulls(keys):
                tables[path.stem] = Table(path.stem, path=path, keys=keys,
                                          schema=pl.Schema(schema), **kw)
                continue
        tables[path.stem] = Table(path.stem, pl.read_parquet(path), **kw)
    return tables


# ---------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    base_url: str

    def arg(self, name: str, default: str | None = None) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else default

    def url(self, **changes: Any) -> str:
        """This request's full URL with query parameters replaced (None removes one)."""
        q = {k: v[-1] for k, v in self.query.items()}
        for k, v in changes.items():
            if v is None:
                q.pop(k, None)
            else:
                q[k] = str(v)
        return f"{self.base_url}{self.path}" + (f"?{urlencode(q)}" if q else "")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), headers or {})


_REASONS = {code: phrase for code, (phrase, _) in
            http.server.BaseHTTPRequestHandler.responses.items()}


class _Headers(dict):
    """Request headers, looked up case-insensitively."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "lexrecon-emulator/1"

    def parse_request(self) -> bool:
        """A lean HTTP/1.x request parser (the stock one runs the e-mail parser per request)."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        self.request_version = "HTTP/1.0"
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.close_connection = True
            self.send_error(400, f"Bad request line {line!r}")
            return False
        self.command, self.path, self.request_version = parts
        headers = _Headers()
        for _ in range(100):
            raw = self.rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("iso-8859-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        else:
            self.close_connection = True
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers  # type: ignore[assignment]
        conn = headers.get("Connection", "").lower()
        self.close_connection = conn == "close" or (
            self.request_version == "HTTP/1.0" and conn != "keep-alive")
        return True

    def _dispatch(self) -> None:
        app: EmulatorServer = self.server.app  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or f"{app.host}:{app.port}"
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                      self.headers, body, f"http://{host}")
        try:
            resp = app.handle(req)
        except BadRequest as exc:
            resp = app.error(exc.status, exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug in the emulator: say so, keep serving
            resp = app.error(500, "emulator_error", f"{type(exc).__name__}: {exc}")
        head = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}",
                f"Content-Type: {resp.content_type}",
                f"Content-Length: {len(resp.body)}"]
        head += [f"{k}: {v}" for k, v in resp.headers.items()]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body)
        app.count_request(resp.status)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def setup(self) -> None:
        super().setup()
        with self.server.conn_lock:  # type: ignore[attr-defined]
            self.server.connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        with self.server.conn_lock:  # type: ignore[attr-defined]
            self.server.connections.discard(self.connection)  # type: ignore[attr-defined]
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(*args, **kw)

    def close_connections(self) -> None:
        """Close open keep-alive connections, so a stopped server really stops answering."""
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """Base class: one HTTP server on 127.0.0.1 serving one vendor's API shape."""

    name = "emulator"
    token_path = "/oauth/token"
    default_limit = 200
    max_limit = 200
    ts_format = "%Y-%m-%dT%H:%M:%S+00:00"
    null_relations = True

    def __init__(self, data_dir: str | Path, *, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | dict | None = None, client_id: str | None = None,
                 client_secret: str | None = None, unthrottled: bool = False,
                 max_limit: int | None = None, use_env: bool = True, verbose: bool = False,
                 rotate_refresh_tokens: bool = False):
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise FileNotFoundError(f"{self.name} emulator: no data folder {self.data_dir} "
                                    "(run `lexrecon demo generate` first)")
        self.host, self.port = host, port
        base = faults if isinstance(faults, Faults) else Faults().update(faults or {})
        self.faults = faults_from_env(self.name, base) if use_env else base
        self.fault_state = FaultState()
        self.unthrottled = unthrottled
        if max_limit is not None:
            self.max_limit = max_limit
        elif unthrottled:
            self.max_limit = 100_000
        self.verbose = verbose
        self.client_id = client_id or f"lexrecon-{self.name}"
        self.client_secret = client_secret or f"{self.name}-secret"
        self.tokens = TokenStore(self.client_id, self.client_secret,
                                 rotate_refresh_tokens=rotate_refresh_tokens)
        self.tables = load_tables(self.data_dir, ts_format=self.ts_format,
                                  null_relations=self.null_relations, rename=self.rename)
        self._last_page: dict[str, Response] = {}
        self._status_counts: dict[int, int] = {}
        self._count_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.app = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_connections()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return self.base_url + self.token_path

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "base_url": self.base_url, "api_url": self.api_url,
                "token_url": self.token_url, "client_id": self.client_id,
                "client_secret": self.client_secret, "auth_code": self.tokens.auth_code,
                "max_limit": self.max_limit}

    @property
    def api_url(self) -> str:
        return self.base_url

    # -- hooks for subclasses --------------------------------------------------------------
    def rename(self, column: str) -> str:
        return column

    def route(self, req: Request) -> Response:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str,
              headers: dict[str, str] | None = None) -> Response:
        return json_response({"error": {"type": code, "message": message}}, status, headers)

    def check_headers(self, req: Request) -> None:
        """Extra required headers (e.g. Company-ID); raise BadRequest."""

    # -- request handling -----------------------------------------------------------------
    def count_request(self, status: int) -> None:
        with self._count_lock:
            self._status_counts[status] = self._status_counts.get(status, 0) + 1

    def handle(self, req: Request) -> Response:
        if req.path.startswith("/_emulator/"):
            return self.admin(req)
        if req.path == self.token_path:
            if req.method != "POST":
                return self.error(405, "method_not_allowed", "use POST for the token endpoint")
            try:
                grant = self.tokens.grant(req.body, req.headers.get("Authorization"),
                                          self.faults.token_ttl)
            except OAuthError as exc:
                return json_response({"error": exc.error, "error_description": exc.description},
                                     exc.status)
            return json_response(self.token_response(grant), 200,
                                 {"Cache-Control": "no-store"})
        return self.route(req)

    def token_response(self, grant: dict) -> dict:
        return grant

    def serve_data(self, req: Request, resource: str,
                   build: Callable[[Faults], Response]) -> Response:
        """Auth, rate limit and faults around one data page."""
        if req.method != "GET":
            return self.error(405, "method_not_allowed", f"{req.method} is not supported here")
        faults = self.faults
        try:
            token = self.tokens.check(req.headers.get("Authorization"), faults.token_max_uses)
        except OAuthError as exc:
            return self.error(401, "AuthenticationError", exc.description,
                              {"WWW-Authenticate":
                               f'Bearer error="{exc.error}", error_description="{exc.description}"'})
        self.check_headers(req)
        extra: dict[str, str] = {}
        if faults.rate_limit:
            remaining, reset, retry = self.tokens.rate_check(token, faults.rate_limit,
                                                             faults.rate_window)
            extra = {"X-RateLimit-Limit": str(faults.rate_limit),
                     "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(int(time.time()) + reset)}
            if retry:
                return self.error(429, "RateLimited", "rate limit exceeded; retry later",
                                  {**extra, "Retry-After": str(retry)})
        decision = self.fault_state.decide(faults, resource)
        if decision.status == 429:
            return self.error(429, "RateLimited", "too many requests (injected burst)",
                              {**extra, "Retry-After": str(decision.retry_after)})
        if decision.status:
            return self.error(decision.status, "ServerError",
                              f"injected server error {decision.status}", extra)
        if decision.delay_s:
            time.sleep(decision.delay_s)
        if decision.repeat and resource in self._last_page:
            return self._last_page[resource]
        resp = build(faults)
        resp.headers.update(extra)
        if resp.status == 200:
            self._last_page[resource] = resp
            self.fault_state.page_served(faults, resource)
        return resp

    def table(self, resource: str) -> Table:
        t = self.tables.get(resource)
        if t is None:
            raise BadRequest(f"no such resource {resource!r}; this emulator serves: "
                             f"{', '.join(sorted(self.tables))}", 404, "not_found")
        return t

    @staticmethod
    def add_record_extras(rows: list[str], faults: Faults) -> list[str]:
        if faults.new_field:
            tail = "," + json.dumps(faults.new_field) + ":" + json.dumps(faults.new_field_value) + "}"
            rows = [r[:-1] + tail for r in rows]
        return rows

    # -- admin -----------------------------------------------------------------------------
    def admin(self, req: Request) -> Response:
        p = req.path
        if p == "/_emulator/faults":
            if req.method == "GET":
                return json_response(self.faults.to_dict())
            if req.method in ("POST", "PUT", "PATCH"):
                try:
                    changes = json.loads(req.body or b"{}")
                    if not isinstance(changes, dict):
                        raise ValueError(  # noqa: TRY004 - answered as a 400 below
                            "body must be a JSON object of fault switches")
                    base = Faults() if req.method == "PUT" else self.faults
                    self.faults = base.update(changes)
                except (ValueError, json.JSONDecodeError) as exc:
                    return self.error(400, "bad_request", str(exc))
                self.fault_state.reset()
                return json_response(self.faults.to_dict())
            if req.method == "DELETE":
                self.faults = Faults()
                self.fault_state.reset()
                return json_response(self.faults.to_dict())
        if p == "/_emulator/expire-tokens" and req.method == "POST":
            return json_response({"expired": self.tokens.expire_all()})
        if p == "/_emulator/stats" and req.method == "GET":
            with self._count_lock:
                statuses = {str(k): v for k, v in sorted(self._status_counts.items())}
            return json_response({"responses": statuses, "tokens_issued": self.tokens.issued,
                                  **self.fault_state.snapshot()})
        if p == "/_emulator/schema" and req.method == "GET":
            return json_response({name: {"primary_key": t.pk, "cursor": t.cursor_col,
                                         "rows": len(t), "columns": t.columns,
                                         "fields": t.field_names(),
                                         "money": t.decimal_cols}
                                  for name, t in self.tables.items()})
        if p == "/_emulator/info" and req.method == "GET":
            return json_response(self.info())
        return self.error(404, "not_found", f"no admin endpoint {req.method} {p}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
