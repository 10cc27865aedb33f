"""`lexrecon bench`: every stage at scale, each in its own process, against its yardstick.

Each stage is a function in :mod:`lexrecon.bench.stages` that takes a :class:`BenchContext`
and returns a dict of figures. The runner starts one child process per stage so that its
peak memory (``ru_maxrss`` from ``os.wait4``) belongs to that stage alone, collects the
figures, sets them beside their targets and writes ``bench/results.json`` and a Markdown table.
"""
