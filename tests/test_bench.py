"""The README's `make bench`: it times the pair and the stack against a one-file template."""

from __future__ import annotations

import re

from helpers import ROOT, run

ROW = r"^{} +\d+\.\d\d +\d+\.\d\d +\d+\.\d\dx$"


def test_make_bench_prints_the_pair_and_the_stack_against_the_floor():
    result = run("make", "-C", ROOT, "bench", "BENCH_ARGS=-n 1 --warmup 0")
    assert re.search(ROW.format("pair"), result.stdout, re.M), result.stdout
    assert re.search(ROW.format("stack"), result.stdout, re.M), result.stdout
