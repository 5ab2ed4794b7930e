"""The app's .env: read as docker compose reads it, created from .env.example, kept private.

The reader follows compose's .env rules (compose-go's dotenv parser and its interpolation):
comments, `export`, spaces around `=`, single quotes (literal), double quotes (escapes and
interpolation), multi-line quoted values, `${VAR:-default}` and its kin, looked up in the
process environment first, then in the keys above. A statement compose cannot read either is
an error naming the file and line.

Which keys are secret is said here once: GENERATED are the stack's own secrets, filled with a
random value when empty; SENSITIVE are all keys whose value is secret, generated ones
included: never passed as plain environment on Swarm (Docker secrets), never in a message.
Values already in .env are never changed, except an empty generated secret, which is filled,
and the DERIVED keys, which the tool writes from other keys whenever it reads .env; keys .env
lacks are appended. .env is kept private: mode 600.
"""

from __future__ import annotations

import fnmatch
import os
import re
import secrets
import shlex
import stat
import string
from pathlib import Path
from typing import Callable, NamedTuple, Optional
from urllib.parse import urlsplit

from . import services
from .errors import StackError

EXAMPLE, ENV = ".env.example", ".env"
# Secrets the stack's services use, filled with a random value of this length when empty.
GENERATED = {"DJANGO_SECRET_KEY": 64, "POSTGRES_PASSWORD": 32, **services.generated()}
# Every key whose value is secret: the generated ones, and those the user supplies, never
# generated (an empty value means "off"); names or shell patterns, so that an app's own
# STRIPE_API_KEY is covered too.
SENSITIVE = (
    *GENERATED,
    "*_PASSWORD",
    "*_SECRET",
    "*_SECRET_KEY",
    "*_SECRET_KEY_FALLBACKS",
    "*_SECRET_ACCESS_KEY",
    "*_PRIVATE_KEY",
    "*_TOKEN",
    "*_API_KEY",
    "*_DSN",
    "DATABASE_URL",
)
_ALPHABET = string.ascii_letters + string.digits


# Sentry's DSNs: the backend's, and the frontend's, which is built into the bundle; empty: off.
DSNS = ("SENTRY_DSN", "VITE_SENTRY_DSN")


def dsn_origin(key: str, dsn: str) -> str:
    """The origin a Sentry DSN sends to (scheme://host[:port]); '' for an empty one; an error
    naming the key and the form for a DSN the Sentry SDKs would refuse."""
    if not dsn:
        return ""
    try:
        parts = urlsplit(dsn)
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        parts = None
    last = parts.path.rsplit("/", 1)[-1] if parts else ""
    if not (
        parts
        and parts.scheme in ("http", "https")
        and re.fullmatch(r"\w+", parts.username or "", re.ASCII)  # as the browser SDK wants
        and parts.hostname
        and last.isdigit()
        and last.isascii()
    ):
        raise StackError(
            f"{key} is not a Sentry DSN: give the one Sentry shows (its project's Client Keys), "
            "https://PUBLIC_KEY@HOST/PROJECT_ID, or leave it empty for no Sentry"
        )
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[1]}"


def derived(values: dict[str, str]) -> dict[str, str]:
    """The keys the tool writes from others (DERIVED), each with its value; an error when a
    value they come from is malformed (every DSN is checked)."""
    origins = {key: dsn_origin(key, values.get(key, "")) for key in DSNS}
    # The CSP's connect-src (Caddy; empty: 'self'): the site, and where the bundle reports.
    sentry = origins["VITE_SENTRY_DSN"]
    return {"CSP_CONNECT_SRC": f"'self' {sentry}" if sentry else ""}


DERIVED = tuple(derived({}))


def is_sensitive(key: str) -> bool:
    """A key whose value is secret: a Docker secret on Swarm, compared by restore."""
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in SENSITIVE)


def fresh_secret(key: str) -> str:
    """A random value for a generated secret; '' for any other key."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED.get(key, 0)))


# ---- Reading: compose's rules ---------------------------------------------------------------


class Statement(NamedTuple):
    """One KEY=value of .env text: its value (None: inherited and unset) and where it is."""

    key: str
    value: str | None
    start: int
    end: int


class ParseError(ValueError):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset, self.reason = offset, reason


Lookup = Callable[[str], Optional[str]]
_EXPORT = re.compile(r"export[\t\n\f\r ]+")
_ESCAPE = re.compile(r'\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})')
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_TEMPLATE = re.compile(
    r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)"
    r"|\{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?P<invalid>)))"
)
_OPERATORS = (":?", "?", ":-", "-", ":+", "+")


def _is_space(char: str) -> bool:
    """Go's isSpace of the parser: blanks, not a line break."""
    return char in "\t\v\f\r \x85\xa0"


