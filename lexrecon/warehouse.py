"""Build the warehouse with dbt (in-process) and publish a green build to the serving file.

``build`` runs ``dbt build`` through ``dbtRunner`` into a temporary file next to the build
database, closes DuckDB, then moves it over the build path and keeps dbt's run results beside it
(``<build_db>.run_results.json``) for the evidence pack. It never touches the serving file.

A build with no selection is *incremental* when it can be (the daily run): when the previous
build - the build file, or the serving file it was published to - is green, unchanged since it
was built (sha256), made from the same raw file, dbt project, OCG rules, vars and versions (a
fingerprint kept in ``<file>.state.json``), it starts from a copy of that file and runs only
``source:<src>.<table>+`` for every raw table whose newest ``_dlt_load_id`` changed (nothing at
all when none did). Otherwise, or with ``full_refresh``, it builds everything into an empty
file. See docs/warehouse.md.

``publish`` refuses unless those run results are all green and belong to that very build file
(sha256 recorded at build time), then moves the build file over the serving file with
``os.replace`` (its side files go with it; ``keep_build`` copies it instead, hashing the bytes
as they are copied): readers holding the old file keep it until they reconnect, and a failed
build never reaches them.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lexrecon.config import DBT_PROJECT_DIR

# "no-op": nodes dbt build lists but does not run, such as exposures (models/exposures.yml).
GREEN_STATUSES = frozenset({"success", "pass", "no-op"})
# A test declared with severity "warn" reports "warn": a documented tolerance, not a failure.
# Exposures (the dashboard pages) have nothing to run and report "no-op".
TOLERATED_STATUSES = frozenset({"warn", "no-op"})


class PublishRefused(RuntimeError):
    """The build is not fit to publish; the message says why and what to do."""


@dataclass
class BuildResult:
    success: bool
    build_db: Path
    run_results_path: Path | None
    run_results: dict = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    # "full" (empty file, everything), "incremental" (previous file + changed raw tables'
    # descendants), "up to date" (nothing changed: the previous green build stands),
    # "selected" (the caller's --select on the previous file)
    mode: str = "full"
    select: list[str] = field(default_factory=list)
    reason: str = ""
    # an incremental build's two runs: first-wave models, their delta rows, the second run's
    # models and number of tests, the first-wave models that did not change (plan_waves)
    plan: dict = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    # "foreground", or "background" (start_parse, while the ingest ran), or "foreground: why
    # the background parse was not used"
    parse: str = ""

    def summary(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))
        head = "green" if self.success else "FAILED"
        how = self.mode + (f": {self.reason}" if self.reason else "")
        return (f"build {head} in {self.elapsed_seconds:.1f}s ({how}): "
                f"{counts or 'no nodes run'}")


def run_results_path(build_db: Path | str) -> Path:
    """Where the run results of a build are kept: ``<build_db>.run_results.json``."""
    build_db = Path(build_db)
    return build_db.with_name(build_db.name + ".run_results.json")


def build_info_path(build_db: Path | str) -> Path:
    """Where build metadata (sha256 of the file, status counts) is kept."""
    build_db = Path(build_db)
    return build_db.with_name(build_db.name + ".build.json")


def state_path(build_db: Path | str) -> Path:
    """Where the incremental state of a build is kept: raw load marks and the fingerprint."""
    build_db = Path(build_db)
    return build_db.with_name(build_db.name + ".state.json")


def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_signature(path: Path) -> list[int]:
    """Inode, size and modification time (ns) of a file: any write to it changes them."""
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _hash_unchanged(path: Path) -> tuple[str, list[int]]:
    """sha256 of ``path`` and its signature, both of the same bytes (else it raises)."""
    before = file_signature(path)
    digest = sha256_file(path)
    if file_signature(path) != before:
        raise RuntimeError(f"{path} changed while it was being hashed")
    return digest, before


def _unchanged_since_hashed(path: Path, info: dict) -> bool:
    """Is ``path`` still the file whose sha256 ``info`` records? Its signature says so at no
    cost when it is the one recorded with the hash; otherwise the bytes are hashed again."""
    if info.get("signature") and file_signature(path) == info["signature"]:
        return True
    return sha256_file(path) == info.get("sha256")


def _copy_hashing(src: Path, dst: Path, chunk: int = 8 << 20) -> str:
    """Copy ``src`` to ``dst`` and return the sha256 of what was read, in one pass."""
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while block := fin.read(chunk):
            digest.update(block)
            fout.write(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ incremental state
# What a build's result depends on besides the raw tables: the dbt project, the Python the
# OCG model imports (engine, rules parser, LEDES fields), the OCG rules files, dbt vars and
# the versions of dbt and DuckDB. Any change of these forces a full build.
_FINGERPRINT_DIRS = ("models", "macros", "seeds", "tests", "analyses", "snapshots")
_FINGERPRINT_CODE = ("lexrecon/ocg", "lexrecon/ledes")


def _rules_dir(extra_args: list[str] | None) -> Path:
    """The OCG rules folder the build reads: the ``ocg_rules_dir`` var, else $LEXRECON_FIRM/ocg."""
    from lexrecon.config import paths

    args = list(extra_args or [])
    if "--vars" in args and args.index("--vars") + 1 < len(args):
        import yaml

        try:
            given = yaml.safe_load(args[args.index("--vars") + 1]) or {}
        except yaml.YAMLError:
            given = {}
        if isinstance(given, dict) and given.get("ocg_rules_dir"):
            return Path(str(given["ocg_rules_dir"]))
    return paths().firm / "ocg"


def fingerprint(raw_db: Path, extra_args: list[str] | None = None) -> str:
    """sha256 over everything besides the raw tables that a build's result depends on."""
    from importlib.metadata import version

    from lexrecon.config import REPO_ROOT

    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("raw_db", str(Path(raw_db).resolve()).encode())
    add("args", json.dumps(list(extra_args or [])).encode())
    for pkg in ("dbt-core", "dbt-duckdb", "duckdb", "polars"):
        try:
            add(pkg, version(pkg).encode())
        except Exception:  # noqa: BLE001 - a missing package is part of the fingerprint too
            add(pkg, b"?")
    files = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for sub in _FINGERPRINT_DIRS:
        folder = DBT_PROJECT_DIR / sub
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
    for sub in _FINGERPRINT_CODE:
        files += sorted((REPO_ROOT / sub).rglob("*.py"))
    rules = _rules_dir(extra_args)
    add("rules_dir", str(rules.resolve()).encode())
    if rules.is_dir():
        files += sorted(p for p in rules.iterdir() if p.suffix in (".yml", ".yaml"))
    for f in files:
        add(str(f), f.read_bytes())
    return digest.hexdigest()


