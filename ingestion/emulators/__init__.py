"""HTTP emulators of the firm's source systems, serving the demo firm on 127.0.0.1.

>>> from ingestion.emulators import start_all
>>> with start_all("var/firm-tiny") as emu:            # doctest: +SKIP
...     emu.clio.base_url, emu.clio.client_id, emu.clio.client_secret

See README.md in this folder for every endpoint, parameter, auth flow and fault switch.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from .faults import Faults

if TYPE_CHECKING:
    from .actionstep import ActionstepEmulator
    from .clio import ClioEmulator
    from .ebilling import EbillingEmulator
    from .server import EmulatorServer

# Heavy modules (polars, numpy) load on first use, so `lexrecon --help` stays fast.
_LAZY = {"ClioEmulator": ".clio", "ActionstepEmulator": ".actionstep",
         "EbillingEmulator": ".ebilling", "EmulatorServer": ".server"}
SYSTEM_CLASSES = {"clio": "ClioEmulator", "actionstep": "ActionstepEmulator",
                  "ebilling": "EbillingEmulator"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name == "SERVERS":
        return {system: __getattr__(cls) for system, cls in SYSTEM_CLASSES.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "SERVERS",
    "ActionstepEmulator",
    "ClioEmulator",
    "EbillingEmulator",
    "EmulatorProcess",
    "EmulatorServer",
    "Emulators",
    "Faults",
    "RemoteServer",
    "start_all",
]


@dataclass
class Emulators:
    """Running emulators; ``.clio``, ``.actionstep``, ``.ebilling`` (None if not started)."""
    servers: dict[str, EmulatorServer]

    @property
    def clio(self) -> ClioEmulator | None:
        return self.servers.get("clio")  # type: ignore[return-value]

    @property
    def actionstep(self) -> ActionstepEmulator | None:
        return self.servers.get("actionstep")  # type: ignore[return-value]

    @property
    def ebilling(self) -> EbillingEmulator | None:
        return self.servers.get("ebilling")  # type: ignore[return-value]

    @property
    def urls(self) -> dict[str, str]:
        return {name: s.base_url for name, s in self.servers.items()}

    def info(self) -> dict[str, dict[str, Any]]:
        """Per server: base_url, api_url, token_url, client_id, client_secret (+company_id)."""
        return {name: s.info() for name, s in self.servers.items()}

    def stop(self) -> None:
        for s in self.servers.values():
            s.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_all(firm_dir: str | Path, port: int = 0, *, host: str = "127.0.0.1",
              systems: tuple[str, ...] = ("clio", "actionstep", "ebilling"),
              faults: dict[str, Faults | dict] | None = None, unthrottled: bool = False,
              use_env: bool = True, in_process: bool = True,
              **options: Any) -> Emulators | EmulatorProcess:
    """Start the emulators for ``firm_dir`` and return a handle.

    ``port=0`` gives each server a free port; a non-zero ``port`` gives clio that port,
    actionstep ``port+1`` and ebilling ``port+2``. ``faults`` maps a system name (or "*"
    for all) to fault switches. ``.stop()`` (or leaving the ``with`` block) stops them all.

    ``in_process=True`` (the default) serves from background threads of this process: the
    handle holds the server objects (``emu.clio.faults``, ``emu.servers``), as the tests need.
    ``in_process=False`` serves from one child process (:class:`EmulatorProcess`), so the
    servers' JSON encoding does not compete with the client for this process's GIL; the
    handle gives ``info()``, ``urls``, ``.clio.base_url`` etc. and ``stop()``, and faults are
    switched through the constructor or the admin endpoint (``/_emulator/faults``).
    """
    if not in_process:
        return EmulatorProcess.start(firm_dir, port, host=host, systems=systems, faults=faults,
                                     unthrottled=unthrottled, use_env=use_env, **options)
    firm = Path(firm_dir)
    faults = faults or {}
    servers: dict[str, EmulatorServer] = {}
    try:
        for name in systems:
            if name not in SYSTEM_CLASSES:
                raise ValueError(f"unknown system {name!r}; use {', '.join(SYSTEM_CLASSES)}")
            cls = __getattr__(SYSTEM_CLASSES[name])
            f = Faults().update(_as_dict(faults.get("*")))
            f = f.update(_as_dict(faults.get(name)))
            offset = list(SYSTEM_CLASSES).index(name)
            servers[name] = cls(firm / name, host=host, port=port + offset if port else 0,
                                faults=f, unthrottled=unthrottled, use_env=use_env,
                                **options).start()
    except BaseException:
        for s in servers.values():
            s.stop()
        raise
    return Emulators(servers)


def _as_dict(f: Faults | dict | None) -> dict:
    if f is None:
        return {}
    return f.to_dict() if isinstance(f, Faults) else dict(f)


# -- child-process mode ----------------------------------------------------------------------
@dataclass
class RemoteServer:
    """What a server running in an :class:`EmulatorProcess` offers the client: its URLs and
    credentials (the same keys as ``EmulatorServer.info()``)."""
    details: dict[str, Any]

    def info(self) -> dict[str, Any]:
        return dict(self.details)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["details"][name]
        except KeyError:
            raise AttributeError(name) from None


_ERRORS: dict[str, type[Exception]] = {"FileNotFoundError": FileNotFoundError,
                                      "ValueError": ValueError, "OSError": OSError}


class EmulatorProcess:
    """Emulators served from one child process (``start_all(..., in_process=False)``).

    The child is ``python -m ingestion.emulators.child`` (no multiprocessing, so the caller's
    main module is never re-imported): it reads its settings as one JSON line on stdin (not
    the command line, which other users can see), prints the servers' ``info()`` as one JSON
    line and serves until its stdin is closed, which also happens when this process dies, so
    a child never outlives its parent."""

    def __init__(self, process: Any, info: dict[str, dict[str, Any]]):
        self._process = process
        self.servers: dict[str, RemoteServer] = {n: RemoteServer(i) for n, i in info.items()}

    @classmethod
    def start(cls, firm_dir: str | Path, port: int = 0, *, timeout: float = 600.0,
              **kw: Any) -> EmulatorProcess:
        return cls.begin(firm_dir, port, **kw).ready(timeout)

    @classmethod
    def begin(cls, firm_dir: str | Path, port: int = 0, **kw: Any) -> StartingEmulators:
        """Start the child and return at once; ``.ready()`` waits until it serves and gives
        the :class:`EmulatorProcess` (the caller can do other work while the child loads the
        firm). ``.cancel()`` kills a child that is no longer wanted."""
        import json
        import subprocess
        import sys

        for name in kw.get("systems", ()):
            if name not in SYSTEM_CLASSES:
                raise ValueError(f"unknown system {name!r}; use {', '.join(SYSTEM_CLASSES)}")
        kw["systems"] = list(kw.get("systems", SYSTEM_CLASSES))
        if kw.get("faults"):
            kw["faults"] = {k: _as_dict(v) for k, v in kw["faults"].items()}
        settings = json.dumps({"firm_dir": str(Path(firm_dir).resolve()), "port": port,
                               "options": kw}, default=str)
        import os
        root = str(Path(__file__).resolve().parents[2])  # where `ingestion` is importable
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                             if p)}
        process = subprocess.Popen(
            [sys.executable, "-m", "ingestion.emulators.child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        try:
            # settings (credentials too, if given) go through the pipe, never the command line
            process.stdin.write(settings + "\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
        except BaseException:
            process.kill()
            process.wait(5)
            raise
        return StartingEmulators(cls, process)

    @property
    def clio(self) -> RemoteServer | None:
        return self.servers.get("clio")

    @property
    def actionstep(self) -> RemoteServer | None:
        return self.servers.get("actionstep")

    @property
    def ebilling(self) -> RemoteServer | None:
        return self.servers.get("ebilling")

    @property
    def urls(self) -> dict[str, str]:
        return {name: s.base_url for name, s in self.servers.items()}

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def info(self) -> dict[str, dict[str, Any]]:
        return {name: s.info() for name, s in self.servers.items()}

    def stop(self) -> None:
        """Stop the servers and wait for the child to exit."""
        import subprocess

        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()  # the child's signal to stop
        except OSError:
            pass
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StartingEmulators:
    """A child of :meth:`EmulatorProcess.begin` that may still be loading the firm."""

    def __init__(self, owner: type[EmulatorProcess], process: Any):
        self._owner, self._process = owner, process

    def cancel(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(5)
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()

    def ready(self, timeout: float = 600.0) -> EmulatorProcess:
        """Wait until the child serves (its first line) and return the handle."""
        import json

        process, cls = self._process, self._owner
        if process is None:
            raise RuntimeError("the emulator process was cancelled")
        self._process = None
        try:
            import selectors
            with selectors.DefaultSelector() as sel:
                sel.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
                if not sel.select(timeout):
                    raise TimeoutError(f"the emulators did not start within {timeout:.0f}s")
            line = process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise RuntimeError(f"the emulator process exited ({process.wait(10)}) "
                                   "before it served")
            answer = json.loads(line)
        except BaseException:
            process.kill()
            process.wait(5)
            raise
        if "error" in answer:
            process.wait(10)
            raise _ERRORS.get(answer["type"], RuntimeError)(answer["error"])
        return cls(process, answer["info"])
