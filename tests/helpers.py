"""What the tests share besides fixtures (those are in conftest.py): running commands, checks
on generated repos, the answer matrix from copier.yml, the template's releases, a team that
updates its repos, and the stand-in base images."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import jinja2
import pytest
import yaml
from packaging.version import Version
from stacktool import answers, dotenv
from stacktool.links import read_manifest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_VERSION = "99.0.0"
COPIER = [sys.executable, "-m", "copier"]
# The copier every command and CI job names: the template's own pin (pyproject.toml).
(COPIER_PIN,) = (
    pin.removeprefix("copier==")
    for pin in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["dev"]
    if pin.startswith("copier==")
)
BIN = Path(sys.executable).parent

# ---- Running things ------------------------------------------------------------------------


# No command of the tests takes this long; a hung one fails its test, naming itself, instead of
# holding the whole run until CI's limit.
RUN_TIMEOUT = 1200  # seconds


def run(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict | None = None,
    check=True,
    timeout: float = RUN_TIMEOUT,
):
    """Run a command; on failure show its output in the assertion message. A command still
    running after `timeout` seconds is killed and fails the test, whatever `check` says."""
    try:
        result = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(
            f"{' '.join(map(str, args))} did not finish within {timeout}s\n"
            f"--- stdout\n{_text(hung.stdout)}\n--- stderr\n{_text(hung.stderr)}"
        ) from None
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def copier_copy(template: Path, dst: Path, check=True, **answers) -> subprocess.CompletedProcess:
    data = [f"--data={key}={value}" for key, value in answers.items()]
    return run(*COPIER, "copy", "--trust", "--defaults", *data, template, dst, check=check)


@dataclass
class Generated:
    stack: Path
    app: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not come up within {timeout}s")


TIMINGS: list[str] = []


def record_timing(name: str, seconds: float, unit: str = "s") -> None:
    """Note a measured phase (or another figure, in `unit`): printed at the end of the run
    (and by .ci/run's summary)."""
    line = f"{name:<48} {seconds:7.1f}{unit}"
    TIMINGS.append(line)
    if os.environ.get("TEMPLATE_TIMINGS_FILE"):
        with open(os.environ["TEMPLATE_TIMINGS_FILE"], "a") as file:
            file.write(line + "\n")


def as_postgres(*cmd: str | Path) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres system user then."""
    return (
        ["runuser", "-u", "postgres", "--", *map(str, cmd)]
        if os.geteuid() == 0
        else [*map(str, cmd)]
    )


# ---- Checks on generated repos -------------------------------------------------------------

SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".mypy_cache", "dist"}


def tool(name: str) -> str:
    """A command installed in the venv (make test installs them) or on PATH."""
    path = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    assert path, f"{name} is not installed: run `make test`, which installs it"
    return path


def load_module(path: Path) -> ModuleType:
    """A Python file outside any package (a template's script), imported as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_get_stack() -> ModuleType:
    """The app's scripts/get_stack.py; the answers module beside it in an app is the stack
    tool's (scripts/answers.py.jinja includes it)."""
    sys.modules.setdefault("answers", answers)
    return load_module(ROOT / "app-template/scripts/get_stack.py")


# What the stack tool's host side may use: python3, git and POSIX basics (macOS has no bash 4
# and BSD tools; Debian 12 and Ubuntu 22.04 have Python 3.11 and 3.10).
POSIX_TOOLS = ("sh", "env", "dirname", "sed", "cat", "ls", "mkdir", "rm", "git")


def posix_path(folder: Path) -> str:
    """A PATH holding only python3 (this interpreter, so copier imports), git and POSIX
    basics: a call of bash, GNU realpath, find, awk, docker... fails."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in POSIX_TOOLS:
        found = shutil.which(name)
        assert found, f"{name} is not installed"
        if not (folder / name).exists():
            (folder / name).symlink_to(found)
    python = folder / "python3"  # a venv's python is only one when called by its own path
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return str(folder)


def project_files(root: Path) -> list[Path]:
    """Every regular file of a generated repo, links and their targets excluded."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not (Path(folder) / d).is_symlink()]
        found += [Path(folder) / f for f in files if not (Path(folder) / f).is_symlink()]
    return found


def strip_jsonc(text: str) -> str:
    """TypeScript's config files are JSON with comments and trailing commas."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return re.sub(r",(\s*[}\]])", r"\1", text)


class _Loader(yaml.SafeLoader):
    """GitLab CI's `!reference` tags are valid YAML for our purpose."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


class _HtmlNesting(HTMLParser):
    """Tags must nest, and a <title> holds text only: an answer must not add markup."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path, self.open = path, []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        assert "title" not in self.open, f"<{tag}> inside the <title> of {self.path}"
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        assert "title" not in self.open, f"<{tag} /> inside the <title> of {self.path}"

    def handle_endtag(self, tag: str) -> None:
        assert self.open[-1:] == [tag], f"</{tag}> closes {self.open[-1:]} in {self.path}"
        self.open.pop()


def assert_html(path: Path, text: str) -> None:
    parser = _HtmlNesting(path)
    parser.feed(text)
    parser.close()
    assert not parser.open, f"{parser.open} never closed in {path}"


ENV_LINE = re.compile(r"^([A-Z_][A-Z0-9_]*=.*)?$")


def assert_generated(root: Path) -> None:
    """No template syntax left; every YAML/JSON/TOML file parses; every Python file compiles;
    every shell script passes `bash -n`; HTML tags nest; .env files hold KEY=value lines."""
    files = project_files(root)
    assert files, f"nothing generated in {root}"
    for path in files:
        text = path.read_text(errors="replace")
        shebang = text.split("\n", 1)[0] if text.startswith("#!") else ""
        if path.suffix in {".yml", ".yaml"}:
            text = re.sub(r"\$\{\{.*?\}\}", "", text)  # GitHub Actions expressions
        # Django's templates (an app's templates/ folder) are copied verbatim, their tags too.
        django_template = "templates" in path.relative_to(root).parts
        assert django_template or ("{{" not in text and "{%" not in text), (
            f"template syntax left in {path}"
        )
        if path.suffix in {".yml", ".yaml"}:
            list(yaml.load_all(text, Loader=_Loader))
        elif path.suffix == ".json":
            json.loads(strip_jsonc(text) if path.name.startswith("tsconfig") else text)
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".py" or "python" in shebang:
            compile(text, str(path), "exec")
        elif path.suffix == ".sh" or shebang.endswith(("/bash", "/sh", " bash", " sh")):
            result = subprocess.run(
                ["bash", "-n", path], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, f"bash -n {path}: {result.stderr}"
        elif path.suffix == ".html":
            assert_html(path, text)
        elif path.name.startswith(".env"):
            for line in text.splitlines():
                assert line.startswith("#") or ENV_LINE.match(line), f"{path}: {line!r}"
        assert not path.name.endswith(".jinja"), f"unrendered template file {path}"


def answers_of(repo: Path) -> dict:
    """The answers copier recorded in a generated repo."""
    return yaml.safe_load((repo / ".copier-answers.yml").read_text())


def manifest(stack: Path) -> list[tuple[str, str]]:
    """The stack's link manifest as (path in app, path in stack) pairs, read by the stack
    tool's own reader (the one reader of links.txt)."""
    return read_manifest(stack)


def assert_links(app: Path, stack: Path) -> None:
    """Every manifest link exists, is relative and resolves to the stack's file."""
    pairs = manifest(stack)
    assert pairs, "the manifest lists no links"
    for app_path, stack_path in pairs:
        link = app / app_path
        assert link.is_symlink(), f"{app_path} is not a link"
        target = os.readlink(link)
        assert not os.path.isabs(target), f"{app_path} -> {target} is absolute"
        assert link.resolve() == (stack / stack_path).resolve(), f"{app_path} -> {target}"
        assert link.exists(), f"{app_path} dangles"


def read_env(path: Path) -> dict[str, str]:
    """The values of a .env file, read as compose reads them (the stack tool's reader)."""
    return parse_env(path.read_text())


def parse_env(text: str) -> dict[str, str]:
    """The values of .env text, read as compose reads them (the stack tool's reader)."""
    return dotenv.parse(text, {}.get)


ENV_UNSET = "<unset>"


def compose_reads(
    text: str, folder: Path, environment: dict[str, str] | None = None
) -> dict | None:
    """The values `docker compose config` gives the keys of .env text (as the project's .env,
    with only `environment` in the process environment), None if compose refuses the file.
    Every word of the text is asked for, so that no key compose sets is missed, but compose's
    own COMPOSE_* (it gives COMPOSE_PROJECT_NAME a value of its own)."""
    environment = environment or {}
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) - set(environment)
    names = sorted(word for word in words if not word.startswith("COMPOSE_"))
    service = {"image": "none", "environment": {n: f"${{{n}-{ENV_UNSET}}}" for n in names}}
    (folder / "compose.json").write_text(json.dumps({"services": {"s": service}}))
    (folder / "case.env").write_bytes(text.encode())
    docker = shutil.which("docker")
    assert docker, "docker is not installed (bash .ci/provision-docker.sh)"
    result = subprocess.run(
        ["docker", "compose", "--project-directory", folder, "--env-file", "case.env",
         "-f", "compose.json", "config", "--format", "json"],
        cwd=folder, capture_output=True, text=True, check=False,
        env={"PATH": str(Path(docker).parent), "HOME": str(folder), **environment},
    )  # fmt: skip
    if result.returncode != 0:
        # refused for the .env, nothing else (a key-less value is parsed, then cannot be set)
        assert "case.env" in result.stderr or "setenv" in result.stderr, result.stderr
        return None
    given = json.loads(result.stdout)["services"]["s"].get("environment") or {}
    # config writes each $ of a value as $$ (its output is a compose file again)
    return {k: v.replace("$$", "$") for k, v in given.items() if v != ENV_UNSET}


def write_packages(app: Path, dependencies: dict[str, str]) -> None:
    """The app's own npm packages: its frontend/package-app.json lists exactly these."""
    listing = {"dependencies": dependencies, "devDependencies": {}}
    (app / "frontend/package-app.json").write_text(json.dumps(listing, indent=2) + "\n")


# ---- Node.js: each offered major, as .ci/provision-node.sh installs it -------------------------

# Where .ci/provision-node.sh and .ci/provision-python.sh install.
CI_ROOT = Path(os.environ.get("TEMPLATE_CI_ROOT", "/opt/template-ci"))


def node_path(major: str) -> str:
    """PATH with the offered Node.js `major` (its node, npm and npx) first."""
    bin_dir = CI_ROOT / f"node-{major}" / "bin"
    if not (bin_dir / "node").is_file():
        raise RuntimeError(
            f"no Node.js {major} in {bin_dir.parent}; install it with: bash .ci/provision-node.sh"
        )
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def python_for(version: str) -> str:
    """An interpreter of an offered Python version, as setup-python would give one: on PATH,
    from pyenv, or the one .ci/provision-python.sh installs (3.14)."""
    roots = {os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")}
    candidates = [shutil.which(f"python{version}")]
    pattern = f"versions/{version}.*/bin/python{version}"
    candidates += sorted(str(path) for root in roots if root for path in Path(root).glob(pattern))
    candidates.append(str(CI_ROOT / f"python-{version}/usr/bin/python{version}"))
    for candidate in filter(None, candidates):
        if Path(candidate).exists() and run(candidate, "-c", "pass", check=False).returncode == 0:
            return candidate
    raise AssertionError(
        f"python{version} is needed to test that answer: install it (pyenv, or for 3.14 "
        "bash .ci/provision-python.sh)"
    )


# ---- The answer matrix, from the choices in copier.yml ---------------------------------------

QUESTIONS = {
    name: spec
    for name, spec in yaml.safe_load((ROOT / "copier.yml").read_text()).items()
    if not name.startswith("_") and isinstance(spec, dict)
}


def _options(spec: dict) -> list:
    if spec.get("type") == "bool":
        return [False, True]
    choices = spec["choices"]
    values = choices.values() if isinstance(choices, dict) else choices
    return [str(c[1] if isinstance(c, list) else c) for c in values]


def _default(spec: dict) -> str | bool:
    """The question's default for a new app with no stack yet (stack_answers is empty, its
    destination holds no file)."""
    env = jinja2.Environment()
    env.filters["fileglob"] = lambda pattern: []
    text = env.from_string(str(spec["default"])).render(
        stack_answers={}, _copier_conf={"dst_path": "/new/app"}
    )
    return yaml.safe_load(text) is True if spec.get("type") == "bool" else text


# Every choice question (the repo aside) and every yes/no question, with its options and default.
CHOICES: dict[str, list] = {
    name: _options(spec)
    for name, spec in QUESTIONS.items()
    if name != "repo"
    and spec.get("when") is not False
    and ("choices" in spec or spec.get("type") == "bool")
}
DEFAULTS: dict[str, str | bool] = {name: _default(QUESTIONS[name]) for name in CHOICES}


def chosen(answers: dict) -> dict[str, str | bool]:
    """What a row answers to every choice question; copier.yml's default where it is silent."""
    values = dict(DEFAULTS)
    for name, value in answers.items():
        if name in CHOICES:
            is_bool = isinstance(DEFAULTS[name], bool)
            values[name] = str(value).lower() == "true" if is_bool else str(value)
    return values


def _label(name: str, value: str | bool) -> str:
    """How a row's id names a choice: celery, no-ci, gitlab, py313, node22, pg18."""
    feature = name.removeprefix("use_")
    if isinstance(value, bool):
        return feature if value else f"no-{feature}"
    if value == "none":
        return f"no-{name.split('_')[0]}"
    prefixes = {"python_version": "py", "node_version": "node", "postgres_version": "pg"}
    prefix = prefixes.get(name, "")
    return prefix + value.replace(".", "")


# Rows for what no choice covers, named by their point; each pins the choices it is about.
SCENARIOS = {
    "domain": {
        "ci_provider": "gitlab",
        "domain": "shop.example.com",
        "acme_email": "ops@example.com",
    },
    "mirror-slug": {
        "ci_provider": "none",
        "project_name": "Shop Front",
        "slug": "shop-front",
        "python_image": "mirror.example.com/library/python:3.12-slim",
        "node_image": "mirror.example.com/library/node:22-slim",
        "postgres_image": "mirror.example.com/library/postgres:17",
        "caddy_image": "mirror.example.com/library/caddy:2",
    },
}


def _matrix() -> dict[str, dict[str, str]]:
    """The default row, rows that take up the choices neither it nor a scenario makes (as few
    as the longest list of them: one while every question has two or three options), then the
    scenarios. Each row is a full generation, so the matrix stays this small."""
    scenarios = {
        "-".join([*(_label(n, chosen(a)[n]) for n in CHOICES if n in a), tag]): a
        for tag, a in SCENARIOS.items()
    }
    covered = [chosen(a) for a in [{}, *scenarios.values()]]
    missing = {
        name: [o for o in options if o not in {row[name] for row in covered}]
        for name, options in CHOICES.items()
    }
    rows: dict[str, dict[str, str]] = {"default": {}}
    for k in range(max(map(len, missing.values()), default=0)):
        picks = {name: left[k] for name, left in missing.items() if k < len(left)}
        features_first = sorted(picks, key=lambda name: not isinstance(picks[name], bool))
        row_id = "-".join(_label(name, picks[name]) for name in features_first)
        rows[row_id] = {
            name: str(value).lower() if isinstance(value, bool) else value
            for name, value in picks.items()
        }
    return rows | scenarios


# Readable ids for the option matrix: default, celery-py313-node20, gitlab-domain, ...
MATRIX = _matrix()
matrix = pytest.mark.parametrize("answers", list(MATRIX.values()), ids=list(MATRIX))


def rows_choosing(*questions: str) -> dict[str, dict[str, str]]:
    """The default row and every row that answers one of the questions: the variants of a
    part of the project that only those answers change."""
    return {
        row_id: answers
        for row_id, answers in MATRIX.items()
        if row_id == "default" or any(q in answers for q in questions)
    }


# ---- The template's releases ----------------------------------------------------------------
# A PEP 440 tag on the commit that adds its CHANGELOG.md heading. A fresh clone may carry no
# tags (CI checks out a branch), so tests recreate them from the CHANGELOG and can update from
# the oldest supported release either way.

HEADING = re.compile(r"^## \[(\d+(?:\.\d+)+)\]", re.MULTILINE)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def releases(repo: Path) -> list[str]:
    """The versions CHANGELOG.md has a heading for, oldest first."""
    return sorted(HEADING.findall((repo / "CHANGELOG.md").read_text()), key=Version)


def release_commit(repo: Path, version: str) -> str:
    """The commit that added the version's heading to CHANGELOG.md."""
    heading = f"## [{version}]"
    commits = git(repo, "log", "--format=%H", "--reverse", "-S", heading, "--", "CHANGELOG.md")
    if not commits.split():
        raise AssertionError(
            f"no commit of {repo} adds '{heading}' to CHANGELOG.md: a shallow clone? "
            "(git fetch --unshallow)"
        )
    return commits.split()[0]


def tag_releases(repo: Path) -> list[str]:
    """Tag each release the repo has no tag for yet; return the releases, oldest first."""
    tags = set(git(repo, "tag", "--list").split())
    for version in releases(repo):
        if version not in tags:
            git(repo, "tag", version, release_commit(repo, version))
    return releases(repo)


# ---- Older releases, built from the working tree (the `source` fixture) -----------------------

OLD, MIDDLE = "97.0.0", "98.0.0"
REQUIREMENTS = "stack-template/backend/requirements.txt.jinja"
ENV = {
    "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    "GIT_AUTHOR_NAME": "Team",
    "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "Team",
    "GIT_COMMITTER_EMAIL": "team@example.com",
}


def edit(path: Path, old: str, new: str) -> None:
    """Replace text that must be there; say which difference needs adjusting if it is not."""
    text = path.read_text()
    assert old in text, f"{path} no longer contains {old!r}: adjust this test's edits"
    path.write_text(text.replace(old, new, 1))


def drop_manifest_line(src: Path, app_path: str) -> None:
    """A release without the link: neither links.txt nor the app's .gitignore lists it."""
    links = src / "stack-template/links.txt"
    text, count = re.subn(rf"^{re.escape(app_path)}\s.*\n", "", links.read_text(), flags=re.M)
    assert count == 1, f"links.txt no longer links {app_path}: adjust this test's releases"
    links.write_text(text)
    edit(src / "app-template/.gitignore", f"/{app_path}\n", "")


def settings_template(src: Path) -> Path:
    return src / "app-template/backend/{{ package }}/settings.py.jinja"


def make_middle(src: Path) -> None:
    """MIDDLE lacks what the last step (MIDDLE -> working tree) brings."""
    drop_manifest_line(src, "frontend/eslint.config.js")
    edit(
        src / "app-template/.env.example.jinja",
        "DJANGO_CSRF_TRUSTED_ORIGINS=\n",
        "",
    )
    edit(settings_template(src), 'LANGUAGE_CODE = "en-us"', 'LANGUAGE_CODE = "en"')
    requirements = src / REQUIREMENTS
    requirements.write_text(
        re.sub(r"^gunicorn==.*$", "gunicorn==23.0.0", requirements.read_text(), flags=re.M)
    )


def make_old(src: Path) -> None:
    """OLD also lacks what the first step (OLD -> MIDDLE) brings, and has a link it drops."""
    drop_manifest_line(src, "frontend/tsconfig.node.json")
    with (src / "stack-template/links.txt").open("a") as links:
        links.write("frontend/.prettierrc.json     frontend/.prettierrc.json\n")
    edit(src / "app-template/.gitignore", "\n\n.env\n", "\n/frontend/.prettierrc.json\n\n.env\n")
    (src / "stack-template/frontend/.prettierrc.json").write_text('{"semi": false}\n')
    example = src / "app-template/.env.example.jinja"
    edit(example, "POSTGRES_PASSWORD=\n", "")
    edit(example, "HTTPS_PORT=443\n", "")
    caddyfile = src / "stack-template/caddy/Caddyfile"
    edit(caddyfile, "encode zstd gzip", "encode gzip")
    edit(
        caddyfile, "Referrer-Policy strict-origin-when-cross-origin", "Referrer-Policy no-referrer"
    )
    edit(settings_template(src), '"CONN_MAX_AGE": 60', '"CONN_MAX_AGE": 0')


def tag_release(src: Path, version: str) -> None:
    run("git", "add", "--all", cwd=src)
    run("git", "commit", "--quiet", "--no-verify", "-m", f"Release {version}", cwd=src, env=ENV)
    run("git", "tag", version, cwd=src)


def release_working_tree(src: Path) -> None:
    run("git", "tag", TEMPLATE_VERSION, "working-tree", cwd=src)


# ---- A team: a developer's machine, the remotes, a server -----------------------------------

SLUG = "shop"
# README commands that need a Docker engine: Shell skips them unless told (test_docker.py runs
# them, following the same README sections).
DOCKER_COMMANDS = {"./install.sh", "docker compose -f docker-compose.app.yml up -d"}
CONFLICT_CHECK = "pre-commit run check-merge-conflict"


@dataclass
class Team:
    root: Path

    def dev(self, name: str = SLUG) -> Path:
        return self.root / "dev" / name

    def server(self, name: str = SLUG) -> Path:
        return self.root / "server" / name

    @property
    def server_env(self) -> dict[str, str]:
        """The server's shell: `app` set to the app's checkout, as the stack's README says."""
        return {**ENV, "app": str(self.server())}

    def commit(self, repo: Path, message: str) -> None:
        run("git", "add", "--all", cwd=repo)
        run("git", "commit", "--quiet", "-m", message, cwd=repo, env=ENV)
        run("git", "push", "--quiet", cwd=repo)


def bootstrap(template: Path, root: Path, version: str, **answers) -> Team:
    """Generate the pair at `version` on the developer's machine and give both a remote."""
    team = Team(root)
    run(
        *COPIER,
        "copy",
        "--trust",
        "--defaults",
        f"--vcs-ref={version}",
        "--data=repo=app",
        *(
            f"--data={k}={v}"
            for k, v in {"project_name": SLUG, "data_root": root / "data", **answers}.items()
        ),
        template,
        team.dev(),
    )
    for name in (SLUG, f"{SLUG}-stack"):
        remote = root / "remotes" / f"{name}.git"
        run("git", "init", "--quiet", "--bare", "--initial-branch=main", remote)
        run("git", "remote", "add", "origin", remote, cwd=team.dev(name))
        run("git", "push", "--quiet", "--set-upstream", "origin", "main", cwd=team.dev(name))
    return team


def deploy(team: Team) -> None:
    """The server's first install, as the stack's README says (its images aside)."""
    for name in (SLUG, f"{SLUG}-stack"):
        run("git", "clone", "--quiet", team.root / "remotes" / f"{name}.git", team.server(name))
    run("./install.sh", "--app", f"../{SLUG}", cwd=team.server(f"{SLUG}-stack"))


def readme_blocks(readme: Path, heading: str) -> list[list[str]]:
    """The command lines of each indented code block in the README's `## heading` section."""
    text = readme.read_text()
    assert f"\n## {heading}\n" in text, f"{readme} has no section '{heading}'"
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks: list[list[str]] = [[]]
    for line in section.splitlines():
        if line.startswith("    ") and line.strip():
            blocks[-1].append(re.sub(r"\s+#.*$", "", line.strip()))
        elif line.strip() and blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


@dataclass
class Shell:
    """Runs command lines one at a time from a folder, following `cd` as a shell does."""

    cwd: Path
    skipped: list[str] = field(default_factory=list)
    output: str = ""
    docker: bool = False  # run DOCKER_COMMANDS too (test_docker.py), not skip them
    env: dict[str, str] = field(default_factory=lambda: ENV)

    def __call__(self, command: str) -> subprocess.CompletedProcess | None:
        if command.startswith("cd "):
            # `cd "$app"` too: the variable from env, the quotes dropped, as the shell does.
            folder = re.sub(r'"|\$(\w+)', lambda m: self.env.get(m[1] or "", ""), command[3:])
            self.cwd = (self.cwd / folder).resolve()
            return None
        if command in DOCKER_COMMANDS and not self.docker:
            self.skipped.append(command)
            return None
        result = run("bash", "-c", command, cwd=self.cwd, env=self.env, check=False)
        self.output += result.stdout + result.stderr
        return result

    def follow(self, commands: list[str], conflict: Callable[[str, Path], None] | None = None):
        """Run the commands. With `conflict`, the conflict check must fail once: conflict()
        resolves it from the check's output, then the check runs again and passes."""
        for command in commands:
            result = self(command)
            if result is None or result.returncode == 0:
                assert not (command == CONFLICT_CHECK and conflict), "no conflict was found"
                continue
            assert command == CONFLICT_CHECK and conflict, (
                f"`{command}` failed in {self.cwd}:\n{result.stdout}\n{result.stderr}"
            )
            conflict(result.stdout, self.cwd)
            conflict = None
            again = self(command)
            assert again.returncode == 0, again.stdout


# ---- docs/adding-a-service.md, followed ------------------------------------------------------

RECIPE = ROOT / "docs/adding-a-service.md"
# A step: **`file`**, before|after the line `text` (or ``text`` when it holds a backtick):
# then the fenced block to insert there.
STEP = re.compile(
    r"^\*\*`(?P<path>[^`]+)`\*\*, (?P<where>before|after) the line "
    r"(?:``\s?(?P<quoted>.+?)\s?``|`(?P<plain>[^`]+)`):\n\n```\w*\n(?P<text>.*?)^```$",
    re.M | re.S,
)


@dataclass
class Step:
    path: str
    where: str
    anchor: str
    text: str


def recipe() -> list[Step]:
    return [
        Step(m["path"], m["where"], m["quoted"] or m["plain"], m["text"])
        for m in STEP.finditer(RECIPE.read_text())
    ]


def follow_recipe(template: Path) -> set[str]:
    """Makes the recipe's edits in `template`; returns the files edited."""
    for step in recipe():
        path = template / step.path
        lines = path.read_text().splitlines(keepends=True)
        at = [i for i, line in enumerate(lines) if line.strip().startswith(step.anchor.strip())]
        assert len(at) == 1, f"{step.path}: the line {step.anchor!r} is there {len(at)} times"
        index = at[0] + (step.where == "after")
        lines[index:index] = [step.text]
        path.write_text("".join(lines))
    return {step.path for step in recipe()}


# ---- Stand-in base images --------------------------------------------------------------------
# Local stand-ins for the official base images (no registry is reachable): built by
# tests/standins/build.sh, handed to copier as the base-image answers.

STANDINS_BUILD = ROOT / "tests" / "standins" / "build.sh"


@functools.cache
def ensure_standins() -> dict[str, str]:
    """Builds the stand-ins that are missing or out of date (seconds when none is) and returns
    the copier answers: python_image, node_image, postgres_image, redis_image, caddy_image,
    mailcatcher_image."""
    result = subprocess.run(["bash", STANDINS_BUILD], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"building the stand-in base images failed (bash {STANDINS_BUILD}):\n{result.stderr}"
        )
    return dict(line.split("=", 1) for line in result.stdout.splitlines())
