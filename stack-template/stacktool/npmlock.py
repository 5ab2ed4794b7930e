"""`./stack lock --app`, npm side: the app's own npm packages, locked.

The app lists its packages in APP/frontend/package-app.json (exact versions). Their lock,
APP/frontend/package-app.lock.json, holds the entries npm adds to the stack's
frontend/package-lock.json for them: every package they bring, transitive ones included, by
its node_modules path, with version and integrity, as npm resolved them on top of the
stack's lock (npm install --package-lock-only in a scratch folder on a merged package.json).
The stack's tree stays as its lock fixes it: an app package that would change one of those
versions is a clash, an error naming both sides. install-app-packages.mjs installs the
merged lock with npm ci.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import StackError

LISTING = "frontend/package-app.json"
APP_LOCK = "frontend/package-app.lock.json"
STACK_LOCK = "frontend/package-lock.json"
SECTIONS = ("dependencies", "devDependencies")
EXACT = re.compile(r"^\d+\.\d+\.\d+(-[\w.]+)?$")
NOTE = (
    "The packages package-app.json adds to the stack's package-lock.json, with all they "
    "depend on, as npm resolved them on top of it. npm ci installs exactly these. "
    "Regenerate: <stack>/stack lock --app . (from the app's folder), then commit it."
)


def npm() -> str:
    found = shutil.which("npm")
    if not found:
        raise StackError(
            "npm not found: locking the app's npm packages needs Node.js with npm "
            "(22 or 24, https://nodejs.org); install it and run this again"
        )
    return found


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise StackError(f"{path}: cannot read it as JSON ({error}); fix it") from None


def listing(stack: Path, app: Path) -> dict[str, dict[str, str]]:
    """The app's package-app.json, checked: exact versions, no stack package."""
    path = app / LISTING
    if not path.is_file():
        return {section: {} for section in SECTIONS}
    found = read_json(path)
    manifest = read_json(stack / "frontend/package.json")
    owned = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    packages = {section: dict(found.get(section) or {}) for section in SECTIONS}
    for name, version in {**packages["dependencies"], **packages["devDependencies"]}.items():
        if name in owned:
            raise StackError(
                f"{path}: {name} is already a stack dependency ({owned[name]}); remove it"
            )
        if not EXACT.match(str(version)):
            raise StackError(f'{path}: {name}: "{version}" is not an exact version; write "1.2.3"')
    return packages


def package_name(path: str) -> str:
    """node_modules/a/node_modules/@s/b -> @s/b"""
    return path.rsplit("node_modules/", 1)[-1]


def clashes(stack_packages: dict, merged: dict, listed: dict[str, str]) -> list[str]:
    """Every stack lock entry the merged resolve changed, named with the app package that
    brings the other version."""
    added = {path: entry for path, entry in merged.items() if path not in stack_packages}
    found = []
    for path, entry in stack_packages.items():
        if not path or entry.get("link"):
            continue
        now = merged.get(path, {})
        if now.get("version") == entry.get("version"):
            continue
        name = package_name(path)
        wanting = [f"package-app.json ({name} {listed[name]})"] if name in listed else []
        for other, info in added.items():
            wants = {**info.get("dependencies", {}), **info.get("peerDependencies", {})}
            if name in wants:
                wanting.append(
                    f"{package_name(other)} {info.get('version')} ({name} {wants[name]})"
                )
        found.append(
            f"{' and '.join(wanting) or 'the app packages'} would change {name} from "
            f"{entry.get('version')}, which the stack's package-lock.json fixes at {path}, to "
            f"{now.get('version', 'nothing')}"
        )
    return found


def not_found(npm_said: str) -> str:
    """What npm could not find in the registry, said plainly with the fix: a package (npm's
    E404) or a version (ETARGET); empty when npm failed for another reason."""
    package = r"((?:@[^/\s']+/)?[^@\s']+)"
    if re.search(r"\bE404\b", npm_said):
        found = re.search(rf"'{package}@[^\s']*' could not be found", npm_said)
        name = found[1] if found else "a package it lists"
        return f"{name}: no such package in the npm registry; correct the name"
    found = re.search(rf"No matching version found for {package}@(\S+?)\.?$", npm_said, re.M)
    if found:
        return (
            f"{found[1]} has no version {found[2]} in the npm registry; correct the version "
            f"(npm view {found[1]} versions lists them)"
        )
    return ""


