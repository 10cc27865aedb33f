"""`lexrecon demo emulators` serves until interrupted and prints its URLs."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests

from .conftest import get_token

REPO = Path(__file__).resolve().parents[2]


def test_demo_emulators_command_serves_and_stops(firm):
    proc = subprocess.Popen(
        [sys.executable, "-m", "lexrecon", "demo", "emulators", "--firm", str(firm), "--json",
         "--only", "clio,ebilling", "--fault", "ebilling.slow_ms=1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while True:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
            if line.rstrip() == "}":
                break
        info = json.loads("".join(lines))
        assert set(info) == {"clio", "ebilling"}
        clio = type("C", (), info["clio"])
        tok = get_token(clio)
        r = requests.get(info["clio"]["api_url"] + "/users.json",
                         headers={"Authorization": "Bearer " + tok["access_token"]})
        assert r.status_code == 200 and len(r.json()["data"]) == 3
        faults = requests.get(info["ebilling"]["base_url"] + "/_emulator/faults").json()
        assert faults["slow_ms"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_bad_fault_flag_is_reported(firm):
    out = subprocess.run([sys.executable, "-m", "ingestion.emulators", "--firm", str(firm),
                          "--fault", "clio.nope=1"], cwd=REPO, capture_output=True, text=True, check=False,
                         timeout=60)
    assert out.returncode == 2 and "nope" in out.stderr