def raw_load_marks(raw_db: Path, tables: list[str] | None = None) -> dict[str, str | None]:
    """'schema.table' -> newest ``_dlt_load_id`` of each raw table (None: no such column; a
    table without one counts as changed on every build). ``tables``: only these."""
    import duckdb

    marks: dict[str, str | None] = {}
    con = duckdb.connect(str(raw_db), read_only=True)
    try:
        cols: dict[str, set[str]] = {}
        for sch, tab, col in con.execute(
                "select schema_name, table_name, column_name from duckdb_columns() "
                "where database_name = current_database() and not internal").fetchall():
            cols.setdefault(f"{sch}.{tab}", set()).add(col)
        wanted = cols if tables is None else {t: cols[t] for t in tables if t in cols}
        for key, names in wanted.items():
            if key.split(".", 1)[1].startswith("_dlt_"):
                continue  # dlt's own bookkeeping tables: never dbt sources
            if "_dlt_load_id" in names:
                sch, tab = key.split(".", 1)
                marks[key] = con.execute(
                    f'select max(_dlt_load_id) from "{sch}"."{tab}"').fetchall()[0][0]
            else:
                marks[key] = None
    finally:
        con.close()
    return marks


def _raw_table(source) -> str:
    """'raw schema.table' of a dbt source: a node of manifest.json (dict) or of the parsed
    project (object)."""
    get = source.get if isinstance(source, dict) else (lambda key: getattr(source, key, None))
    return f"{get('schema')}.{get('identifier') or get('name')}"


def dbt_sources(manifest) -> dict[str, str]:
    """'raw schema.table' -> dbt selector ``source:<source>.<table>`` of dbt's parsed project."""
    return {_raw_table(s): f"source:{s.source_name}.{s.name}" for s in manifest.sources.values()}


def _work_dir(build_db: Path) -> Path:
    return build_db.with_name(f".{build_db.name}.dbt")


def manifest_path(build_db: Path | str) -> Path:
    """dbt's manifest of the last build into ``build_db``."""
    return _work_dir(Path(build_db).resolve()) / "target" / "manifest.json"


def _previous_state(build_db: Path, raw_db: Path, finger: str) -> tuple[dict | None, str]:
    """The previous build's state if an incremental build may start from it, else why not."""
    state_file, info_file = state_path(build_db), build_info_path(build_db)
    if not build_db.is_file():
        return None, "no previous build"
    if not state_file.is_file() or not info_file.is_file():
        return None, "no incremental state beside the previous build"
    try:
        state = json.loads(state_file.read_text())
        info = json.loads(info_file.read_text())
    except ValueError:
        return None, "unreadable state of the previous build"
    if not info.get("success") or not state.get("success"):
        return None, "the previous build was not green"
    if state.get("sha256") != info.get("sha256"):
        return None, "the state belongs to another build file"
    if state.get("raw_db") != str(raw_db):
        return None, "the previous build was made from another raw file"
    if state.get("fingerprint") != finger:
        return None, "dbt project, OCG rules, vars or versions changed since the previous build"
    return state, ""


def changed_raw_tables(raw_db: Path, state: dict) -> list[str]:
    """Raw tables ('schema.table', dbt sources) changed since the state's marks."""
    sources: dict[str, str] = state["sources"]
    before: dict[str, str | None] = state["marks"]
    now = raw_load_marks(raw_db, list(sources))
    missing = object()
    changed = {key for key in now if now[key] is None or before.get(key, missing) != now[key]}
    changed |= {key for key in before if key not in now}  # a raw table that went away
    return sorted(key for key in changed if key in sources)


_LOAD_ID = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def delta_spec(doc: dict, state: dict, changed: list[str]) -> dict:
    """What the incremental marts need (macros/incremental_delta.sql): the previous build's
    marks of the changed raw tables, and per model the changed raw tables upstream of it
    (``doc``: dbt's manifest of the previous build)."""
    raw_of = {uid: _raw_table(s) for uid, s in doc.get("sources", {}).items()}
    parents: dict[str, list[str]] = doc.get("parent_map", {})
    memo: dict[str, frozenset[str]] = {}

    def upstream(uid: str) -> frozenset[str]:
        if uid not in memo:
            memo[uid] = frozenset()  # cycle guard (dbt graphs have none)
            found: set[str] = set()
            for parent in parents.get(uid, []):
                found |= {raw_of[parent]} if parent in raw_of else upstream(parent)
            memo[uid] = frozenset(found)
        return memo[uid]

    wanted = set(changed)
    per_model = {}
    for uid, node in doc.get("nodes", {}).items():
        if node.get("resource_type") == "model":
            per_model[node["name"]] = sorted(upstream(uid) & wanted)
    # load ids go into SQL text: only ever digits and a dot (anything else: recompute all rows)
    since = {key: mark for key in changed
             if isinstance(mark := state["marks"].get(key), str) and _LOAD_ID.match(mark)}
    return {"since": since, "changed_upstream": per_model}


