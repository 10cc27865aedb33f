"""Child process entry: run one stage and write {ok, figures, peak_rss_mib} to a JSON file."""
from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from pathlib import Path

from lexrecon.bench.runner import BenchContext
from lexrecon.bench.stages import STAGES


def main() -> int:
    args = json.loads(sys.argv[1])
    out = Path(sys.argv[2])
    ctx = BenchContext(scale=args["scale"], seed=args["seed"], work=Path(args["work"]))
    # the stage's firm is the one the OCG rules (dbt's int_ocg_findings_evaluated, pre-bill
    # exceptions) and every other `paths()` default read
    os.environ["LEXRECON_FIRM"] = str(ctx.firm)
    os.environ["LEXRECON_HOME"] = str(ctx.work)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        figures = STAGES[args["stage"]](ctx)
        ok, error = True, None
    except Exception as exc:  # noqa: BLE001 - the runner reports this stage as failed and goes on
        figures, ok = {}, False
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}"
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = max(own.ru_maxrss, kids.ru_maxrss) / 1024
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    out.write_text(json.dumps({"ok": ok, "figures": figures, "error": error,
                               "peak_rss_mib": round(peak, 1), "cpu_s": round(cpu, 2)},
                              default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
