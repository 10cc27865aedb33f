"""Fixtures of the reliability and security suites; the code lives in reliability_helpers.py
(a module name of its own, so it never collides with another folder's conftest)."""
from reliability_helpers import baseline, serving_db  # noqa: F401  (pytest fixtures)
