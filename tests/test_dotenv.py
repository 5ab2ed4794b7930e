"""The app's .env means what docker compose says it means: the stack tool's reader and
`docker compose config` agree on every value of a corpus of tricky lines, whose answers from
compose are kept in the stack (stack-template/tests/dotenv_compose.json) for its own tests.

Regenerate that file after a change of the corpus or of compose: REGENERATE below.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers import compose_reads
from stacktool import backup, dotenv

FIXTURE = Path(__file__).parents[1] / "stack-template/tests/dotenv_compose.json"
REGENERATE = "PYTHONPATH=stack-template .venv/bin/python tests/test_dotenv.py"


def compose_version() -> str:
    return subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def answers(cases: list[dict], environment: dict[str, str]) -> list[dict | None]:
    """compose's answer for each case, four compose processes at a time."""
    with tempfile.TemporaryDirectory(prefix="dotenv cases ") as tmp:
        folders = [Path(tmp, str(i)) for i in range(len(cases))]
        for folder in folders:
            folder.mkdir()
        with ThreadPoolExecutor(4) as pool:
            return list(
                pool.map(lambda c, f: compose_reads(c["text"], f, environment), cases, folders)
            )


def tool_reads(text: str, environment: dict[str, str]) -> dict | None:
    try:
        values = dotenv.parse(text, environment.get)
    except dotenv.ParseError:
        return None
    return {k: v for k, v in values.items() if k not in environment}


def test_the_tool_reads_every_line_of_the_corpus_as_compose_does_and_the_fixture_is_current():
    fixture = json.loads(FIXTURE.read_text())
    cases, environment = fixture["cases"], fixture["environment"]
    assert len(cases) >= 40
    version = compose_version()
    from_compose = answers(cases, environment)
    stale = [c["text"] for c, now in zip(cases, from_compose, strict=True) if c["compose"] != now]
    assert not stale, (
        f"{version} reads these otherwise than {FIXTURE.name} (recorded with "
        f"{fixture['version']}); regenerate it: {REGENERATE}\n{stale}"
    )
    differing = [
        (case["text"], now, tool_reads(case["text"], environment))
        for case, now in zip(cases, from_compose, strict=True)
        if tool_reads(case["text"], environment) != now
    ]
    assert not differing, differing
    assert sum(answer is None for answer in from_compose) >= 8  # refusals are tested too
    assert sum(len(answer or {}) for answer in from_compose) >= 70


PIECES = [
    "A", "KEY", "_X", "=", " ", "\t", "#", " #", "'", '"', "\\", "\\n", "\\'", '\\"', "$", "$$",
    "${", "}", "${A}", "$A", "${FROM_SHELL}", ":-", "-", ":+", "+", ":?", "?", "{", "x", "y z",
    "\n", "\r\n", "export ", ":", "é", "0", "\\0101", "\\$", "${A:-${B}}",
]  # fmt: skip


def random_env(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(["A", "B", "KEY", "export A", "  B", "C D", "E"])
        value = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
        lines.append(key + rng.choice(["=", " = ", "=", ":"]) + value)
    return "\n".join(lines) + rng.choice(["", "\n"])


def test_the_tool_reads_random_lines_as_compose_does():
    """60 files of random pieces of the syntax (seeded: the same every run)."""
    environment = json.loads(FIXTURE.read_text())["environment"]
    rng = random.Random(19)
    cases = [{"text": random_env(rng)} for _ in range(60)]
    from_compose = answers(cases, environment)
    differing = []
    for case, now in zip(cases, from_compose, strict=True):
        tool = tool_reads(case["text"], environment)
        if tool is not None:  # compose can only be asked for names it can interpolate
            tool = {k: v for k, v in tool.items() if re.fullmatch(r"[A-Za-z_]\w*", k, re.A)}
        if tool != now:
            differing.append((case["text"], now, tool))
    assert not differing, differing
    assert 10 <= sum(answer is None for answer in from_compose) <= 50


HOSTILE = [
    "",
    "plain",
    "two words",
    " leading and trailing ",
    "a # not a comment",
    "#hash first",
    "ends with a hash #",
    "$FROM_SHELL ${FROM_SHELL} $$ $",
    "${NOT_SET:-x}",
    "it's",
    'say "hi"',
    "back\\slash\\",
    "\\n is not a line break",
    "new\nline\n\nand blank",
    "carriage\r\nreturn",
    "tab\there",
    "'single'",
    '"double"',
    "\\0101",
    "Café Crème ß 漢字 🎉",
    "postgres://user:p@ss#w0rd@db:5432/app?x=1&y=2",
    "=starts with equals",
    "a" * 300,
]


def test_values_the_tool_writes_compose_reads_back_unchanged(tmp_path):
    """What `./stack env`, `install --app` and `restore --env` write (dotenv.assignment,
    dotenv.with_values, dotenv.sync) compose reads as the values the tool meant."""
    values = {f"VALUE_{i}": value for i, value in enumerate(HOSTILE)}
    written = "".join(dotenv.assignment(k, v) + "\n" for k, v in values.items())
    assert compose_reads(written, tmp_path) == values
    assert dotenv.parse(written, {}.get) == values

    # restore --env: the backup's secrets into the present .env
    app = tmp_path / "app"
    app.mkdir()
    before = "export A=1 # one\nB=\"two\nlines\"\n# comment\nC = 'x'\nA=again\nD=4\n"
    (app / ".env").write_text(before)
    backups = tmp_path / "backups"
    backup.take_secrets(app, {"A": "$new # value", "C": "it's"}, backups)
    replaced = (app / ".env").read_text()
    assert [kept.read_text() for kept in backups.iterdir()] == [before]
    assert replaced.endswith('# comment\nC="it\'s"\nA="\\$new # value"\nD=4\n')
    expected = {"A": "$new # value", "B": "two\nlines", "C": "it's", "D": "4"}
    assert compose_reads(replaced, tmp_path) == dotenv.read(app / ".env") == expected


def test_an_env_the_tool_creates_or_completes_reads_the_same_in_compose(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    example = (
        '# Site\nexport DOMAIN=localhost # the host\nGREETING="hello\n  world"\n\n'
        "DJANGO_SECRET_KEY=\nPOSTGRES_PASSWORD=''\nEMAIL_HOST_PASSWORD=\nSENTRY_DSN=\n"
        "DATA_ROOT = '/srv/data root'\n"
    )
    (app / ".env.example").write_text(example)
    for start in (None, example, "DOMAIN = shop.example.com\nPOSTGRES_PASSWORD=\n"):
        if start is not None:
            (app / ".env").write_text(start)
        dotenv.sync(app)
        text = (app / ".env").read_text()
        values = dotenv.read(app / ".env")
        assert compose_reads(text, tmp_path) == values
        assert len(values["DJANGO_SECRET_KEY"]) == 64 and len(values["POSTGRES_PASSWORD"]) == 32
        assert values["EMAIL_HOST_PASSWORD"] == values["SENTRY_DSN"] == ""
        assert values["GREETING"] == "hello\n  world"
        assert [s.key for s in dotenv.statements(text)].count("DOMAIN") == 1
        (app / ".env").unlink()


def regenerate() -> None:
    fixture = json.loads(FIXTURE.read_text())
    fixture["version"] = compose_version()
    found = answers(fixture["cases"], fixture["environment"])
    for case, now in zip(fixture["cases"], found, strict=True):
        case["compose"] = now
    FIXTURE.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {FIXTURE} ({fixture['version']})")


if __name__ == "__main__":
    regenerate()
