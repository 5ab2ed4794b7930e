"""The app's .env: created from its .env.example with fresh secrets, never overwritten.

Values already in .env are never changed; keys it lacks are appended. An empty value of a
key ending in _SECRET_KEY (64 characters) or _PASSWORD (32) gets a fresh random one. .env
is kept private: mode 600.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import string
from pathlib import Path

from .errors import StackError

EXAMPLE, ENV = ".env.example", ".env"
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_EXAMPLE_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
SECRET_LENGTHS = {"_SECRET_KEY": 64, "_PASSWORD": 32}
_ALPHABET = string.ascii_letters + string.digits


def parse(text: str) -> dict[str, str]:
    """KEY=value lines of .env text; quotes around a value are taken off."""
    values = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match:
            value = match.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[match.group(1)] = value
    return values


def read_env(app: Path, required: bool = True) -> dict[str, str]:
    """The app's .env; without one, an error naming how to make one (or {} if not required)."""
    path = Path(app) / ENV
    if not path.is_file():
        if not required:
            return {}
        raise StackError(f"{path} not found: create it with ./install.sh --app {app}")
    return parse(path.read_text(encoding="utf-8"))


def is_secret(key: str) -> bool:
    """A key whose value .env keeps secret (and sync generates): *_SECRET_KEY, *_PASSWORD."""
    return key.endswith(tuple(SECRET_LENGTHS))


def fresh_secret(key: str) -> str:
    for suffix, length in SECRET_LENGTHS.items():
        if key.endswith(suffix):
            return "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return ""


def sync(app_dir: Path) -> list[str]:
    """Create or complete the app's .env; return what to tell the user."""
    app = Path(app_dir)
    example, env = app / EXAMPLE, app / ENV
    if not example.is_file():
        raise StackError(f"{example} not found: is '{app}' an app checkout?")
    creating = not env.exists()
    present = set() if creating else set(parse(env.read_text(encoding="utf-8")))

    output, comments, added, generated = [], [], [], []
    for line in example.read_text(encoding="utf-8").splitlines():
        match = _EXAMPLE_LINE.match(line)
        if match:
            key, value = match.groups()
            if key not in present:
                secret = "" if value else fresh_secret(key)
                if secret:
                    value = secret
                    generated.append(key)
                output += [*comments, f"{key}={value}"]
                present.add(key)
                added.append(key)
            comments = []
        elif not line.strip():
            if creating:
                output += [*comments, ""]
            comments = []
        else:
            comments.append(line)
    if creating:
        output += comments

    said = []
    if creating:
        descriptor = os.open(env, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write("".join(f"{line}\n" for line in output))
        said.append(f"Created {env} (mode 600) with {len(added)} keys.")
    elif added:
        text = env.read_text(encoding="utf-8")
        with env.open("a", encoding="utf-8") as file:
            file.write(("\n" if text and not text.endswith("\n") else "") + "\n")
            file.write("".join(f"{line}\n" for line in output))
        said.append(f"Added to {env}: {' '.join(added)}")
    if generated:
        said.append(f"Generated random values for: {' '.join(generated)}")
    mode = stat.S_IMODE(env.stat().st_mode)
    if mode != 0o600:
        env.chmod(0o600)
        said.append(f"Made {env} private: mode 600 (it was {mode:o}); it holds secrets.")
    return said