@dataclass
class Waves:
    """An incremental build in two dbt runs. ``first``: the incremental models that log their
    delta rows (macros/incremental_delta.sql) and the selected models upstream of them, run
    first; each logged model reports whether any of its rows changed. The second run takes
    only the selected nodes downstream of a change (``second``): a model is rebuilt when one of
    its parents is a changed raw table, a logged model with changed rows, or a rebuilt model;
    a logged model that the child reads through a predicate (``delta_read``,
    macros/delta_reads.sql) counts only when some of its delta rows match that predicate."""

    manifest: dict
    selected: set[str]  # unique ids dbt selects for the changed raw tables' ``source:...+``
    changed_sources: set[str]  # source unique ids
    order: list[str]  # the selected models, parents first
    first: list[str]  # unique ids of the first-wave models

    def names(self, uids: list[str]) -> list[str]:
        return [self.manifest["nodes"][u]["name"] for u in uids]

    def _dirty(self, delta_rows: dict[str, int]) -> tuple[set[str], list[str]]:
        nodes, parents = self.manifest["nodes"], self.manifest["parent_map"]
        first = set(self.first)
        dirty = set(self.changed_sources)
        unchanged = []
        for uid in self.order:
            node = nodes[uid]
            if uid in first and _delta_logged(node):
                # its own rows changed or not: it recomputes exactly the delta rows, whatever
                # else upstream of it ran (macros/incremental_delta.sql)
                if delta_rows.get(node["name"], 1) > 0:
                    dirty.add(uid)
                else:
                    unchanged.append(node["name"])
            elif any(p in dirty and not self._unread(uid, p, delta_rows)
                     for p in parents.get(uid, [])):
                dirty.add(uid)
        return dirty, unchanged

    def _unread(self, uid: str, parent: str, delta_rows: dict[str, int]) -> bool:
        """Whether ``parent`` is a logged first-wave model that ``uid`` reads through a
        predicate none of the parent's delta rows (old or new) matched."""
        nodes = self.manifest["nodes"]
        if parent not in self.first or not _delta_logged(nodes[parent]):
            return False
        name = nodes[parent]["name"]
        if name not in delta_reads(nodes[uid]):
            return False
        return delta_rows.get(f"{name}|{nodes[uid]['name']}", 1) == 0

    def second(self, delta_rows: dict[str, int]) -> tuple[list[str], list[str], list[str]]:
        """(models, tests, unchanged first-wave models) of the second run, given the first
        run's delta log (model name -> rows deleted and recomputed; a first-wave incremental
        model that logged nothing counts as changed)."""
        nodes, parents = self.manifest["nodes"], self.manifest["parent_map"]
        dirty, unchanged = self._dirty(delta_rows)
        models = self._rebuilt(dirty)
        tests = sorted(u for u in self.selected
                       if nodes.get(u, {}).get("resource_type") == "test"
                       and any(p in dirty for p in parents.get(u, [])))
        return self.names(models), self.names(tests), unchanged

    def _rebuilt(self, dirty: set[str]) -> list[str]:
        """The models of the second run: the changed ones not in the first."""
        first = set(self.first)
        return [u for u in self.order if u in dirty and u not in first]

    def second_select(self, delta_rows: dict[str, int]) -> list[str]:
        """The second run's ``--select`` for the nodes of ``second``, short: dbt matches every
        criterion against every node, so its ~16 models and ~90 tests by name cost it seconds.
        The models by name (dbt adds every test with a selected parent), and the tests of each
        changed source and changed first-wave model (``<node>,resource_type:test``: dbt adds the
        node's tests, the intersection keeps only them)."""
        dirty, _ = self._dirty(delta_rows)
        first = set(self.first)
        sources = self.manifest.get("sources", {})
        models = self.names(self._rebuilt(dirty))
        near = [f"source:{sources[u]['source_name']}.{sources[u]['name']}" if u in sources
                else self.manifest["nodes"][u]["name"]
                for u in sorted(dirty) if u in sources or u in first]
        return models + [f"{name},resource_type:test" for name in near]


def delta_reads(node: dict) -> dict[str, str]:
    """Parent model name -> the predicate this node reads its rows through
    (``delta_read`` in macros/delta_reads.sql records it in the node's meta)."""
    meta = node.get("config", {}).get("meta") or {}
    return {key.split(":", 1)[1]: predicate for key, predicate in meta.items()
            if key.startswith("delta_read:")}


def _delta_logged(node: dict) -> bool:
    return any("delta_logged(" in (hook.get("sql") or "")
               for hook in node.get("config", {}).get("post-hook", []))


def plan_waves(doc: dict, changed: list[str]) -> Waves | None:
    """The two runs of an incremental build of the changed raw tables (``doc``: dbt's manifest
    of the previous build), or None when no model downstream of them logs its delta rows (then
    one run of ``source:...+``)."""
    nodes, parents, children = doc["nodes"], doc["parent_map"], doc["child_map"]
    wanted = set(changed)
    sources = {uid for uid, s in doc.get("sources", {}).items() if _raw_table(s) in wanted}
    selected: set[str] = set()
    todo = list(sources)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in selected and child in nodes:
                selected.add(child)
                todo.append(child)
    models = {u for u in selected if nodes[u]["resource_type"] == "model"}
    order: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen:
            return
        seen.add(uid)
        for parent in parents.get(uid, []):
            if parent in models:
                visit(parent)
        order.append(uid)

    for uid in sorted(models):
        visit(uid)
    logged = {u for u in models if _delta_logged(nodes[u])}
    if not logged:
        return None
    needed = set(logged)  # the logged models and every selected model upstream of them
    for uid in reversed(order):
        if uid in needed:
            needed.update(p for p in parents.get(uid, []) if p in models)
    first = [u for u in order if u in needed]
    return Waves(doc, selected, sources, order, first)


