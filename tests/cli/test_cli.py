"""The `lexrecon` command lists every command, and runs one without importing the others."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lexrecon.cli import COMMANDS, build_parser


def test_every_listed_command_has_a_parser():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    assert set(COMMANDS) <= set(sub.choices)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_parses_on_its_own(command):
    parser = build_parser(command)
    assert command in parser.format_help()


def test_check_does_not_import_the_warehouse_stack():
    code = ("import sys; from lexrecon.cli import build_parser; build_parser('check'); "
            "print(any(m.split('.')[0] in ('dbt', 'dlt', 'dash') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "lexrecon", "--help"], capture_output=True,
                         text=True, check=True)
    for command in COMMANDS:
        assert command in out.stdout