def _is_unicode_space(char: str) -> bool:
    """Go's unicode.IsSpace."""
    return char in "\t\n\v\f\r \x85\xa0" or (char > "\xff" and char.isspace())


def statements(text: str, environ: Lookup | None = None) -> list[Statement]:
    """The statements of .env text in order, values as compose gives them; ParseError when
    compose would refuse the text."""
    lookup = environ or os.environ.get
    found: list[Statement] = []
    values: dict[str, str] = {}
    pos = 1 if text.startswith("\ufeff") else 0  # a byte order mark is skipped
    while True:
        pos = _statement_start(text, pos)
        if pos == len(text):
            return found
        start = pos
        key, pos, inherited = _key(text, pos)
        if " " in key:
            raise ParseError(start, "a key cannot contain a space")
        if inherited:
            found.append(Statement(key, lookup(key), start, pos))
            continue
        if not key:  # compose parses it, then fails to set it: "setenv: invalid argument"
            raise ParseError(start, "a value without a key")
        value, pos = _value(text, pos, values, lookup)
        values[key] = value
        found.append(Statement(key, value, start, pos))


def parse(text: str, environ: Lookup | None = None) -> dict[str, str]:
    """The values of .env text, as compose reads them (ParseError if it cannot)."""
    return _values(statements(text, environ))


def _values(found: list[Statement]) -> dict[str, str]:
    return {s.key: s.value for s in found if s.value is not None}


def _statement_start(text: str, pos: int) -> int:
    """Past blanks, line breaks and comment lines."""
    while True:
        while pos < len(text) and _is_unicode_space(text[pos]):
            pos += 1
        if pos == len(text) or text[pos] != "#":
            return pos
        pos = text.find("\n", pos)
        if pos < 0:
            return len(text)


def _key(text: str, pos: int) -> tuple[str, int, bool]:
    """The key of the statement at pos, where its value starts, and whether it has none
    (a bare KEY takes its value from the environment)."""
    if _EXPORT.match(text, pos):
        pos += len("export")
        while pos < len(text) and _is_space(text[pos]):
            pos += 1
    key, offset, inherited = "", pos, False  # no = till the end: the value of an empty key
    for index in range(pos, len(text)):
        char = text[index]
        if char in "=:\n":
            key, offset, inherited = text[pos:index], index + 1, char == "\n"
            break
        if not (_is_space(char) or char in "_.-[]" or char.isalnum()):
            raise ParseError(index, f"{char!r} in the key {text[pos : index + 1]!r}")
    while key and _is_unicode_space(key[-1]):
        key = key[:-1]
    while offset < len(text) and _is_space(text[offset]):
        offset += 1
    return key, offset, inherited


def _value(text: str, pos: int, values: dict[str, str], lookup: Lookup) -> tuple[str, int]:
    quote = text[pos] if pos < len(text) and text[pos] in "'\"" else ""
    if not quote:
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        value = text[pos:end].split(" #", 1)[0]
        while value and _is_unicode_space(value[-1]):
            value = value[:-1]
        return _interpolated(value, values, lookup, pos), end
    chars: list[str] = []
    escaped = False
    for index in range(pos + 1, len(text)):
        char = text[index]
        if char != quote:
            if not escaped and char == "\\":
                escaped = True
                continue
            if escaped:
                escaped = False
                chars.append("\\")
            chars.append(char)
            continue
        if escaped:  # \" or \' keeps the quote
            escaped = False
            chars.append(char)
            continue
        value = "".join(chars)
        if quote == '"':
            value = _interpolated(_ESCAPE.sub(_unescape, value), values, lookup, pos)
        return value, index + 1
    raise ParseError(pos, f"the {quote} that opens the value is never closed")


def _unescape(match: re.Match) -> str:
    sequence = match.group()
    if sequence == "\\$":
        return "$$"
    if sequence[1] == "0":  # \0ddd: an octal byte, else \ddd (compose drops the 0)
        digits = sequence[2:]
        if len(digits) == 3 and set(digits) <= set("01234567") and int(digits, 8) < 256:
            return chr(int(digits, 8))
        return "\\" + digits
    return _ESCAPES.get(sequence[1], sequence[1])