def _read_delta_log(path: Path) -> dict[str, int]:
    """The first wave's delta log (macros/delta_log.sql writes it at the end of the run, one
    JSON object a line, and drops the table): model name -> delta rows before + after."""
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["model"]: int(row["n"]) for row in rows}


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _close_duckdb_environment() -> None:
    """dbt-duckdb keeps its DuckDB instance open in-process after ``invoke()``; close it so the
    file is checkpointed, unlocked and complete on disk before it is moved."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def _summarise(results: dict) -> tuple[dict[str, int], list[str]]:
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    for res in results.get("results", []):
        status = str(res.get("status"))
        statuses[status] += 1
        if status not in GREEN_STATUSES | TOLERATED_STATUSES:
            msg = (res.get("message") or "").strip().splitlines()
            failures.append(f"{res.get('unique_id')}: {status}" + (f" ({msg[0]})" if msg else ""))
    # the causes first, then what was skipped because of them
    failures.sort(key=lambda line: line.endswith(": skipped"))
    return dict(statuses), failures


def _building_path(build_db: Path) -> Path:
    """The file a build writes before it is moved over ``build_db`` (a stable name, so dbt's
    partial parsing in the work dir survives between builds: the profile renders this path)."""
    return build_db.with_name(f".{build_db.name}.building")


def _dbt_env(raw_db: Path, build_db: Path) -> dict[str, str]:
    """The environment of a build's dbt invocations (dbt_project/profiles.yml reads it)."""
    return {
        "LEXRECON_RAW_DB": str(raw_db),
        "LEXRECON_BUILD_DB": str(_building_path(build_db)),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _dbt_args(command: str, build_db: Path, select: list[str] | None = None, *,
              full_refresh: bool = False, quiet: bool = True,
              extra_args: list[str] | None = None) -> list[str]:
    """The arguments of a build's dbt invocation ``command``."""
    work = _work_dir(build_db)
    # --no-write-json: dbt would write manifest.json (2.5 MB) twice and run_results.json
    # once per run; the build writes what it keeps itself, once
    args = [command, "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--no-write-json"]
    if select:
        args += ["--select", *select]
    if full_refresh and command != "parse":
        args.append("--full-refresh")
    if quiet:
        args.append("--quiet")
    return args + list(extra_args or []) + [
        "--target-path", str(work / "target"), "--log-path", str(work / "logs")]


_ENV_VAR_CALL = re.compile(rb"""env_var\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")
_NOT_PROJECT = ("target", "logs")  # dbt's output, if someone ran dbt inside the project folder


def parse_inputs(argv: list[str], env: dict[str, str]) -> str:
    """sha256 of everything ``dbt parse`` reads: its arguments (vars included), every file of
    the dbt project (profiles.yml, dbt_project.yml, models, macros, seeds, tests, packages),
    the environment variables it can see (every ``DBT_*`` and ``LEXRECON_*``, and every name an
    ``env_var()`` of the project reads: LEXRECON_DELTA, the profile's paths, threads, memory)
    with ``env`` applied, and the dbt versions. Two parses with equal inputs give the same
    project, whatever the raw data is: the parse reads no database."""
    from importlib.metadata import version

    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("argv", json.dumps(argv).encode())
    for pkg in ("dbt-core", "dbt-duckdb"):
        add(pkg, version(pkg).encode())
    names: set[str] = set()
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        rel = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and rel.parts[0] not in _NOT_PROJECT:
            data = path.read_bytes()
            names.update(n.decode() for n in _ENV_VAR_CALL.findall(data))
            add(str(rel), data)
    environ = {**os.environ, **env}
    seen = {k: v for k, v in environ.items()
            if k.startswith(("DBT_", "LEXRECON_")) or k in names}
    seen.update({n: "<unset>" for n in names if n not in environ})
    add("environ", json.dumps(seen, sort_keys=True).encode())
    return digest.hexdigest()


def parse_project(raw_db: Path | str, build_db: Path | str, *,
                  extra_args: list[str] | None = None, quiet: bool = True):
    """``dbt parse`` as a build of ``raw_db`` into ``build_db`` runs it (same arguments and
    environment, partial parsing in its work dir): dbt's result, ``.result`` the parsed project."""
    from dbt.cli.main import dbtRunner

    raw_db, build_db = Path(raw_db).resolve(), Path(build_db).resolve()
    with _environ(**_dbt_env(raw_db, build_db)):
        return dbtRunner().invoke(_dbt_args("parse", build_db, quiet=quiet,
                                            extra_args=extra_args))


class BackgroundParse:
    """``dbt parse`` of the project for a build into ``build_db``, in a thread (dbt imported
    there too), so that a build started later finds the parsed project ready: the nightly
    ``lexrecon refresh`` starts it before the ingest. The parse reads only the project files,
    its arguments and environment variables (:func:`parse_inputs`), never the raw or build
    database, so the ingest cannot change it; ``take`` hands the result to the build only if
    those inputs are still what they were when it started (else the build parses again).

    The build's environment (profile paths) is set in ``os.environ`` by ``start_parse``, in the
    caller's thread before any other starts, and restored by ``take`` or ``close``."""

    def __init__(self, raw_db: Path | str, build_db: Path | str, *,
                 extra_args: list[str] | None = None, quiet: bool = True):
        import threading

        self.raw_db = Path(raw_db).resolve()
        self.build_db = Path(build_db).resolve()
        self.argv = _dbt_args("parse", self.build_db, quiet=quiet, extra_args=extra_args)
        self.env = _dbt_env(self.raw_db, self.build_db)
        self.inputs: str | None = None  # parse_inputs when the parse started
        self.manifest = None
        self.why = "not run"
        self.seconds = 0.0
        self._saved: dict[str, str | None] | None = None
        self._thread = threading.Thread(target=self._parse, name="lexrecon-dbt-parse")

    def start(self) -> BackgroundParse:
        self._saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        self._thread.start()
        return self

    def _parse(self) -> None:
        started = time.perf_counter()
        try:
            from dbt.cli.main import dbtRunner

            _work_dir(self.build_db).joinpath("target").mkdir(parents=True, exist_ok=True)
            before = parse_inputs(self.argv, self.env)
            outcome = dbtRunner().invoke(self.argv)
            if not outcome.success or outcome.result is None:
                self.why = f"the background parse failed: {outcome.exception}"
            elif parse_inputs(self.argv, self.env) != before:
                self.why = "the project or its environment changed during the background parse"
            else:
                self.inputs, self.manifest, self.why = before, outcome.result, ""
            # what the build's first dbt run imports besides (the run and build tasks)
            import dbt.task.build  # noqa: F401
        except BaseException as exc:  # noqa: BLE001 - reported, and the build parses itself
            self.manifest, self.why = None, f"the background parse failed: {exc!r}"
        finally:
            self.seconds = time.perf_counter() - started

    def close(self) -> None:
        """Wait for the parse and restore the environment ``start`` changed."""
        if self._thread.ident is not None:  # started
            self._thread.join()
        if self._saved is not None:
            for key, old in self._saved.items():
                if old is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = old
            self._saved = None

    def take(self, raw_db: Path, build_db: Path, *, extra_args: list[str] | None = None,
             quiet: bool = True):
        """(dbt's parsed project, "") for the build of ``raw_db`` into ``build_db`` when this
        parse was made with that build's arguments and environment and nothing ``dbt parse``
        reads changed since it started; else (None, why not). Once only."""
        self.close()
        manifest, self.manifest = self.manifest, None
        argv = _dbt_args("parse", Path(build_db), quiet=quiet, extra_args=extra_args)
        env = _dbt_env(Path(raw_db), Path(build_db))
        if manifest is None:
            return None, self.why or "the background parse was already used"
        if argv != self.argv or env != self.env:
            return None, "the background parse was made for another build"
        if parse_inputs(argv, env) != self.inputs:
            return None, "the project or its environment changed after the background parse"
        return manifest, ""


def start_parse(raw_db: Path | str, build_db: Path | str, *,
                extra_args: list[str] | None = None, quiet: bool = True) -> BackgroundParse:
    """Start ``dbt parse`` for a later ``build(raw_db, build_db, parsed=...)`` in a thread; see
    :class:`BackgroundParse` (``close()`` it, or leave that to the build, which takes it)."""
    return BackgroundParse(raw_db, build_db, extra_args=extra_args, quiet=quiet).start()


def build(
    raw_db: Path | str,
    build_db: Path | str,
    select: list[str] | str | None = None,
    full_refresh: bool = False,
    *,
    extra_args: list[str] | None = None,
    quiet: bool = True,
    incremental: bool = True,
    serving_db: Path | str | None = None,
    parsed: BackgroundParse | None = None,
) -> BuildResult:
    """Run ``dbt build`` in-process from ``raw_db`` (attached read-only) into ``build_db``.

    The build writes a temporary file in the build directory and moves it over ``build_db``
    when dbt is done (green or not: a failed build stays inspectable, ``publish`` refuses it).
    With ``select`` and an existing build file (and not ``full_refresh``), the existing build is
    the starting point, so the unselected models stay as they were. With no ``select``, the
    build is incremental when the previous one allows it (module docstring; ``incremental=False``
    or ``full_refresh`` always build everything from an empty file).

    ``serving_db``: the file ``publish`` moves green builds to. The previous build is found
    there when the build file was published (moved) or is a failed build: then the build
    starts from a copy of the serving file.

    ``parsed``: dbt's parse of the project started earlier (:func:`start_parse`, e.g. while the
    ingest ran); used when it was made for this build from the same project files, arguments and
    environment, else the build parses again itself.
    """
    from dbt.cli.main import dbtRunner

    raw_db = Path(raw_db).resolve()
    build_db = Path(build_db).resolve()
    if not raw_db.is_file():
        raise FileNotFoundError(
            f"raw database {raw_db} does not exist: run `lexrecon ingest` first "
            "(or set LEXRECON_RAW_DB)"
        )
    build_db.parent.mkdir(parents=True, exist_ok=True)
    # Stable names, so dbt's partial parsing (in the work dir) survives between builds: the
    # profile renders the build path, and a changed profile forces a full re-parse.
    tmp_db = _building_path(build_db)
    work = _work_dir(build_db)
    for stale in (tmp_db, tmp_db.with_name(tmp_db.name + ".wal")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()

    finger = fingerprint(raw_db, extra_args)
    selection = [select] if isinstance(select, str) else list(select or [])
    mode, reason = "full", ""
    state = None
    serving = Path(serving_db).resolve() if serving_db else None
    # the file this build starts from: the build file, else the published one
    base = build_db if build_db.is_file() or serving is None or not serving.is_file() else serving
    delta: dict = {}
    previous_manifest: dict = {}  # dbt's manifest of the previous build (incremental)
    changed: list[str] = []
    steps: dict[str, float] = {}  # seconds of the build's steps
    if selection:
        mode = "selected"
    elif full_refresh:
        reason = "full refresh asked for"
    elif not incremental:
        reason = "incremental build switched off"
    else:
        state, reason = _previous_state(build_db, raw_db, finger)
        if state is None and serving is not None and serving.is_file():
            # the build file was published (moved) or failed: start from the published build
            published, why = _previous_state(serving, raw_db, finger)
            if published is not None:
                base, state, reason = serving, published, ""
            elif not build_db.is_file():
                reason = f"no previous build file, and the published {serving.name} is no base: {why}"
        if state is not None and not manifest_path(build_db).is_file():
            state, reason = None, "no dbt manifest of the previous build"
        if state is not None:
            mode = "incremental"
            changed = changed_raw_tables(raw_db, state)
            selection = [f"{state['sources'][key]}+" for key in changed]
            previous_manifest = json.loads(manifest_path(build_db).read_text())
            delta = delta_spec(previous_manifest, state, changed)
            if not selection and not _unchanged_since_hashed(base, state):
                state, mode = None, "full"
                reason = "the previous build file changed after it was built"
            elif not selection:
                return BuildResult(
                    success=True, build_db=base, run_results_path=run_results_path(base),
                    run_results={}, elapsed_seconds=time.perf_counter() - started,
                    mode="up to date", reason="no raw table changed since the previous build"
                    + ("" if base == build_db else f" (published to {base.name})"))
    # The raw tables' marks as they are before dbt reads them (a load during the build makes
    # the next build pick it up again rather than miss it).
    marks_before = raw_load_marks(raw_db, list(state["sources"]) if state else None)
    # This build replaces the previous one: its state no longer describes the build file.
    state_path(build_db).unlink(missing_ok=True)
    if selection and base.is_file() and not full_refresh:
        t0 = time.perf_counter()
        if state is None or (state.get("signature") and file_signature(base) == state["signature"]):
            # unchanged since it was hashed (or nothing to check): the kernel copies it
            shutil.copyfile(base, tmp_db)
            copied = state["sha256"] if state else None
        else:
            copied = _copy_hashing(base, tmp_db)
        steps["copy previous build"] = time.perf_counter() - t0
        if state is not None and copied != state["sha256"]:
            tmp_db.unlink()
            mode, reason, selection = "full", "the previous build file changed after it was built", []
            delta = {}

    target = work / "target"
    delta_file = target / "delta_rows.json"
    base_env = _dbt_env(raw_db, build_db)

    def args_of(command: str, select: list[str] | None = None) -> list[str]:
        return _dbt_args(command, build_db, select, full_refresh=full_refresh, quiet=quiet,
                         extra_args=extra_args)

    manifest = None  # dbt's parsed project, shared by the runs of this build

    def dbt(command: str, select: list[str], log: bool = False) -> tuple[bool, str | None, dict]:
        # incremental marts (macros/incremental_delta.sql); empty: every model recomputes all;
        # log: the delta models count their delta rows, written to delta_file at the end
        # (macros/delta_log.sql)
        spec = dict(delta, log=True, log_file=str(delta_file)) if log else delta
        error, results = None, {}
        with _environ(**base_env, LEXRECON_DELTA=json.dumps(spec, sort_keys=True) if spec else "{}"):
            outcome = dbtRunner(manifest=manifest).invoke(args_of(command, select))
        ok = bool(outcome.success)
        if outcome.exception is not None:
            error = f"{type(outcome.exception).__name__}: {outcome.exception}"
        if hasattr(outcome.result, "write"):
            outcome.result.write(str(target / "run_results.json"))
            results = json.loads((target / "run_results.json").read_text())
        return ok, error, results

    waves = plan_waves(previous_manifest, changed) if (
        mode == "incremental" and tmp_db.is_file()) else None
    plan: dict = {}
    success, error, results = False, None, {}
    parse_how = ""
    target.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        parse_how = "foreground"
        if parsed is not None:
            manifest, why = parsed.take(raw_db, build_db, extra_args=extra_args, quiet=quiet)
            steps["dbt parse, background wait"] = time.perf_counter() - t0
            parse_how = "background" if manifest is not None else f"foreground: {why}"
            t0 = time.perf_counter()
        if manifest is None:
            parsing = parse_project(raw_db, build_db, extra_args=extra_args, quiet=quiet)
            steps["dbt parse"] = time.perf_counter() - t0
            if not parsing.success or parsing.result is None:
                error = f"dbt parse failed: {parsing.exception}"
            else:
                manifest = parsing.result
        if manifest is not None and (
                mode != "incremental" or not manifest_path(build_db).is_file()):
            # the next incremental build reads it (delta_spec, plan_waves); an incremental
            # build's project is the previous build's (same fingerprint), so is its manifest
            from dbt.parser.manifest import write_manifest

            write_manifest(manifest, str(target))
        t0 = time.perf_counter()
        if manifest is None:
            pass
        elif waves is None:
            success, error, results = dbt("build", selection)
            steps["dbt build"] = time.perf_counter() - t0
        else:
            # two runs (docs/warehouse.md, "Incremental builds"): the delta chain first, then
            # only what is downstream of a change
            delta_file.unlink(missing_ok=True)
            success, error, results = dbt("run", waves.names(waves.first), log=True)
            delta_rows = _read_delta_log(delta_file)
            steps["dbt run, first wave"] = time.perf_counter() - t0
            plan = {"first": waves.names(waves.first), "delta_rows": delta_rows}
            if success and results:
                models, tests, unchanged = waves.second(delta_rows)
                plan.update(second_models=models, second_tests=len(tests), unchanged=unchanged)
                if models or tests:
                    t0 = time.perf_counter()
                    ok2, error, second = dbt("build", waves.second_select(delta_rows))
                    steps["dbt build, second wave"] = time.perf_counter() - t0
                    success = success and ok2
                    # one result a node: the run hooks (macros/delta_log.sql) ran in both
                    again = {r.get("unique_id") for r in second.get("results", [])}
                    results = dict(second, results=[
                        r for r in results.get("results", []) if r.get("unique_id") not in again
                    ] + second.get("results", []), elapsed_time=results.get(
                        "elapsed_time", 0) + second.get("elapsed_time", 0)) if second else {}
    finally:
        t0 = time.perf_counter()
        _close_duckdb_environment()  # one checkpoint, after the last run
        steps["close"] = time.perf_counter() - t0
    elapsed = time.perf_counter() - started

    kept = run_results_path(build_db)
    if results and mode == "incremental" and run_results_path(base).is_file():
        # The kept results cover the whole file: this run's results, and the previous build's
        # for the nodes not run now (their inputs did not change, so neither did their result).
        previous = json.loads(run_results_path(base).read_text())
        ran = {r.get("unique_id") for r in results.get("results", [])}
        carried = [r for r in previous.get("results", []) if r.get("unique_id") not in ran]
        merged = dict(results, results=results.get("results", []) + carried)
        merged["lexrecon"] = {"mode": "incremental", "run_now": len(ran),
                              "carried_over_from_previous_build": len(carried), **plan}
        kept.write_text(json.dumps(merged))
    elif results:
        kept.write_text(json.dumps(results))
    else:
        kept.unlink(missing_ok=True)

    statuses, failures = _summarise(results)
    success = success and bool(results) and not failures
    if tmp_db.is_file():
        os.replace(tmp_db, build_db)
        tmp_db.with_name(tmp_db.name + ".wal").unlink(missing_ok=True)
        t0 = time.perf_counter()
        digest, signature = _hash_unchanged(build_db)
        steps["hash"] = time.perf_counter() - t0
        info = {
            "build_db": str(build_db),
            "raw_db": str(raw_db),
            "sha256": digest,
            "signature": signature,
            "success": success,
            "statuses": statuses,
            "elapsed_seconds": round(elapsed, 3),
            "select": select,
            "mode": mode,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        build_info_path(build_db).write_text(json.dumps(info, indent=2))
        # A build of everything (full or incremental) is a base for the next incremental one;
        # a caller's own --select may leave models behind raw, so it is not.
        if success and mode in ("full", "incremental") and manifest is not None and \
                manifest_path(build_db).is_file():
            sources = dbt_sources(manifest)
            state_path(build_db).write_text(json.dumps({
                "success": True, "sha256": digest, "signature": signature,
                "raw_db": str(raw_db), "fingerprint": finger,
                "sources": sources,
                "marks": {k: marks_before.get(k) for k in sources if k in marks_before},
            }, indent=1, sort_keys=True) + "\n")
    else:
        build_info_path(build_db).unlink(missing_ok=True)
    return BuildResult(
        success=success,
        build_db=build_db,
        run_results_path=kept if results else None,
        run_results=results,
        elapsed_seconds=elapsed,
        statuses=statuses,
        failures=failures,
        error=error,
        mode=mode,
        select=selection,
        reason=reason,
        plan=plan,
        steps={k: round(v, 2) for k, v in steps.items()},
        parse=parse_how,
    )


def _changed_after_build(build_db: Path, info_file: Path) -> PublishRefused:
    return PublishRefused(
        f"{build_db} changed after it was built and tested (sha256 differs from {info_file.name}); "
        "rebuild before publishing"
    )


def check_publishable(build_db: Path | str, *, verify_sha256: bool = True) -> dict:
    """Return the build info if ``build_db`` may be published, else raise PublishRefused.
    ``verify_sha256=False`` leaves the file's bytes to the caller."""
    build_db = Path(build_db).resolve()
    if not build_db.is_file():
        raise PublishRefused(f"no build at {build_db}: run `lexrecon build` first")
    results_file = run_results_path(build_db)
    info_file = build_info_path(build_db)
    if not results_file.is_file() or not info_file.is_file():
        raise PublishRefused(
            f"{build_db} has no run results ({results_file.name}) or build info: it was not "
            "made by `lexrecon build`; rebuild it"
        )
    results = json.loads(results_file.read_text())
    _, failures = _summarise(results)
    if not results.get("results"):
        raise PublishRefused(f"{results_file} lists no dbt results: rebuild")
    if failures:
        shown = "\n  ".join(failures[:20])
        more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
        raise PublishRefused(
            f"build {build_db} is not green ({len(failures)} not passing):\n  {shown}{more}\n"
            "Fix the data or the models and rebuild; the serving file was left unchanged."
        )
    info = json.loads(info_file.read_text())
    if not info.get("success"):
        raise PublishRefused(f"build {build_db} did not succeed (see {info_file}); rebuild")
    if verify_sha256 and not _unchanged_since_hashed(build_db, info):
        raise _changed_after_build(build_db, info_file)
    return info


# ------------------------------------------------------------------ the old serving file
# os.replace over the serving file drops the old file's last name, and the kernel frees its
# blocks (1.2 GB at scale large, about a second) inside the replace. publish first gives the
# old file a second name (a hard link, ".<serving>.<pid>.<ns>.trash" in the same folder), so the
# replace only drops a name, and deletes that name in a thread after the new file is served.
# Readers holding the old file open keep it either way (its blocks go when they close it). A
# trash name left by a killed process is deleted by the next publish.
_FREEING: list = []  # threads deleting set-aside serving files


def trash_files(serving_db: Path | str) -> list[Path]:
    """Old serving files set aside by publish and not deleted yet."""
    import glob

    serving_db = Path(serving_db)
    return sorted(serving_db.parent.glob(f".{glob.escape(serving_db.name)}.*.trash"))


def _replace_setting_old_aside(src: Path, serving_db: Path) -> None:
    """``os.replace(src, serving_db)``, the old serving file kept under a trash name that a
    thread deletes once the new file is in place (no hard links on the file system: the
    replace frees it, as before)."""
    trash = None
    if serving_db.is_file():
        trash = serving_db.with_name(f".{serving_db.name}.{os.getpid()}.{time.time_ns()}.trash")
        try:
            os.link(serving_db, trash)
        except OSError:
            trash = None
    try:
        os.replace(src, serving_db)
    except BaseException:
        if trash is not None:
            trash.unlink(missing_ok=True)
        raise
    if trash is not None:
        _delete_in_background([trash])


def _delete_in_background(files: list[Path]) -> None:
    """Delete ``files`` in a thread (not a daemon: the process waits for it when it exits)."""
    import threading

    if not files:
        return

    def delete() -> None:
        for path in files:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass  # the next publish tries again

    thread = threading.Thread(target=delete, name="lexrecon-free-old-serving")
    _FREEING.append(thread)
    thread.start()


def wait_freed() -> float:
    """Wait until the old serving files that publish set aside are deleted; returns the seconds
    waited. (A process waits for them anyway when it exits.)"""
    started = time.perf_counter()
    while _FREEING:
        _FREEING.pop(0).join()
    return time.perf_counter() - started


class NothingToPublish(PublishRefused):
    """No build file, and the serving file already holds the last build that was published."""


def publish(build_db: Path | str, serving_db: Path | str, *, keep_build: bool = False) -> Path:
    """Atomically replace ``serving_db`` with the green build ``build_db``.

    The build file itself is moved into place (``os.replace``, no copy), and its run results,
    build info and incremental state go with it: the next incremental build starts from a copy
    of the serving file. With ``keep_build`` (or when the two files are on different file
    systems) the build is copied instead, hashing the bytes as they are copied, and stays.
    Either way what is published is exactly the file that was built and tested (its signature
    or sha256 as recorded at build time), else it is refused and the serving file is untouched.
    The old serving file's blocks are freed after the new file is served, in a thread
    (``wait_freed``), as are old files a killed publish left set aside (``trash_files``).
    """
    build_db = Path(build_db).resolve()
    serving_db = Path(serving_db).resolve()
    _delete_in_background(trash_files(serving_db))  # left by a killed publish
    if build_db == serving_db:
        raise PublishRefused("the build and serving paths are the same file: build elsewhere")
    if not build_db.is_file() and build_info_path(serving_db).is_file() and serving_db.is_file():
        published = json.loads(build_info_path(serving_db).read_text())
        if published.get("build_db") == str(build_db):
            raise NothingToPublish(
                f"no new build at {build_db}: {serving_db} already holds the last build "
                f"(built {published.get('built_at')}, published {published.get('published_at')})")
    info = check_publishable(build_db, verify_sha256=False)
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    moved = False
    if not keep_build:
        if not _unchanged_since_hashed(build_db, info):
            raise _changed_after_build(build_db, build_info_path(build_db))
        try:
            _replace_setting_old_aside(build_db, serving_db)
            moved = True
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    if not moved:
        tmp = serving_db.with_name(f".{serving_db.name}.{os.getpid()}.publishing")
        try:
            if _copy_hashing(build_db, tmp) != info["sha256"]:
                raise _changed_after_build(build_db, build_info_path(build_db))
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            _replace_setting_old_aside(tmp, serving_db)
        finally:
            tmp.unlink(missing_ok=True)
        # the copy's signature is its own; its bytes are the build's
        info = dict(info, signature=file_signature(serving_db))
    # side files: run results (evidence pack, dashboard), build info, incremental state
    transfer = os.replace if moved else shutil.copyfile
    transfer(run_results_path(build_db), run_results_path(serving_db))
    state = state_path(build_db)
    if state.is_file():
        doc = json.loads(state.read_text())
        state_path(serving_db).write_text(json.dumps(
            dict(doc, signature=info.get("signature")), indent=1, sort_keys=True) + "\n")
        if moved:
            state.unlink()
    else:
        state_path(serving_db).unlink(missing_ok=True)
    published = dict(info, serving_db=str(serving_db),
                     published_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    build_info_path(serving_db).write_text(json.dumps(published, indent=2))
    if moved:
        build_info_path(build_db).unlink(missing_ok=True)
    return serving_db


def generate_docs(raw_db: Path | str, build_db: Path | str, target_dir: Path | str) -> bool:
    """Run ``dbt docs generate`` against an existing build; writes the static site to target_dir."""
    from dbt.cli.main import dbtRunner

    args = ["docs", "generate", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
            str(DBT_PROJECT_DIR), "--target-path", str(Path(target_dir).resolve()), "--quiet"]
    with _environ(LEXRECON_RAW_DB=str(Path(raw_db).resolve()),
                  LEXRECON_BUILD_DB=str(Path(build_db).resolve()), DO_NOT_TRACK="1"):
        try:
            return bool(dbtRunner().invoke(args).success)
        finally:
            _close_duckdb_environment()
