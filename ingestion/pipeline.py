"""Run lexrecon's dlt sources into raw.duckdb, one dataset per source.

``run_source(name, firm_dir, raw_db, ...) -> LoadSummary`` is the one entry point (the
``lexrecon ingest`` command and the benchmark call it). For each run it

1. loads any package a failed earlier run left behind (so nothing is lost or doubled),
2. extracts, in one dlt ``extract`` call and so into one load package, the source (Arrow
   batches; merge on primary keys, incremental cursors) and then the run's ledger
   (``quarantine`` rows and one ``load_tally`` row per resource, keyed by the package's load
   id): the ledger resources are a second dlt source of the same schema, evaluated after
   every data resource is exhausted, so their counts are final,
3. normalizes and loads that package into ``raw_<source>`` in ``raw_db``.

Crash safety: dlt writes an extract into a folder of its own and commits the package (data,
ledger and the pipeline state with the incremental cursors) by renaming that folder, after
the last resource. A run killed before the commit leaves nothing that a later run picks up
(the cursors did not move, so the next run extracts the same data again); a run killed after
it leaves a complete package, which the next run loads first (step 1). Data without its ledger
cannot reach ``raw_db``. ``LEXRECON_CRASH_POINT`` (tests only, see :func:`crash_point`) kills
the process at a named point of this sequence.

Sources: ``clio``, ``actionstep``, ``ebilling`` (REST, ``endpoint=`` or config),
``ledes`` (files in ``<firm>/ebilling/ledes_inbox``), ``sales`` (SQL database).
"""
from __future__ import annotations

import copy
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# Arrow batches get dlt's lineage columns too (the raw tables' contract: _dlt_load_id, _dlt_id).
# _dlt_load_id is added by dlt while extracting; _dlt_id by the sources themselves
# (ledger.add_dlt_id, vectorised), so dlt's normalize step imports the parquet files as they
# are instead of reading and rewriting them to add ids row by row in Python.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
os.environ["NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID"] = "false"

import dlt
from dlt.extract import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.sources.common.http import SourceError
from ingestion.sources.common.ledger import Ledger
from lexrecon.config import paths

SOURCES: tuple[str, ...] = ("clio", "actionstep", "ebilling", "ledes", "sales")
REST_SOURCES: tuple[str, ...] = ("clio", "actionstep", "ebilling")
ALIASES = {"ledes_files": "ledes", "lpm_a": "clio", "lpm_b": "actionstep"}
UNTHROTTLED_PAGE_SIZE = 20_000  # records per request from an unthrottled emulator
CRASH_POINT_ENV = "LEXRECON_CRASH_POINT"
# where crash_point() can kill a run: after the data resources, before the ledger is written
# (inside the one extract); after the extract (package committed); after normalize
CRASH_POINTS = ("before-ledger", "after-extract", "after-normalize")


def crash_point(name: str) -> None:
    """Testing hook: SIGKILL this process (its process group when it leads one, so emulator
    children die with it) at the point ``name`` when ``LEXRECON_CRASH_POINT`` names it. No
    clean-up runs, exactly as with a power cut; tests/reliability uses it to hit the windows
    between a run's steps deterministically. Unset (always, outside tests): does nothing."""
    if os.environ.get(CRASH_POINT_ENV) != name:
        return
    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class ResourceSummary:
    source: str
    resource: str
    received: int
    loaded: int
    quarantined: int
    redelivered: int
    money_column: str | None
    money_received: Decimal
    money_loaded: Decimal
    money_quarantined: Decimal


