"""The README's `make bench` (it times the pair and the stack against a one-file template),
`make bench-front-door` (the stack's Caddy against a bare one, in front of one backend) and
`make bench-deploy` (make deploy in a deployment, and its memory)."""

from __future__ import annotations

import re
import uuid

import pytest
from helpers import ROOT, ensure_standins, run

ROW = r"^{} +\d+\.\d\d +\d+\.\d\d +\d+\.\d\dx$"


def test_make_bench_prints_the_pair_and_the_stack_against_the_floor():
    result = run("make", "-C", ROOT, "bench", "BENCH_ARGS=-n 1 --warmup 0")
    assert re.search(ROW.format("pair"), result.stdout, re.M), result.stdout
    assert re.search(ROW.format("stack"), result.stdout, re.M), result.stdout


@pytest.mark.docker
@pytest.mark.slow
def test_make_bench_front_door_prints_both_caddies_without_a_failed_request():
    """One short round (no timing is asserted: the figures depend on the machine), then
    nothing of the deployment is left."""
    project = f"frontdoor-test-{uuid.uuid4().hex[:8]}"
    images = " ".join(f"-d {key}={value}" for key, value in ensure_standins().items())
    args = f"-n 100 --rounds 1 --project {project} {images}"
    result = run("make", "-C", ROOT, "bench-front-door", f"BENCH_ARGS={args}")
    for path in ("/api/health/", "/api/notes/"):
        row = rf"^{re.escape(path)} +\d+\.\d +\d+\.\d +\d+\.\d\dx$"
        assert re.search(row, result.stdout, re.M), result.stdout
    assert "failed or non-2xx: stack 0, bare 0" in result.stdout, result.stdout
    label = f"label=com.docker.compose.project={project}"
    assert not run("docker", "ps", "--all", "--quiet", "--filter", label).stdout
    assert not run("docker", "volume", "ls", "--quiet", "--filter", label).stdout
    assert not run("docker", "ps", "--all", "--quiet", "--filter", f"name={project}").stdout


@pytest.mark.docker
@pytest.mark.slow
def test_make_bench_deploy_times_a_deploy_and_the_memory_of_each_container():
    result = run("make", "-C", ROOT, "bench-deploy", "BENCH_ARGS=-n 1")
    said = result.stdout
    assert re.search(r"^deploy 1: \d+\.\d\d s .*Release made in .*Deployed ", said, re.M), said
    assert re.search(r"^make deploy, median of 1: \d+\.\d\d s$", said, re.M), said
    for service in ("backend", "caddy", "db", "frontend"):
        line = rf"^memory of {service}: \d+\.\d MiB before, \d+\.\d MiB at the peak of the deploys$"
        assert re.search(line, said, re.M), said