def _interpolated(value: str, values: dict[str, str], lookup: Lookup, pos: int) -> str:
    def mapping(name: str) -> str | None:
        found = lookup(name)
        return found if found is not None else values.get(name)

    try:
        return substitute(value, mapping)
    except ValueError as error:
        raise ParseError(pos, str(error)) from None


def substitute(template: str, mapping: Lookup) -> str:
    """compose's interpolation of one string: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:+other}, ${VAR+other}, ${VAR:?error}, ${VAR?error}, $$; ValueError as compose fails."""
    return _TEMPLATE.sub(lambda match: _replacement(match.group(), mapping), template)


def _replacement(substring: str, mapping: Lookup) -> str:
    found = [(substring.find(op), op) for op in _OPERATORS if op in substring]
    operator = min(found)[1] if found else ""
    closing = _closing_brace(substring)
    rest = ""
    if closing > -1:
        substring, rest = substring[: closing + 1], substring[closing + 1 :]
    match = _TEMPLATE.search(substring)
    if match and match.group("escaped"):
        return "$"
    name = match and (match.group("named") or match.group("braced"))
    if not name:
        raise ValueError("a $ that starts no ${NAME} (write $$ for a $ as such)")
    if match.group("braced") is not None and operator and operator in name:
        name, argument = name.split(operator, 1)
        argument = substitute(argument, mapping)
        value = mapping(name)
        if operator in (":-", "-"):
            if value is None or (operator == ":-" and value == ""):
                value = argument
        elif operator in (":+", "+"):
            if value is not None and (operator == "+" or value != ""):
                value = argument
            value = value or ""
        elif value is None or (operator == ":?" and value == ""):
            raise ValueError(f"required variable {name} is missing a value: {argument}")
        return value + substitute(rest, mapping)
    return mapping(name) or ""


def _closing_brace(text: str) -> int:
    depth, index = 0, 0
    while index < len(text):
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        if text[index] == "{":
            depth += 1
            index += 1
        index += 1
    return -1


# ---- Writing: lines compose reads back as the same values -----------------------------------

_BARE = re.compile(r"[A-Za-z0-9_./:@,+=%^~-]*")


def assignment(key: str, value: str) -> str:
    """A KEY=value line compose reads back as `value` (double-quoted where it must be)."""
    if _BARE.fullmatch(value):
        return f"{key}={value}"
    for char, escape in (("\\", "\\\\"), ('"', '\\"'), ("$", "\\$"), ("\n", "\\n"), ("\r", "\\r")):
        value = value.replace(char, escape)
    return f'{key}="{value}"'


def with_values(text: str, values: dict[str, str], path: Path | str = ENV) -> str:
    """.env text with the statements of the keys in `values` given those values; the rest of
    the text (comments, other keys, layout) as it was."""
    pieces, done = [], 0
    for statement in _statements_of(text, path):
        if statement.key in values:
            pieces += [
                text[done : statement.start],
                assignment(statement.key, values[statement.key]),
            ]
            done = statement.end
    return "".join(pieces) + text[done:]


# ---- Files ----------------------------------------------------------------------------------


def _quoted(path: Path | str) -> str:
    return shlex.quote(str(path))


def _io_error(path: Path, error: OSError, doing: str) -> StackError:
    if isinstance(error, PermissionError):
        return StackError(
            f"cannot {doing} {_quoted(path)}: permission denied (it belongs to another user, "
            f'e.g. after sudo); make it yours: sudo chown "$(id -un)" {_quoted(path)}'
        )
    return StackError(f"cannot {doing} {_quoted(path)}: {error.strerror or error}")


def read_text(path: Path) -> str:
    """A .env file's text; unreadable or not UTF-8: an error naming the fix."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _io_error(path, error, "read") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StackError(
            f"{_quoted(path)} line {line} is not UTF-8 text: save the file as UTF-8 "
            f"(e.g. iconv -f latin1 -t utf-8), or make it again from {EXAMPLE}"
        ) from None


def _statements_of(text: str, path: Path | str) -> list[Statement]:
    try:
        return statements(text)
    except ParseError as error:
        line = text.count("\n", 0, error.offset) + 1
        raise StackError(
            f"{_quoted(path)} line {line}: {error.reason}; docker compose cannot read it "
            "either: fix that line ('single quotes' keep a value as written)"
        ) from None


def parse_file(text: str, path: Path | str) -> dict[str, str]:
    """parse() of a file's text, an error naming the file and line where compose cannot."""
    return _values(_statements_of(text, path))