@dataclass
class LoadSummary:
    source: str
    load_id: str | None
    seconds: float
    resources: list[ResourceSummary] = field(default_factory=list)
    dataset: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # seconds: extract, normalize, load

    @property
    def received(self) -> int:
        return sum(r.received for r in self.resources)

    @property
    def loaded(self) -> int:
        return sum(r.loaded for r in self.resources)

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.resources)

    @property
    def rows_per_second(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    def resource(self, name: str) -> ResourceSummary:
        return next(r for r in self.resources if r.resource == name)


class IngestError(RuntimeError):
    """A source run failed; ``str()`` says which source, what and what to do."""

    def __init__(self, source: str, message: str):
        super().__init__(f"{source}: {message}")
        self.source = source


def canonical(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; sources: {', '.join(SOURCES)}")
    return name


class _RunDuckDb(dlt.destinations.duckdb):
    """dlt's duckdb destination that works out its capabilities once per run.

    dlt asks a destination for its capabilities about ten times per run (pipeline creation,
    extract, normalize, load), and each time without a final configuration it resolves a
    partial configuration through every config provider and section (~30 ms each). The answer
    depends only on this factory's arguments, dlt's configuration and the naming convention,
    none of which changes during a run, so it is kept per naming convention. A new factory is
    made for every run (:func:`make_pipeline`), so a change of configuration between runs is
    seen. Capabilities for a given final configuration (the load step) are not kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._caps_kept: dict[Any, Any] = {}
        self._caps_lock = threading.Lock()

    def capabilities(self, config: Any = None, naming: Any = None) -> Any:
        if config is not None:
            return super().capabilities(config, naming)
        key = None if naming is None else (type(naming), naming.max_length,
                                           naming.is_case_sensitive)
        with self._caps_lock:
            kept = self._caps_kept.get(key)
            if kept is None:
                kept = self._caps_kept[key] = super().capabilities(None, naming)
        return copy.copy(kept)  # callers may set attributes on theirs


def make_pipeline(name: str, raw_db: Path, pipelines_dir: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"lexrecon_{name}",
        destination=_RunDuckDb(str(raw_db)),
        dataset_name=f"raw_{name}",
        pipelines_dir=str(pipelines_dir),
    )


_RAW_DB_LOCKS: dict[str, threading.Lock] = {}
_RAW_DB_LOCKS_GUARD = threading.Lock()


def raw_db_lock(raw_db: Path) -> threading.Lock:
    """The lock of this process for ``raw_db``: held while a run reads the file's tables or
    dlt loads into it, so runs in threads of one process (:func:`run_sources`) extract and
    normalize at the same time but write to the DuckDB file one at a time."""
    key = str(Path(raw_db).resolve())
    with _RAW_DB_LOCKS_GUARD:
        return _RAW_DB_LOCKS.setdefault(key, threading.Lock())


def build_source(name: str, firm_dir: Path | None, ledger: Ledger,
                 endpoint: dict[str, Any] | None = None, **options: Any) -> Any:
    """The dlt source object for ``name`` (configuration from ``endpoint``/options or dlt)."""
    if name == "sales":
        from ingestion.sources.sales import sales
        kw: dict[str, Any] = {}
        if "credentials" not in options and not _configured("sources.sales.credentials"):
            if firm_dir is None:
                raise IngestError("sales", "no database configured and no demo firm folder. "
                                  "Set SOURCES__SALES__CREDENTIALS (a SQLAlchemy URL) or "
                                  "generate the demo firm (`lexrecon demo generate`).")
            db = Path(firm_dir) / "sales" / "sales.sqlite"
            if not db.is_file():
                raise IngestError("sales", f"{db} does not exist. Generate the demo firm "
                                  "(`lexrecon demo generate`) or set SOURCES__SALES__CREDENTIALS.")
            kw["credentials"] = f"sqlite:///{db}"
        if "credentials" in options:
            kw["credentials"] = options.pop("credentials")
        return sales(ledger=ledger, **kw, **options)
    if name == "ledes":
        from ingestion.sources.ledes_files import ledes_files
        kw = {}
        if not _configured("sources.ledes.inbox") and "inbox" not in options:
            if firm_dir is None:
                raise IngestError("ledes", "no inbox folder configured (sources.ledes.inbox / "
                                  "SOURCES__LEDES__INBOX) and no demo firm folder.")
            kw["inbox"] = str(Path(firm_dir) / "ebilling" / "ledes_inbox")
        return ledes_files(ledger=ledger, **kw, **options)
    if name in REST_SOURCES:
        import importlib
        module = importlib.import_module(f"ingestion.sources.{name}")
        source_fn = getattr(module, name)
        kw = dict(endpoint or {})
        return source_fn(ledger=ledger, **kw, **options)
    raise ValueError(f"unknown source {name!r}")


def endpoint_for(name: str, emulators: Any) -> dict[str, Any]:
    """The REST source settings (``endpoint=`` of :func:`run_source`) for the emulator of
    ``name`` in a running ``start_all`` handle: URL, credentials and the page size: the
    vendor's default page for a throttled emulator, big pages (``UNTHROTTLED_PAGE_SIZE``,
    capped by the server's limit) for an unthrottled one."""
    name = canonical(name)
    info = emulators.info()[name]
    endpoint = {k: info[k] for k in ("base_url", "client_id", "client_secret")}
    if "company_id" in info:
        endpoint["company_id"] = info["company_id"]
    max_limit = info.get("max_limit")
    if max_limit and max_limit > 1000:  # unthrottled: no vendor page limit
        endpoint["page_size"] = min(UNTHROTTLED_PAGE_SIZE, int(max_limit))
    return endpoint


def _configured(key: str) -> bool:
    """Whether dlt's config or secrets (env vars, .dlt/*.toml) hold ``key``."""
    env = "__".join(part.upper() for part in key.split("."))
    if os.environ.get(env):
        return True
    try:
        return dlt.config.get(key) is not None or dlt.secrets.get(key) is not None
    except Exception:  # noqa: BLE001 - a config provider that cannot answer: not configured
        return False


def run_source(
    name: str,
    firm_dir: str | Path | None = None,
    raw_db: str | Path | None = None,
    *,
    pipelines_dir: str | Path | None = None,
    endpoint: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    resources: list[str] | None = None,
    on_progress: Callable[[str, str, int], None] | None = None,
    unthrottled: bool = False,
    emulator_process: bool = True,
    **options: Any,
) -> LoadSummary:
    """Load one source into ``raw_db`` (default ``lexrecon.config.paths().raw_db``).

    REST sources talk to ``endpoint`` (base_url, client_id, client_secret[, company_id]; or a
    function giving it, called only when the source is built, its wait not timed) or to the
    configured vendor; with neither and a ``firm_dir``, this source's emulator serves
    the demo firm for the run (``unthrottled=True``: no vendor page limit, big pages; in a
    child process unless ``emulator_process=False``).
    ``options`` go to the source function (``page_size``, ``max_retries``, ``credentials``,
    ``inbox``, ...); ``resources`` selects resources (sales: tables)."""
    name = canonical(name)
    p = paths()
    raw_db = Path(raw_db or p.raw_db)
    raw_db.parent.mkdir(parents=True, exist_ok=True)
    pipelines_dir = Path(pipelines_dir or p.pipelines_dir)
    firm = Path(firm_dir) if firm_dir else None
    started = time.perf_counter()
    if (name in REST_SOURCES and endpoint is None and firm is not None
            and not _configured(f"sources.{name}.base_url")):
        # no vendor configured: serve the demo firm through this source's emulator
        from ingestion.emulators import start_all

        # while the emulator loads the firm, import what the run will need
        warming = threading.Thread(target=_warm_up, args=(name,), daemon=True,
                                   name=f"lexrecon-{name}-imports")
        warming.start()
        if emulator_process:
            return _run_with_emulator_child(name, firm, raw_db, warming,
                                            pipelines_dir=pipelines_dir, resources=resources,
                                            on_progress=on_progress, unthrottled=unthrottled,
                                            **options)
        with start_all(firm, systems=(name,), unthrottled=unthrottled,
                       in_process=True) as emulators:
            warming.join()
            endpoint = endpoint_for(name, emulators)
            if "page_size" in options:
                endpoint.pop("page_size", None)
            return run_source(name, firm, raw_db, pipelines_dir=pipelines_dir,
                              endpoint=endpoint, resources=resources,
                              on_progress=on_progress, **options)
    pipeline = make_pipeline(name, raw_db, pipelines_dir)
    ledger = Ledger(name, on_progress=on_progress)
    raw_lock = raw_db_lock(raw_db)
    try:
        _drop_abandoned_extracts(pipeline)
        if pipeline.has_pending_data:  # a package an interrupted run left behind
            pipeline.normalize()
            with raw_lock:
                pipeline.load()
        if resources and name in REST_SOURCES:
            options["resources"] = list(resources)  # only the selected ones are built
        elif resources and name == "sales":
            options["tables"] = list(resources)
        if name == "ledes" and "append_tables" not in options:
            with raw_lock:
                loaded = _loaded_tables(raw_db, f"raw_{name}")
            if loaded is not None:
                options["append_tables"] = [t for t in ("ledes_lines", "ledes_files")
                                            if t not in loaded]
        if callable(endpoint):  # e.g. waits for an emulator child that is still starting
            t_wait = time.perf_counter()
            endpoint = endpoint()
            started += time.perf_counter() - t_wait  # its start-up is not timed, as before
        source = build_source(name, firm, ledger, endpoint, **options)
        if resources and name == "ledes":
            source = source.with_resources(*resources)
        with raw_lock:
            _first_loads_append(source, raw_db, f"raw_{name}")
        t0 = time.perf_counter()
        # one extract, one package: the data source first, then the ledger source (same
        # schema, so dlt reuses the package; its resources run after the data is exhausted)
        ledger_source = DltSource(source.schema, source.section,
                                  ledger.resources(before=lambda: crash_point("before-ledger")))
        info = pipeline.extract([source, ledger_source], loader_file_format="parquet")
        load_id = info.loads_ids[-1] if info.loads_ids else None
        if load_id is None or ledger.load_id != load_id:
            raise IngestError(name, f"dlt wrote the ledger into load {ledger.load_id}, not into "
                              f"the data's load {load_id}")
        crash_point("after-extract")
        t1 = time.perf_counter()
        pipeline.normalize()
        crash_point("after-normalize")
        t2 = time.perf_counter()
        with raw_lock:
            t2 = time.perf_counter()  # (not the wait for another source's load)
            pipeline.load()
        steps = {"extract": t1 - t0, "normalize": t2 - t1, "load": time.perf_counter() - t2}
    except PipelineStepFailed as exc:
        raise IngestError(name, _explain(exc)) from exc
    except SourceError as exc:
        raise IngestError(name, f"{exc.what}. {exc.todo}") from exc
    seconds = time.perf_counter() - started
    return LoadSummary(
        source=name, load_id=load_id, seconds=seconds, dataset=f"raw_{name}", steps=steps,
        resources=[ResourceSummary(name, r["resource"], r["received"], r["loaded"],
                                   r["quarantined"], r["redelivered"], r["money_column"],
                                   r["money_received"], r["money_loaded"],
                                   r["money_quarantined"])
                   for r in ledger.tally_rows(load_id)])


def _run_with_emulator_child(name: str, firm: Path, raw_db: Path, warming: threading.Thread,
                             *, unthrottled: bool, **kw: Any) -> LoadSummary:
    """:func:`run_source` of a REST source against its emulator in a child process, started
    first and waited for only when the source is built (``endpoint`` given as a function:
    the pipeline is set up while the child loads the firm); stopped (or, if the run ended
    before it was needed, killed) when the run ends."""
    from ingestion.emulators import EmulatorProcess

    starting = EmulatorProcess.begin(firm, 0, systems=(name,), unthrottled=unthrottled)
    started: list[Any] = []

    def endpoint() -> dict[str, Any]:
        emulators = starting.ready()
        started.append(emulators)
        warming.join()
        found = endpoint_for(name, emulators)
        if "page_size" in kw:
            found.pop("page_size", None)
        return found

    try:
        return run_source(name, firm, raw_db, endpoint=endpoint, **kw)
    finally:
        if started:
            started[0].stop()
        else:
            starting.cancel()


def run_sources(
    names: tuple[str, ...] | list[str],
    firm_dir: str | Path | None = None,
    raw_db: str | Path | None = None,
    *,
    pipelines_dir: str | Path | None = None,
    unthrottled: bool = False,
    emulator_process: bool = True,
    on_progress: Callable[[str, str, int], None] | None = None,
    **options: Any,
) -> dict[str, LoadSummary]:
    """Load several sources at once; returns each source's :class:`LoadSummary` by name.

    Each source is an independent dlt pipeline with its own dataset, state and working
    folder, so each runs in a thread of this process: a REST source with no vendor configured
    first starts its emulator (its own child process, as in :func:`run_source`), so one
    source's emulator loads its tables while another source already extracts, and the
    sources extract and normalize at the same time. Writing to ``raw_db`` is
    one source at a time (:func:`raw_db_lock`: DuckDB has one writer), so each load is the
    same transaction as in a run of its own. Every source runs to its end even if another
    fails; then the first failure is raised (an :class:`IngestError`), after the others'
    loads are committed. The daily incremental run of the benchmark uses this for Clio and
    Actionstep. ``options`` go to every source (see :func:`run_source`)."""
    from concurrent.futures import ThreadPoolExecutor

    names = [canonical(n) for n in names]
    if len(set(names)) != len(names):
        raise ValueError(f"a source named twice in {names}: its pipeline cannot run twice at once")
    firm = Path(firm_dir) if firm_dir else None
    p = paths()
    raw_db = Path(raw_db or p.raw_db)
    pipelines_dir = Path(pipelines_dir or p.pipelines_dir)

    def one(name: str) -> LoadSummary:
        return run_source(name, firm, raw_db, pipelines_dir=pipelines_dir,
                          on_progress=on_progress, unthrottled=unthrottled,
                          emulator_process=emulator_process, **options)

    with ThreadPoolExecutor(max_workers=max(1, len(names)),
                            thread_name_prefix="lexrecon-source") as pool:
        runs = {n: pool.submit(one, n) for n in names}
        results: dict[str, LoadSummary] = {}
        failed: BaseException | None = None
        for n, fut in runs.items():
            try:
                results[n] = fut.result()
            except BaseException as exc:  # noqa: BLE001 - every source runs to its end
                failed = failed or exc
    if failed is not None:
        raise failed
    return results


# Modules a run imports on first use (Arrow, DuckDB, SQLAlchemy for dlt's credential parsing,
# polars for the table declarations, dlt's DuckDB client), ~0.5 s of a process's first run.
_WARM_UP_MODULES = (
    "duckdb", "polars", "sqlalchemy", "pyarrow.parquet", "pyarrow.json",
    "dlt.common.libs.pyarrow", "dlt.common.libs.sql_alchemy_compat",
    "dlt.destinations.impl.duckdb.duck", "dlt.destinations.impl.duckdb.sql_client",
    "dlt.sources.helpers.requests", "ingestion.demo_firm.schema",
    "ingestion.sources.common.rest",
)


def _warm_up(name: str) -> None:
    """Import what a run of ``name`` will need (a thread's work while an emulator starts in
    its child process: the wait is otherwise idle). Only imports: nothing of dlt's pipeline
    or configuration is touched, and a module that fails to import here is imported (and
    fails) in the run as before."""
    import importlib

    for module in (*_WARM_UP_MODULES, f"ingestion.sources.{name}"):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001, S112 - the run imports it again and reports
            continue


def _drop_abandoned_extracts(pipeline: dlt.Pipeline) -> list[str]:
    """Remove what killed extracts and normalizes left behind (a pipeline is run by one process
    at a time: raw.duckdb has one writer). Returns the names removed.

    - dlt extracts into a folder of its own under ``<working dir>/normalize`` (16 hex digits)
      and commits a package by renaming it into ``extracted``; a folder still there was never
      committed, is not a package and would never be loaded, so it only piles up.
    - normalize commits the normalized package into ``load/normalized`` (or it is already
      loaded) *before* it deletes the extracted package; a run killed while deleting leaves a
      half-deleted ``extracted/<load id>`` (seen: no ``new_jobs`` folder) that the next
      normalize fails on. Its data is in the committed package, so the leftover goes."""
    import re
    import shutil

    work = Path(pipeline.working_dir)
    root = work / "normalize"
    if not root.is_dir():
        return []
    gone = [p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{16}", p.name)]
    extracted = root / "extracted"
    if extracted.is_dir():
        gone += [p for p in extracted.iterdir() if p.is_dir() and any(
            (work / "load" / stage / p.name).is_dir() for stage in ("normalized", "loaded"))]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
    return [p.name for p in gone]


def _loaded_tables(raw_db: Path, dataset: str) -> set[str] | None:
    """The tables of ``dataset`` in ``raw_db`` that hold rows (None: cannot tell)."""
    if not raw_db.exists():
        return set()
    import duckdb

    try:
        con = duckdb.connect(str(raw_db), read_only=True)
    except duckdb.Error:
        return None
    try:
        # one catalog query; DuckDB's row estimate is never 0 for a table holding rows (it
        # may count deleted rows), so only a table it gives 0 is looked into
        sizes = con.execute("select table_name, estimated_size from duckdb_tables() "
                            "where database_name = current_database() and schema_name = ?",
                            [dataset]).fetchall()
        return {t for t, size in sizes
                if size or con.execute(f'select exists (select 1 from "{dataset}"."{t}")')
                .fetchone()[0]}
    except duckdb.Error:
        return None
    finally:
        con.close()


def _first_loads_append(source: Any, raw_db: Path, dataset: str) -> None:
    """A merge resource whose table does not exist yet or is empty is written with ``append``
    for this run: there is nothing to delete, so dlt's delete-insert (copy to a staging table,
    delete matching keys, de-duplicating insert) would only cost time. The load holds each key
    once (the REST resources drop a key delivered twice in a run, SQL keys are unique, a
    LEDES file is read once per run). The next run merges again, so re-runs stay
    idempotent."""
    loaded = _loaded_tables(raw_db, dataset)
    if loaded is None:
        return
    for resource in source.selected_resources.values():
        disposition = resource.write_disposition
        if isinstance(disposition, dict):
            disposition = disposition.get("disposition")
        table = resource.table_name
        if disposition != "merge" or not isinstance(table, str):
            continue  # (the LEDES resource chooses per table itself)
        if table not in loaded:
            resource.apply_hints(write_disposition="append")


def _explain(exc: PipelineStepFailed) -> str:
    """The root cause of a dlt step failure, as the user should read it."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, SourceError):
            return f"{cause.what}. {cause.todo}"
        cause = cause.__cause__ or cause.__context__
        seen += 1
    step = getattr(exc, "step", "?")
    detail = str(exc.exception) if getattr(exc, "exception", None) else str(exc)
    todo = {
        "extract": "Check the source's configuration and that it is reachable.",
        "normalize": "The data does not fit the raw schema (see the message); the schema "
                     "contract rejects changed types.",
        "load": "Check that raw.duckdb is not open in another process (DuckDB allows one "
                "writer) and that the disk has space; then run `lexrecon ingest` again: the "
                "pending package is loaded first.",
    }.get(step, "Run again with --verbose for details.")
    return f"the {step} step failed: {detail.splitlines()[0][:400]}. {todo}"
