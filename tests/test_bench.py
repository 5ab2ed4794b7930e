"""The README's `make bench` (the pair and the stack against a one-file template) and
`make bench-deploy` (make deploy in a deployment, and its memory)."""

from __future__ import annotations

import re

from helpers import ROOT, run

ROW = r"^{} +\d+\.\d\d +\d+\.\d\d +\d+\.\d\dx$"


def test_make_bench_prints_the_pair_and_the_stack_against_the_floor():
    result = run("make", "-C", ROOT, "bench", "BENCH_ARGS=-n 1 --warmup 0")
    assert re.search(ROW.format("pair"), result.stdout, re.M), result.stdout
    assert re.search(ROW.format("stack"), result.stdout, re.M), result.stdout


def test_make_bench_deploy_times_a_deploy_and_the_memory_of_each_container():
    result = run("make", "-C", ROOT, "bench-deploy", "BENCH_ARGS=-n 1")
    said = result.stdout
    assert re.search(r"^deploy 1: \d+\.\d\d s .*Release made in .*Deployed ", said, re.M), said
    assert re.search(r"^make deploy, median of 1: \d+\.\d\d s$", said, re.M), said
    for service in ("backend", "caddy", "db", "frontend"):
        line = rf"^memory of {service}: \d+\.\d MiB before, \d+\.\d MiB at the peak of the deploys$"
        assert re.search(line, said, re.M), said
