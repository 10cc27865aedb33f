"""One OCG rules file per e-billed client (format: shared/spec/check-contract.md)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from .matters import AREA_PREFIX

VAGUE_PHRASES = ["attention to file", "work on matter", "review file", "research", "conference",
                 "follow up"]
ADMIN_KEYWORDS = ["scan", "photocop", "bates", "calendar", "file documents", "organize file",
                  "schedule"]
TRAVEL_KEYWORDS = ["travel"]
DISALLOWED_EXPENSES = ["E103", "E104", "E105", "E111"]
MAX_DAILY_HOURS = 12
MIN_WORDS = 4
DEADLINE = {"brightflag": 45, "legal_tracker": 60}
TASK_PATTERNS = {"L": ["L1*", "L2*", "L3*", "L4*", "L5*"], "C": ["C*"], "P": ["P*"]}


def build_rules(cl: pl.DataFrame, md: pl.DataFrame, tks: pl.DataFrame, full_rates: np.ndarray
                ) -> dict[int, dict]:
    """Rules per e-billed client, chosen so the base data passes every rule."""
    out: dict[int, dict] = {}
    max_rate = full_rates.max(axis=1)
    tk_office = tks["office"].to_numpy()
    tk_cls = tks["classification"].to_numpy()
    tk_ids = tks["timekeeper_id"].to_numpy()
    caps: dict[str, dict[str, int]] = {}
    for off in ("NYC", "LDN"):
        caps[off] = {}
        for c in np.unique(tk_cls[tk_office == off]):
            m = (tk_office == off) & (tk_cls == c)
            caps[off][str(c)] = int((max_rate[m].max() + 100 + 49) // 50 * 50)
    for row in cl.filter(pl.col("ebilling_platform").is_not_null()).iter_rows(named=True):
        off = row["office"]
        areas = md.filter((pl.col("client") == row["client"]) & pl.col("active"))["practice_area"]
        prefixes = sorted({AREA_PREFIX[a] for a in areas.to_list()}) or ["L"]
        tasks = [p for pre in prefixes for p in TASK_PATTERNS[pre]]
        office_tks = np.flatnonzero(tk_office == off)
        # the office's most senior partner has a personal cap just above their own top rate
        partners = office_tks[tk_cls[office_tks] == "PARTNR"]
        star = partners[np.argmax(max_rate[partners])]
        out[row["client"]] = {
            "client_id": row["client_code"],
            "client_name": row["name"],
            "billing_increment_hours": 0.1,
            "max_daily_hours": MAX_DAILY_HOURS,
            "submission_deadline_days": DEADLINE[row["ebilling_platform"]],
            "rate_caps": {
                "by_classification": {k: float(v) for k, v in sorted(caps[off].items())},
                "by_timekeeper": {str(tk_ids[star]): float((max_rate[star] + 25 + 24) // 25 * 25)},
            },
            "approved_timekeepers": [str(t) for t in sorted(tk_ids[office_tks])],
            "allowed_task_codes": tasks,
            "allowed_activity_codes": ["A1*"],
            "disallowed_expense_codes": list(DISALLOWED_EXPENSES),
            "travel": {"keywords": list(TRAVEL_KEYWORDS), "rate_factor": 0.5},
            "vague": {"min_words": MIN_WORDS, "phrases": list(VAGUE_PHRASES)},
            "block_billing": {"max_tasks": 1},
            "admin": {"keywords": list(ADMIN_KEYWORDS)},
            "duplicate_lines": True,
        }
    return out


def cap_cents(rules: dict, timekeeper_id: str, classification: str) -> int | None:
    caps = rules["rate_caps"]
    v = caps["by_timekeeper"].get(timekeeper_id, caps["by_classification"].get(classification))
    return None if v is None else round(v * 100)


def to_yaml(rules: dict) -> str:
    """The rules file as YAML: block mappings at the top, JSON-style flow values below.

    Written by hand (flow values are JSON, which YAML reads) because PyYAML's representer is
    slow on thousands of files with long timekeeper lists; tests load it back with PyYAML.
    """
    out = []
    for key, value in rules.items():
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            out.append(f"{key}:")
            out.extend(f"  {k}: {json.dumps(v, sort_keys=True)}" for k, v in value.items())
        else:
            out.append(f"{key}: {json.dumps(value)}")
    return "\n".join(out) + "\n"


def write_rules(out_dir: Path, rules: dict[int, dict]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in sorted(rules.values(), key=lambda r: r["client_id"]):
        p = out_dir / f"{r['client_id']}.yml"
        p.write_text(to_yaml(r))
        paths.append(p)
    return paths
