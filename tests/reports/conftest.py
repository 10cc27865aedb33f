"""Fixtures for the report tests: the shared tiny pipeline's published warehouse."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny(tiny_pipeline):
    assert tiny_pipeline.published, "the tiny warehouse build was not green: see tests/warehouse"
    return tiny_pipeline


@pytest.fixture(scope="session")
def serving_db(tiny) -> Path:
    return tiny.serving_db
