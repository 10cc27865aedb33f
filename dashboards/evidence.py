"""HOOK: the auditor's evidence-pack export.

A colleague writes the evidence pack (``reports/evidence``). The dashboard only calls it:

    reports.evidence.build_evidence_pack(serving_db: Path, period_from: str | None,
                                         period_to: str | None, out_dir: Path) -> Path

returning the path of one file to download (a zip with data, tie-outs, test results and
hashes), and ``user=`` (who exported it) when the function accepts it. Until that function
exists, ``/evidence-pack`` answers 501 with this explanation and the Evidence page says so;
when it raises (e.g. no period chosen, the warehouse was not published with its run results)
the download answers 409 with its message. Nothing is faked here.
"""
from __future__ import annotations

import importlib
import inspect
import shutil
import tempfile
from pathlib import Path

HOOK_MODULE = "reports.evidence"
HOOK_FUNCTION = "build_evidence_pack"
HOOK_SIGNATURE = (f"{HOOK_MODULE}.{HOOK_FUNCTION}(serving_db, period_from, period_to, out_dir)"
                  " -> Path")


class EvidencePackUnavailable(RuntimeError):
    """The hook is not written yet."""


class EvidencePackFailed(RuntimeError):
    """The hook refused or failed; the message is the hook's."""


def _builder():
    try:
        module = importlib.import_module(HOOK_MODULE)
    except ModuleNotFoundError:
        return None
    return getattr(module, HOOK_FUNCTION, None)


def available() -> bool:
    return callable(_builder())


def build(serving_db: str | Path, period_from: str | None, period_to: str | None,
          user: str | None = None) -> Path:
    builder = _builder()
    if not callable(builder):
        raise EvidencePackUnavailable(
            f"The evidence pack is not available yet: the dashboard calls {HOOK_SIGNATURE}, "
            "which has not been written.")
    out_dir = Path(tempfile.mkdtemp(prefix="lexrecon-evidence-"))  # removed after the download
    kwargs = {"user": user} if "user" in inspect.signature(builder).parameters else {}
    try:
        path = Path(builder(Path(serving_db), period_from, period_to, out_dir, **kwargs))
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise EvidencePackFailed(str(exc)) from exc
    if path.parent != out_dir:  # keep the clean-up simple: the file must be in out_dir
        moved = out_dir / path.name
        shutil.move(str(path), moved)
        path = moved
    return path
