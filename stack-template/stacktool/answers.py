"""Read copier's answers file, `.copier-answers.yml`, with the standard library only.

copier writes it with PyYAML (`yaml.dump(answers, default_flow_style=False)`): one flat
mapping of names to scalars. This reads exactly that: plain, 'single-' and "double-quoted"
scalars, each possibly folded over several indented lines, and YAML 1.1's booleans, null
and numbers. Anything else is an error that says so, never a silent guess.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import StackError

ANSWERS_FILE = ".copier-answers.yml"

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(?:[ \t]+(.*))?$")
_BOOLS = {
    **dict.fromkeys(["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], True),
    **dict.fromkeys(["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], False),
}
_NULLS = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_LENGTH = {"x": 2, "u": 4, "U": 8}


def read_answers(folder: Path) -> dict[str, Any]:
    """The answers recorded in `folder`/.copier-answers.yml."""
    path = Path(folder) / ANSWERS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackError(
            f"{path} not found: {folder} is not a generated repo (copier copy makes one)"
        ) from None
    try:
        return parse(text)
    except ValueError as error:
        raise StackError(f"{path}: {error}") from None


def parse(text: str) -> dict[str, Any]:
    """The mapping of a flat YAML document as PyYAML writes one."""
    entries: list[list[str]] = []  # [key, first line of the value, continuation lines...]
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if line[:1] in (" ", "\t", *_BREAKS) or (not line and entries and _open(entries[-1])):
            if not entries:
                raise ValueError(f"line {number}: indented line before any key")
            entries[-1].append(line)
        elif not line.strip(" \t") or line.startswith("#") or line in ("---", "..."):
            continue
        else:
            match = _KEY.match(line)
            if not match:
                raise ValueError(f"line {number}: not a 'key: value' line: {line!r}")
            entries.append([match.group(1), match.group(2) or ""])
    return {key: _scalar(first, rest) for key, first, *rest in entries}


def _open(entry: list[str]) -> bool:
    """Whether a quoted scalar is still open, so a blank line belongs to it."""
    text = "\n".join(entry[1:])
    if not text.startswith(("'", '"')):
        return False
    try:
        _quoted(text)
    except _Unterminated:
        return True
    return False


class _Unterminated(ValueError):
    pass


# YAML 1.1's line breaks: \r, \n and NEL read as \n; LS and PS are kept as they are.
_BREAKS = "\r\n\x85\u2028\u2029"


def _line_break(text: str, i: int) -> tuple[str, int]:
    if text[i] in "\r\n\x85":
        return "\n", i + (2 if text[i : i + 2] == "\r\n" else 1)
    return text[i], i + 1


def _more_breaks(text: str, i: int, spaces: str) -> tuple[list[str], int]:
    breaks = []
    while True:
        while i < len(text) and text[i] in spaces:
            i += 1
        if i < len(text) and text[i] in _BREAKS:
            found, i = _line_break(text, i)
            breaks.append(found)
        else:
            return breaks, i


def _fold(text: str, i: int, spaces: str) -> tuple[str, int]:
    """The line break at text[i] and the blank lines after it, folded as YAML does: one
    break is a space, each further one a newline; indentation goes."""
    first, i = _line_break(text, i)
    more, i = _more_breaks(text, i, spaces)
    if first != "\n":
        return first + "".join(more), i
    return ("".join(more) or " "), i


def _quoted(text: str) -> tuple[str, int]:
    """The value of the quoted scalar text starts with, and where it ends."""
    quote, out, i = text[0], [], 1
    while True:
        if i >= len(text):
            raise _Unterminated(f"unterminated quoted value: {text!r}")
        char = text[i]
        if quote == "'" and text[i : i + 2] == "''":
            out.append("'")
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        elif quote == '"' and char == "\\":
            code = text[i + 1 : i + 2]
            if code and code in _BREAKS:  # an escaped line break: joins without a space
                _, i = _line_break(text, i + 1)
                more, i = _more_breaks(text, i, " \t")
                out += more
            else:
                value, i = _escape(text, i)
                out.append(value)
        elif char in " \t" or char in _BREAKS:
            i = _blanks(text, i, out, " \t")
        else:
            out.append(char)
            i += 1


def _plain(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] in " \t" or text[i] in _BREAKS:
            i = _blanks(text, i, out, " ")
        else:
            out.append(text[i])
            i += 1
    return "".join(out).strip(" \t")


def _blanks(text: str, i: int, out: list[str], indent: str) -> int:
    """Spaces at text[i] that end in a line break fold with it; others are content. Returns
    where the text goes on."""
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    if j < len(text) and text[j] in _BREAKS:
        folded, j = _fold(text, j, indent)
        out.append(folded)
    else:
        out.append(text[i:j])
    return j


def _scalar(first: str, rest: list[str]) -> Any:
    text = "\n".join([first, *rest])
    if first.startswith(("'", '"')):
        value, end = _quoted(text)
        if text[end:].strip(" \t\n"):
            raise ValueError(f"text after a quoted value: {text!r}")
        return value
    if first.startswith(("[", "{", "|", ">", "&", "*", "!")):
        raise ValueError(f"unsupported value (copier writes none like it): {first!r}")
    return _resolve(_plain(text.strip(" \t\n")))


def _escape(text: str, i: int) -> tuple[str, int]:
    """The character of the escape sequence at text[i] (a backslash), and where it ends."""
    code = text[i + 1 : i + 2]
    if code in _ESCAPES:
        return _ESCAPES[code], i + 2
    if code in _HEX_LENGTH:
        digits = text[i + 2 : i + 2 + _HEX_LENGTH[code]]
        return chr(int(digits, 16)), i + 2 + _HEX_LENGTH[code]
    raise ValueError(f"unknown escape \\{code} in a double-quoted value")


def _resolve(plain: str) -> Any:
    """YAML 1.1's reading of a plain scalar, as PyYAML resolves it."""
    if plain in _BOOLS:
        return _BOOLS[plain]
    if plain in _NULLS:
        return None
    if _INT.match(plain):
        return int(plain.replace("_", ""))
    if _FLOAT.match(plain) and plain not in (".", "+.", "-."):
        return float(plain.replace("_", ""))
    return plain
