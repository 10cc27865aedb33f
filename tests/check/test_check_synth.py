"""The synthetic invoice generator: valid-looking, reproducible, a few breaches, fast check."""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from lexrecon.check import check_paths
from lexrecon.ledes.parser import read_ledes
from lexrecon.ledes.synth import write_sample_invoice_file, write_sample_rules_file


def test_sample_file_is_valid_with_a_few_breaches(tmp_path: Path) -> None:
    invoice, rules = tmp_path / "synth.txt", tmp_path / "rules.yml"
    write_sample_invoice_file(invoice, 3000, seed=3, client_id="ACME-001")
    write_sample_rules_file(rules, "ACME-001")
    parsed = read_ledes(invoice)
    assert parsed.lines.height == 3000 and parsed.findings.height == 0
    assert parsed.lines.get_column("invoice_number").n_unique() > 20
    counts = Counter(check_paths([str(invoice)], [str(rules)]).get_column("code").to_list())
    # file checks pass, except LEDES_PERIOD on the deliberately late entries
    assert {c for c in counts if c.startswith("LEDES_")} <= {"LEDES_PERIOD"}
    assert counts["LEDES_PERIOD"] == counts["LATE"]
    assert sum(counts.values()) < 3000 * 0.05
    assert len(counts) >= 6


def test_same_seed_same_file(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in ("a.txt", "b.txt", "c.txt"))
    write_sample_invoice_file(a, 500, seed=1, client_id="X")
    write_sample_invoice_file(b, 500, seed=1, client_id="X")
    write_sample_invoice_file(c, 500, seed=2, client_id="X")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_twenty_thousand_lines_check_quickly(tmp_path: Path) -> None:
    invoice, rules = tmp_path / "synth.txt", tmp_path / "rules.yml"
    write_sample_invoice_file(invoice, 20_000, seed=5, client_id="ACME-001")
    write_sample_rules_file(rules, "ACME-001")
    start = time.process_time()  # CPU time: steadier than wall time on a shared machine
    check_paths([str(invoice)], [str(rules)])
    assert time.process_time() - start < 3.0  # the 100k-line target is 3 s; this is 1/5
