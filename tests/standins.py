"""Local stand-ins for the official base images (no registry is reachable): built by
tests/standins/build.sh, handed to copier as the base-image answers."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

BUILD = Path(__file__).resolve().parent / "standins" / "build.sh"


@functools.cache
def ensure_standins() -> dict[str, str]:
    """Builds the stand-ins that are missing or out of date (seconds when none is) and returns
    the copier answers: python_image, node_image, postgres_image, redis_image, caddy_image."""
    result = subprocess.run(["bash", BUILD], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"building the stand-in base images failed (bash {BUILD}):\n{result.stderr}"
        )
    return dict(line.split("=", 1) for line in result.stdout.splitlines())
