"""Fault switches shared by the three emulators.

A :class:`Faults` value says which faults a server injects. It is set per server by the
constructor (``faults=``), by environment variables (``LEXRECON_EMULATOR_FAULTS`` for every
server, ``LEXRECON_EMULATOR_<CLIO|ACTIONSTEP|EBILLING>_FAULTS`` for one; JSON objects), by
CLI flags (``--fault [server.]name=value``) and at run time with ``POST /_emulator/faults``.
The README lists every switch; the counters behind the "every N requests" switches live in
:class:`FaultState` and count *data requests* (authorised GETs of a data endpoint).
"""
from __future__ import annotations

import dataclasses
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    # OAuth: access tokens expire after token_ttl seconds, or after token_max_uses data
    # requests (0 = no use limit), whichever comes first.
    token_ttl: float = 3600.0
    token_max_uses: int = 0
    # Real rate limiting: at most rate_limit data requests per rate_window seconds per access
    # token (0 = off); over the limit -> 429 with Retry-After = seconds until the window resets.
    rate_limit: int = 0
    rate_window: float = 60.0
    # 429 bursts: every burst_429_every-th data request starts a burst of burst_429_count
    # consecutive 429 responses carrying Retry-After: retry_after (seconds, integer).
    burst_429_every: int = 0
    burst_429_count: int = 1
    retry_after: int = 1
    # Server errors: every error_5xx_every-th data request starts a burst of error_5xx_count
    # responses with status error_5xx_status.
    error_5xx_every: int = 0
    error_5xx_count: int = 1
    error_5xx_status: int = 503
    # Slow responses: every slow_every-th data response is delayed by slow_ms milliseconds.
    slow_ms: int = 0
    slow_every: int = 1
    # Repeated page: after every repeat_page_every-th data page of a resource, the next
    # request for that resource gets the same page again (byte-identical body, same links).
    repeat_page_every: int = 0
    # Schema drift: every record gains the field new_field (value new_field_value) ...
    new_field: str = ""
    new_field_value: Any = "emulator-added"
    # ... and/or every money (decimal) field is sent as a JSON string ("1234.50") not a number.
    string_amounts: bool = False
    # No fault fires (except token_ttl/rate_limit) until this many data requests were served.
    after_requests: int = 0
    # Faults apply only to these resources (empty = all resources).
    resources: list[str] = field(default_factory=list)

    def update(self, changes: dict[str, Any]) -> Faults:
        """A copy with ``changes`` applied; unknown names or bad values raise ValueError."""
        known = {f.name: f for f in dataclasses.fields(self)}
        values = dataclasses.asdict(self)
        for name, value in changes.items():
            if name not in known:
                raise ValueError(
                    f"unknown fault switch {name!r}; known: {', '.join(sorted(known))}")
            values[name] = _coerce(name, known[name].type, value)
        return Faults(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def applies_to(self, resource: str) -> bool:
        return not self.resources or resource in self.resources


def _coerce(name: str, type_name: Any, value: Any) -> Any:
    t = str(type_name)
    try:
        if t == "bool":
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on", "t"):
                    return True
                if value.lower() in ("0", "false", "no", "off", "f", ""):
                    return False
                raise ValueError(value)
            return bool(value)
        if t == "int":
            return int(value)
        if t == "float":
            return float(value)
        if t == "str":
            return "" if value is None else str(value)
        if t.startswith("list"):
            if isinstance(value, str):
                return [v for v in value.split(",") if v]
            return [str(v) for v in value]
        return value
    except (TypeError, ValueError):
        raise ValueError(f"fault switch {name!r}: bad value {value!r} (expected {t})") from None


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``["error_5xx_every=10", "string_amounts=true"]`` -> dict (values coerced later)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"fault switch {item!r}: expected name=value")
        name, value = item.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def faults_from_env(server: str, base: Faults | None = None,
                    environ: dict[str, str] | None = None) -> Faults:
    """Apply LEXRECON_EMULATOR_FAULTS then LEXRECON_EMULATOR_<SERVER>_FAULTS (JSON objects)."""
    env = os.environ if environ is None else environ
    faults = base or Faults()
    for var in ("LEXRECON_EMULATOR_FAULTS", f"LEXRECON_EMULATOR_{server.upper()}_FAULTS"):
        raw = env.get(var, "").strip()
        if not raw:
            continue
        try:
            changes = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{var} is not a JSON object: {exc}") from None
        if not isinstance(changes, dict):
            raise ValueError(f"{var} must be a JSON object of fault switches")  # noqa: TRY004
        faults = faults.update(changes)
    return faults


@dataclass
class Decision:
    """What the fault layer decided for one data request."""
    status: int = 0           # 0 = serve normally
    retry_after: int | None = None
    delay_s: float = 0.0
    repeat: bool = False       # serve the resource's previous page again


class FaultState:
    """Counters for the 'every N' switches; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data_requests = 0
        self.burst_429_left = 0
        self.burst_5xx_left = 0
        self.pages_per_resource: dict[str, int] = {}
        self.repeat_pending: set[str] = set()
        self.injected: dict[str, int] = {"429": 0, "5xx": 0, "slow": 0, "repeat": 0}

    def reset(self) -> None:
        with self.lock:
            self.data_requests = self.burst_429_left = self.burst_5xx_left = 0
            self.pages_per_resource = {}
            self.repeat_pending = set()
            self.injected = {"429": 0, "5xx": 0, "slow": 0, "repeat": 0}

    def decide(self, faults: Faults, resource: str) -> Decision:
        with self.lock:
            self.data_requests += 1
            n = self.data_requests - faults.after_requests
            d = Decision()
            if n <= 0 or not faults.applies_to(resource):
                return d
            if faults.burst_429_every and n % faults.burst_429_every == 0:
                self.burst_429_left = max(self.burst_429_left, faults.burst_429_count)
            if faults.error_5xx_every and n % faults.error_5xx_every == 0:
                self.burst_5xx_left = max(self.burst_5xx_left, faults.error_5xx_count)
            if self.burst_429_left > 0:
                self.burst_429_left -= 1
                self.injected["429"] += 1
                return Decision(status=429, retry_after=faults.retry_after)
            if self.burst_5xx_left > 0:
                self.burst_5xx_left -= 1
                self.injected["5xx"] += 1
                return Decision(status=faults.error_5xx_status)
            if faults.slow_ms and faults.slow_every and n % faults.slow_every == 0:
                self.injected["slow"] += 1
                d.delay_s = faults.slow_ms / 1000.0
            if resource in self.repeat_pending:
                self.repeat_pending.discard(resource)
                self.injected["repeat"] += 1
                d.repeat = True
            return d

    def page_served(self, faults: Faults, resource: str) -> None:
        """Count a normally served page; arm a repeat after every repeat_page_every-th."""
        with self.lock:
            c = self.pages_per_resource.get(resource, 0) + 1
            self.pages_per_resource[resource] = c
            if (faults.repeat_page_every and faults.applies_to(resource)
                    and c % faults.repeat_page_every == 0):
                self.repeat_pending.add(resource)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"data_requests": self.data_requests, "injected": dict(self.injected),
                    "pages_per_resource": dict(self.pages_per_resource)}