def read(path: Path) -> dict[str, str]:
    """The values of a .env file as compose reads them."""
    return parse_file(read_text(path), path)


def read_env(app: Path, required: bool = True) -> dict[str, str]:
    """The app's .env; without one, an error naming how to make one (or {} if not required)."""
    path = Path(app) / ENV
    if not path.is_file():
        if not required:
            return {}
        raise StackError(f"{path} not found: create it with ./install.sh --app {_quoted(app)}")
    return read(path)


def _write(path: Path, text: str, create: bool = False) -> None:
    try:
        if create:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
        else:
            path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _io_error(path, error, "write") from None


def keep_derived(app_dir: Path, text: str | None = None) -> list[str]:
    """Write the DERIVED keys of the app's .env (its `text`, when read already) from the keys
    they come from, where they differ (appended where missing); return what to tell the user."""
    env = Path(app_dir) / ENV
    text = read_text(env) if text is None else text
    present = parse_file(text, env)
    changed = {k: v for k, v in derived(present).items() if present.get(k, "") != v}
    if not changed:
        return []
    missing = [k for k in changed if k not in present]
    new = with_values(text, changed, env)
    if missing:
        new += "\n" if new and not new.endswith("\n") else ""
        new += "".join(f"{assignment(k, changed[k])}\n" for k in missing)
    _write(env, new)
    return [f"Wrote {' '.join(f'{k}={v}' for k, v in changed.items())} into {env} (derived)"]


def sync(app_dir: Path) -> list[str]:
    """Create or complete the app's .env; return what to tell the user."""
    app = Path(app_dir)
    example, env = app / EXAMPLE, app / ENV
    if not example.is_file():
        raise StackError(f"{example} not found: is '{app}' an app checkout?")
    creating = not env.exists()
    text = "" if creating else read_text(env)
    present = {} if creating else parse_file(text, env)
    derived(present)  # a malformed DSN is refused before anything is written
    example_text = read_text(example)
    starts = {}
    for statement in _statements_of(example_text, example):
        starts.setdefault(example_text.count("\n", 0, statement.start), statement)

    output, comments, added, generated = [], [], [], []
    lines = example_text.split("\n")
    lines = lines[:-1] if lines[-1] == "" else lines
    index = 0
    while index < len(lines):
        line = lines[index]
        statement = starts.get(index)
        if statement:
            last = index + example_text.count("\n", statement.start, statement.end)
            key = statement.key
            if key not in present:
                if not statement.value and key in GENERATED:
                    output += [*comments, assignment(key, fresh_secret(key))]
                    generated.append(key)
                else:
                    output += [*comments, *lines[index : last + 1]]
                present[key] = statement.value or ""
                added.append(key)
            comments, index = [], last + 1
            continue
        if not line.strip():
            if creating:
                output += [*comments, ""]
            comments = []
        else:
            comments.append(line)
        index += 1
    if creating:
        output += comments

    empty = {k: fresh_secret(k) for k in GENERATED if present.get(k) == "" and k not in added}
    said = []
    if creating:
        text = "".join(f"{line}\n" for line in output)
        _write(env, text, create=True)
        said.append(f"Created {env} (mode 600) with {len(added)} keys.")
    elif added or empty:
        new = with_values(text, empty, env) if empty else text
        if added:
            new += ("\n" if new and not new.endswith("\n") else "") + "\n"
            new += "".join(f"{line}\n" for line in output)
            said.append(f"Added to {env}: {' '.join(added)}")
        _write(env, new)
        text = new
    generated += list(empty)
    if generated:
        said.append(f"Generated random values for: {' '.join(generated)}")
    said += keep_derived(app, text)
    mode = stat.S_IMODE(env.stat().st_mode)
    if mode != 0o600:
        try:
            env.chmod(0o600)
        except OSError as error:
            raise _io_error(env, error, "make private (chmod 600)") from None
        said.append(f"Made {env} private: mode 600 (it was {mode:o}); it holds secrets.")
    return said
