"""Shared fixtures: the tiny firm, generated once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.demo_firm.generator import generate


@pytest.fixture(scope="session")
def tiny_firm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("firm") / "tiny"
    generate("tiny", 42, out)
    return out
