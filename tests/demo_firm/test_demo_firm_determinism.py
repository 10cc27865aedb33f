"""Same seed and scale: byte-identical output; another seed: different data."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ingestion.demo_firm.generator import generate


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_is_byte_identical(tiny_firm: Path, tmp_path: Path):
    again = tmp_path / "again"
    generate("tiny", 42, again)
    assert _hashes(again) == _hashes(tiny_firm)


def test_other_seed_differs(tiny_firm: Path, tmp_path: Path):
    other = tmp_path / "other"
    generate("tiny", 7, other)
    a, b = _hashes(tiny_firm), _hashes(other)
    assert a["clio/activities.parquet"] != b["clio/activities.parquet"]


def test_regenerating_replaces_the_directory(tmp_path: Path):
    out = tmp_path / "firm"
    generate("tiny", 3, out)
    (out / "stale.txt").write_text("left over")
    generate("tiny", 3, out)
    assert not (out / "stale.txt").exists()
    assert not list(tmp_path.glob("firm.*"))