def resolve(stack: Path, app: Path) -> dict:
    """The app's lock: package-app.json resolved on top of the stack's package-lock.json."""
    packages = listing(stack, app)
    lock = {"//": NOTE, **packages, "packages": {}}
    if not any(packages.values()):
        return lock
    command = npm()
    frontend = stack / "frontend"
    stack_lock = read_json(stack / STACK_LOCK)
    manifest = read_json(frontend / "package.json")
    manifest.pop("scripts", None)
    for section in SECTIONS:
        manifest[section] = {**manifest.get(section, {}), **packages[section]}
    with tempfile.TemporaryDirectory(prefix="stack-npm-lock-") as tmp:
        scratch = Path(tmp)
        (scratch / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.copyfile(stack / STACK_LOCK, scratch / "package-lock.json")
        for name in ("app-packages-check",):  # the stack's file: dependency
            if (frontend / name).is_dir():
                shutil.copytree(frontend / name, scratch / name)
        result = subprocess.run(
            [command, "install", "--package-lock-only", "--ignore-scripts", "--save=true"]
            + ["--no-audit", "--no-fund", "--loglevel=error"],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            unknown = not_found(result.stderr)
            if unknown:
                raise StackError(f"{app / LISTING}: {unknown}")
            said = ""
            for line in result.stderr.splitlines():
                line = line.replace("npm error", "").strip()
                if line.startswith(("Fix the upstream", "For a full report", "A complete log")):
                    break
                said += f" {line}"
            raise StackError(
                f"{app / LISTING} clashes with the stack's {stack / STACK_LOCK}, npm says: "
                f"{re.sub(' +', ' ', said).strip()[:1500]}. Change the app's version, or the "
                "stack's (then npm install in the stack)"
            )
        merged = read_json(scratch / "package-lock.json").get("packages", {})
    listed = {**packages["dependencies"], **packages["devDependencies"]}
    problems = clashes(stack_lock.get("packages", {}), merged, listed)
    if problems:
        raise StackError(
            f"{app / LISTING} clashes with the stack's {stack / STACK_LOCK}: "
            + "; ".join(problems)
            + ". Change the app's version, or the stack's (then npm install in the stack)"
        )
    stack_paths = stack_lock.get("packages", {})
    lock["packages"] = {
        path: entry for path, entry in sorted(merged.items()) if path not in stack_paths
    }
    return lock


def lock_app(stack: Path, app: Path) -> list[str]:
    """Write APP/frontend/package-app.lock.json."""
    if not (app / LISTING).is_file():
        return []
    lock = resolve(stack, app)
    (app / APP_LOCK).write_text(json.dumps(lock, indent=2) + "\n")
    return [f"Wrote {app / APP_LOCK} ({len(lock['packages'])} packages beside the stack's)"]


def is_current(app: Path) -> bool:
    """The app's npm lock is there and made from its package-app.json as it is now."""
    path = app / LISTING
    if not path.is_file():
        return True
    found = json.loads(path.read_text())
    wanted = {section: dict(found.get(section) or {}) for section in SECTIONS}
    if not any(wanted.values()):
        return True
    try:
        lock = json.loads((app / APP_LOCK).read_text())
    except (OSError, ValueError):
        return False
    return all(dict(lock.get(section) or {}) == wanted[section] for section in SECTIONS)


def app_lock_for_build(stack: Path, app: Path | None) -> str:
    """The app's npm lock for an image build: its own when current; else (none yet, or
    package-app.json changed since) resolved now with npm, with a note to commit one."""
    if app is None or not (app / LISTING).is_file():
        return "{}\n"
    if is_current(app):
        path = app / APP_LOCK
        return path.read_text() if path.is_file() else "{}\n"
    state = "is out of date" if (app / APP_LOCK).is_file() else "is missing"
    if not shutil.which("npm"):
        raise StackError(
            f"{app / APP_LOCK} {state}: run {stack / 'stack'} lock --app {app} where npm is "
            "installed, commit the lock, and build again"
        )
    print(
        f"note: {app / APP_LOCK} {state}: resolving {LISTING} for this build; pin it "
        f"with {stack / 'stack'} lock --app {app} and commit the lock",
        flush=True,
    )
    return json.dumps(resolve(stack, app), indent=2) + "\n"
