"""`make lock`: the stack's backend/requirements.lock, one per variant of requirements.txt
(with and without Celery), written beside the template files under conditional names.

Each variant is rendered into a scratch stack and locked by the stack tool's own
`./stack lock` code (uv, universal: one lock for every offered Python version).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "stack-template" / "backend"
sys.path.insert(0, str(ROOT / "stack-template"))

from stacktool import lock  # noqa: E402

# The lowest Python version copier.yml offers: a universal lock made for it covers the later ones.
PYTHON = min(
    yaml.safe_load((ROOT / "copier.yml").read_text())["python_version"]["choices"],
    key=lambda version: tuple(map(int, version.split("."))),
)
VARIANTS = {
    False: "{% if not use_celery %}requirements.lock{% endif %}",
    True: "{% if use_celery %}requirements.lock{% endif %}",
}


def lock_variant(use_celery: bool, scratch: Path) -> Path:
    backend = scratch / "backend"
    backend.mkdir(parents=True)
    for name in ("requirements.txt", "requirements-dev.txt"):
        source = (BACKEND / f"{name}.jinja").read_text()
        rendered = jinja2.Template(source, keep_trailing_newline=True).render(use_celery=use_celery)
        (backend / name).write_text(rendered)
    for line in lock.lock_stack(scratch, PYTHON):
        print(line)
    target = BACKEND / VARIANTS[use_celery]
    target.write_text((scratch / lock.STACK_LOCK).read_text())
    return target


def main() -> int:
    for use_celery in VARIANTS:
        with tempfile.TemporaryDirectory(prefix="lock-") as tmp:
            print(f"Wrote {lock_variant(use_celery, Path(tmp)).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
