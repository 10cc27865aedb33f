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
    "EmulatorServer",
    "Emulators",
    "Faults",
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
              use_env: bool = True, **options: Any) -> Emulators:
    """Start the emulators for ``firm_dir`` in background threads and return a handle.

    ``port=0`` gives each server a free port; a non-zero ``port`` gives clio that port,
    actionstep ``port+1`` and ebilling ``port+2``. ``faults`` maps a system name (or "*"
    for all) to fault switches. ``.stop()`` (or leaving the ``with`` block) stops them all.
    """
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
