"""`make api-client`: the app template's API schema (frontend/openapi.json) and the typed client
generated from it (frontend/src/api/generated/), as a generated app's own `make api-client`
writes them, for every variant of what they describe: with Celery's task API or without, and
each user model (allauth describes the user by its fields).

Each variant is rendered from this working tree into a scratch folder; its backend writes the
schema (drf-spectacular, in a venv of the stack's Celery lock, which holds every package of
both locks) and the stack's @hey-api/openapi-ts generates the client. A file the same in every
variant is written once; one that differs, under conditional names, as requirements.lock is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app-template" / "frontend"
STACK = ROOT / "stack-template"
CACHE = ROOT / ".cache"
SCHEMA = "openapi.json"
GENERATED = "src/api/generated"
# The rendered app's slug, which the schema's title holds: the template's {{ slug }} there.
SLUG = "igny8"
TITLE = f'"title": "{SLUG} API"'
DIMENSIONS = {
    "use_celery": {True: "use_celery", False: "not use_celery"},
    "user_model": {
        "users.User": "user_model == 'users.User'",
        "auth.User": "user_model == 'auth.User'",
    },
}


def run(*args: object, cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, args))} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def venv() -> Path:
    """A venv of the stack's Celery lock and the app's, made once per version of the two."""
    locks = [
        STACK / "backend/{% if use_celery %}requirements.lock{% endif %}",
        ROOT / "app-template/backend/requirements-app.lock",
    ]
    digest = hashlib.sha256(b"".join(lock.read_bytes() for lock in locks)).hexdigest()[:16]
    folder = CACHE / f"api-venv-{digest}"
    if not (folder / "ready").exists():
        shutil.rmtree(folder, ignore_errors=True)
        run(sys.executable, "-m", "venv", folder)
        pip = [folder / "bin/pip", "install", "--quiet", "--require-hashes"]
        run(*pip, *[arg for lock in locks for arg in ("-r", lock)])
        (folder / "ready").touch()
    return folder / "bin/python"


def generator(scratch: Path) -> Path:
    """The folder of the stack's npm commands (openapi-ts), installed from its lock."""
    frontend = scratch / "node"
    frontend.mkdir()
    for name in ("package.json", "package-lock.json", ".npmrc"):
        shutil.copy(STACK / "frontend" / name, frontend / name)
    shutil.copytree(STACK / "frontend/app-packages-check", frontend / "app-packages-check")
    run("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", cwd=frontend)
    return frontend / "node_modules/.bin"


def variant(answers: dict, scratch: Path, python: Path, npm_bin: Path) -> dict[str, bytes]:
    """The variant's schema and client: their paths (in frontend/) and contents."""
    name = "-".join(str(value) for value in answers.values())
    app = scratch / name / "app" / SLUG
    data = [arg for key, value in answers.items() for arg in ("-d", f"{key}={value}")]
    copier = ROOT / ".venv/bin/copier"
    run(copier, "copy", "--trust", "--defaults", "--quiet", "-d", "repo=app",
        "-d", f"stack_path=../../stack/{SLUG}-stack", *data, ROOT, app)  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(app / "backend"),
        "DJANGO_SECRET_KEY": "only-to-write-the-schema",
        "REDIS_URL": "redis://localhost:6379/0",
    }
    run(python, app / "backend/manage.py", "spectacular", "--format", "openapi-json",
        "--validate", "--fail-on-warn", "--file", app / "frontend" / SCHEMA, env=env)  # fmt: skip
    frontend = app / "frontend"
    shutil.rmtree(frontend / GENERATED, ignore_errors=True)
    # The stack's own command for it (npm run api-client), with the scratch node_modules.
    script = json.loads((STACK / "frontend/package.json").read_text())["scripts"]["api-client"]
    path = f"{npm_bin}{os.pathsep}{os.environ['PATH']}"
    run("sh", "-c", script, cwd=frontend, env={**os.environ, "PATH": path})
    files = [frontend / SCHEMA, *sorted((frontend / GENERATED).rglob("*.ts"))]
    return {str(path.relative_to(frontend)): path.read_bytes() for path in files}


def conditional(path: str, condition: str) -> str:
    folder, _, name = path.rpartition("/")
    return f"{folder}/{{% if {condition} %}}{name}{{% endif %}}".lstrip("/")


def titled(content: bytes) -> bytes:
    """The schema names the app by its slug: in the template, {{ slug }} there."""
    text = content.decode()
    if any(mark in text for mark in ("{{", "{%", "{#")):
        sys.exit("error: the schema holds Jinja syntax; it cannot be a template as it is")
    if TITLE not in text:
        sys.exit(f"error: the schema's title is not {TITLE}")
    return text.replace(TITLE, '"title": "{{ slug }} API"').encode()


def names(path: str, answers: list[dict], contents: list[bytes | None]):
    """Where a file goes, with its content: its own name when every variant has it the same;
    else a name for each answer it depends on (one of them if the other changes nothing)."""
    if len(set(contents)) == 1:
        return [(path, contents[0])]
    for key in DIMENSIONS:
        by_value = {}
        for each, content in zip(answers, contents, strict=True):
            by_value.setdefault(each[key], set()).add(content)
        if all(len(found) == 1 for found in by_value.values()):
            return [
                (conditional(path, DIMENSIONS[key][value]), found.pop())
                for value, found in by_value.items()
                if None not in found
            ]
    return [
        (conditional(path, " and ".join(DIMENSIONS[k][v] for k, v in each.items())), content)
        for each, content in zip(answers, contents, strict=True)
        if content is not None
    ]


def main() -> int:
    answers = [
        {"use_celery": celery, "user_model": model}
        for celery in DIMENSIONS["use_celery"]
        for model in DIMENSIONS["user_model"]
    ]
    with tempfile.TemporaryDirectory(prefix="api-client-") as tmp:
        scratch = Path(tmp)
        python, npm_bin = venv(), generator(scratch)
        outputs = [variant(each, scratch, python, npm_bin) for each in answers]

    shutil.rmtree(APP / GENERATED, ignore_errors=True)
    for old in APP.glob(f"*{SCHEMA}*"):
        old.unlink()
    written = []
    for path in sorted({path for output in outputs for path in output}):
        for name, content in names(path, answers, [output.get(path) for output in outputs]):
            if path == SCHEMA:
                name, content = name + ".jinja", titled(content)
            target = APP / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            written.append(name)
    for name in written:
        print(f"Wrote app-template/frontend/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
