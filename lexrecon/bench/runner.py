"""Run benchmark stages in child processes and record figures, peak memory and targets."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path


@dataclass
class BenchContext:
    scale: str
    seed: int
    work: Path  # scratch folder: firm, raw/build/serving databases

    @property
    def firm(self) -> Path:
        return self.work / "firm"

    @property
    def raw_db(self) -> Path:
        return self.work / "raw.duckdb"

    @property
    def build_db(self) -> Path:
        return self.work / "build.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.work / "serving.duckdb"


@dataclass
class StageResult:
    stage: str
    ok: bool
    seconds: float
    peak_rss_mib: float
    figures: dict = field(default_factory=dict)
    error: str | None = None
    cpu_s: float = 0.0  # user + system CPU of the stage's process (and its children)
    load_before: list[float] = field(default_factory=list)  # /proc/loadavg 1/5/15 min
    load_after: list[float] = field(default_factory=list)


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def run_stage_in_child(name: str, ctx: BenchContext, timeout: float = 3600) -> StageResult:
    """Run one stage in a fresh interpreter and measure its wall time and peak RSS."""
    args = json.dumps({"stage": name, "scale": ctx.scale, "seed": ctx.seed, "work": str(ctx.work)})
    with tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".json", delete=False) as out:
        pass
    load_before = loadavg()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lexrecon.bench.child", args, out.name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stderr_tail = b""
    try:
        _, stderr_tail = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return StageResult(name, False, time.perf_counter() - started, 0.0,
                           error=f"timed out after {timeout}s", load_before=load_before,
                           load_after=loadavg())
    # communicate() reaped the child; its rusage is in RUSAGE_CHILDREN only cumulatively, so the
    # child reports its own peak (getrusage(RUSAGE_SELF)) in the result file.
    seconds = time.perf_counter() - started
    result = json.loads(Path(out.name).read_text() or "{}")
    os.unlink(out.name)
    load_after = loadavg()
    if proc.returncode != 0 or not result.get("ok"):
        error = result.get("error") or stderr_tail.decode(errors="replace")[-2000:]
        return StageResult(name, False, seconds, result.get("peak_rss_mib", 0.0), error=error,
                           cpu_s=result.get("cpu_s", 0.0), load_before=load_before,
                           load_after=load_after)
    return StageResult(name, True, seconds, result["peak_rss_mib"], result["figures"],
                       cpu_s=result.get("cpu_s", 0.0), load_before=load_before,
                       load_after=load_after)


def machine() -> dict:
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    for pkg in ("duckdb", "dlt", "dbt-core", "dbt-duckdb", "polars", "pyarrow", "dash"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def write_results(path: Path, ctx: BenchContext, results: list[StageResult], targets: dict) -> dict:
    doc = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": ctx.scale,
        "seed": ctx.seed,
        "machine": machine(),
        "stages": [asdict(r) for r in results],
        "targets": targets,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return doc
