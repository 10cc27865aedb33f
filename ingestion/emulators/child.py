"""The child process of ``start_all(..., in_process=False)``: serve until stdin closes.

``python -m ingestion.emulators.child`` reads one JSON line on stdin
(``{"firm_dir": ..., "port": 0, "options": {...}}``), starts the emulators (threads of this
process), prints ``{"info": {...}}`` (or ``{"error": ..., "type": ...}``) as one JSON line on
stdout, then serves until stdin reaches end of file (the parent closed it, or the parent is
gone) and stops the servers.
"""
from __future__ import annotations

import json
import os
import signal
import sys


def main(argv: list[str]) -> int:
    line = argv[0] if argv else sys.stdin.readline()  # (argv: an older parent's way)
    if not line:
        return 2  # the parent went away before it sent the settings
    settings = json.loads(line)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from ingestion.emulators import start_all
    try:
        emu = start_all(settings["firm_dir"], settings.get("port", 0), in_process=True,
                        **settings.get("options", {}))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        print(json.dumps({"error": str(exc), "type": type(exc).__name__}), flush=True)
        return 2
    try:
        print(json.dumps({"info": emu.info()}), flush=True)
        sys.stdin.read()  # blocks until the parent closes the pipe (or exits)
    finally:
        emu.stop()
    # Exit without the interpreter's tear-down: freeing the tables (gigabytes at large scale)
    # object by object made the parent wait ~0.3 s per child for nothing. The servers are
    # stopped and stdout flushed; nothing else is buffered.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
