import json
import os
import pwd
import stat
import tempfile
import unittest
from pathlib import Path

from stacktool import dotenv
from stacktool.errors import StackError

EXAMPLE = (
    "# The site\nDOMAIN=localhost\n\n# Secret\nDJANGO_SECRET_KEY=\nPOSTGRES_PASSWORD=\n"
    "# SMTP login: empty, no login\nEMAIL_HOST_PASSWORD=\n"
)
# Lines and what docker compose makes of them (null: it refuses the file), written by the
# template's tests/test_dotenv.py from compose itself.
COMPOSE = json.loads((Path(__file__).parent / "dotenv_compose.json").read_text(encoding="utf-8"))


class ReadTest(unittest.TestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="dotenv test "))
        self.env = self.folder / ".env"

    def read(self, text):
        self.env.write_text(text, encoding="utf-8")
        return dotenv.read_env(self.folder)

    def test_every_line_of_the_corpus_means_what_compose_says(self):
        environment = COMPOSE["environment"]
        for case in COMPOSE["cases"]:
            with self.subTest(case["text"]):
                if case["compose"] is None:
                    with self.assertRaises(dotenv.ParseError):
                        dotenv.parse(case["text"], environment.get)
                    continue
                values = dotenv.parse(case["text"], environment.get)
                self.assertEqual({k: v for k, v in values.items() if k in case["compose"]},
                                 case["compose"])  # fmt: skip
                self.assertEqual(set(values) - set(case["compose"]), set())

    def test_a_line_compose_cannot_read_is_an_error_naming_the_file_and_line(self):
        for case in COMPOSE["cases"]:
            if case["compose"] is None:
                with self.subTest(case["text"]), self.assertRaises(StackError) as raised:
                    self.read(case["text"])
                message = str(raised.exception)
                self.assertIn(f"'{self.env}' line {case['line']}: ", message)
                self.assertNotIn("\n", message)

    def test_a_comment_after_a_value_is_not_part_of_it(self):
        self.assertEqual(self.read("DATA_ROOT=/data   # disk\n"), {"DATA_ROOT": "/data"})

    def test_spaces_around_the_equals_sign_are_allowed(self):
        self.assertEqual(self.read("DOMAIN = shop.example.com\n"), {"DOMAIN": "shop.example.com"})

    def test_an_unbalanced_quote_is_an_error_that_shows_no_value(self):
        with self.assertRaises(StackError) as raised:
            self.read("DOMAIN=x\nPOSTGRES_PASSWORD='s3cr3t\n")
        self.assertEqual(
            str(raised.exception),
            f"'{self.env}' line 2: the ' that opens the value is never closed; docker compose "
            "cannot read it either: fix that line ('single quotes' keep a value as written)",
        )

    def test_a_file_that_is_not_utf8_is_an_error_naming_the_fix(self):
        self.env.write_bytes(b"DOMAIN=x\nNAME=Caf\xe9\n")
        with self.assertRaises(StackError) as raised:
            dotenv.read_env(self.folder)
        self.assertEqual(
            str(raised.exception),
            f"'{self.env}' line 2 is not UTF-8 text: save the file as UTF-8 "
            "(e.g. iconv -f latin1 -t utf-8), or make it again from .env.example",
        )

    def test_a_file_the_user_cannot_read_is_an_error_naming_the_fix(self):
        """As another user than the file's owner: root reads anything, nobody does not."""
        self.env.write_text("DOMAIN=x\n")
        self.env.chmod(0o600)
        self.folder.chmod(0o755)
        (self.folder / ".env.example").write_text(EXAMPLE)
        self.assertEqual(as_another_user(self.folder), 2 * [
            f"cannot read '{self.env}': permission denied (it belongs to another user, e.g. "
            f"after sudo); make it yours: sudo chown \"$(id -un)\" '{self.env}'"
        ])  # fmt: skip


def as_another_user(folder):
    """What read_env and sync of `folder` say when run as a user who does not own its .env:
    nobody if this is root, else this user with the file made unreadable."""
    if os.geteuid() != 0:
        (folder / ".env").chmod(0)
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        os.close(reading)
        said = []
        try:
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            for call in (dotenv.read_env, dotenv.sync):
                try:
                    call(folder)
                    said.append("no error")
                except StackError as error:
                    said.append(str(error))
        finally:
            os.write(writing, json.dumps(said).encode())
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        said = json.loads(pipe.read() or "[]")
    os.waitpid(child, 0)
    return said


class WriteTest(unittest.TestCase):
    def test_a_written_value_reads_back_the_same(self):
        for value in ["", "plain", "a # b", "$HOME", "it's", 'a "b"', "x\\y\n z", " pad "]:
            with self.subTest(value):
                text = dotenv.assignment("KEY", value) + "\n"
                self.assertEqual(dotenv.parse(text, {"HOME": "/root"}.get), {"KEY": value})

    def test_with_values_replaces_only_the_statements_of_those_keys(self):
        text = "# top\nexport A = 'old' # note\nB=\"two\nlines\"\nA=older\nC=3\n"
        self.assertEqual(
            dotenv.with_values(text, {"A": "new value"}),
            '# top\nA="new value" # note\nB="two\nlines"\nA="new value"\nC=3\n',
        )


class SyncTest(unittest.TestCase):
    def setUp(self):
        self.app = Path(tempfile.mkdtemp())
        (self.app / ".env.example").write_text(EXAMPLE)
        self.env = self.app / ".env"

    def mode(self):
        return stat.S_IMODE(self.env.stat().st_mode)

    def test_creates_a_private_env_with_fresh_secrets(self):
        said = dotenv.sync(self.app)
        values = dotenv.read_env(self.app)
        self.assertEqual(
            list(values),
            ["DOMAIN", "DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "EMAIL_HOST_PASSWORD"],
        )
        self.assertEqual(
            (len(values["DJANGO_SECRET_KEY"]), len(values["POSTGRES_PASSWORD"])), (64, 32)
        )
        self.assertEqual(values["EMAIL_HOST_PASSWORD"], "")
        self.assertEqual(
            said[1], "Generated random values for: DJANGO_SECRET_KEY POSTGRES_PASSWORD"
        )
        self.assertEqual(self.mode(), 0o600)
        self.assertTrue(
            self.env.read_text().startswith("# The site\nDOMAIN=localhost\n\n# Secret\n")
        )

    def test_a_copy_of_the_example_gets_its_empty_generated_secrets_filled(self):
        self.env.write_text(EXAMPLE.replace("DOMAIN=localhost", "DOMAIN = shop.example.com"))
        said = dotenv.sync(self.app)
        values = dotenv.read_env(self.app)
        self.assertEqual(
            said[0], "Generated random values for: DJANGO_SECRET_KEY POSTGRES_PASSWORD"
        )
        self.assertEqual(
            (len(values["DJANGO_SECRET_KEY"]), len(values["POSTGRES_PASSWORD"])), (64, 32)
        )
        self.assertEqual(
            (values["DOMAIN"], values["EMAIL_HOST_PASSWORD"]), ("shop.example.com", "")
        )
        self.assertEqual(self.env.read_text().count("DOMAIN"), 1)

    def test_never_changes_a_value_only_appends_missing_keys(self):
        self.env.write_text("DOMAIN=shop.example.com\nMINE=1")
        os.chmod(self.env, 0o600)
        said = dotenv.sync(self.app)
        text = self.env.read_text()
        self.assertTrue(text.startswith("DOMAIN=shop.example.com\nMINE=1\n\n# Secret\n"))
        self.assertEqual(
            said[0], f"Added to {self.env}: DJANGO_SECRET_KEY POSTGRES_PASSWORD EMAIL_HOST_PASSWORD"
        )
        self.assertEqual(dotenv.sync(self.app), [])
        self.assertEqual(self.env.read_text(), text)

    def test_a_readable_env_is_made_private_and_says_so(self):
        self.env.write_text(
            "DOMAIN=x\nDJANGO_SECRET_KEY=s\nPOSTGRES_PASSWORD=p\nEMAIL_HOST_PASSWORD=\n"
        )
        os.chmod(self.env, 0o644)
        said = dotenv.sync(self.app)
        self.assertEqual(self.mode(), 0o600)
        self.assertIn("mode 600 (it was 644)", said[-1])

    def test_an_env_compose_cannot_read_is_left_as_it_is(self):
        self.env.write_text("DOMAIN=x\nBAD KEY=1\n")
        with self.assertRaisesRegex(StackError, "line 2: a key cannot contain a space"):
            dotenv.sync(self.app)
        self.assertEqual(self.env.read_text(), "DOMAIN=x\nBAD KEY=1\n")


class SensitiveTest(unittest.TestCase):
    def test_generated_secrets_are_sensitive_and_so_are_keys_never_generated(self):
        for key in [*dotenv.GENERATED, "EMAIL_HOST_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                    "SENTRY_DSN", "GITHUB_TOKEN", "STRIPE_API_KEY", "DATABASE_URL"]:  # fmt: skip
            with self.subTest(key):
                self.assertTrue(dotenv.is_sensitive(key))
        for key in ["DOMAIN", "EMAIL_HOST_USER", "AWS_ACCESS_KEY_ID", "DATA_ROOT", "REDIS_URL"]:
            with self.subTest(key):
                self.assertFalse(dotenv.is_sensitive(key))

    def test_only_the_stacks_own_secrets_are_generated(self):
        self.assertEqual(dotenv.fresh_secret("EMAIL_HOST_PASSWORD"), "")
        self.assertEqual(dotenv.fresh_secret("SENTRY_DSN"), "")
        self.assertEqual(len(dotenv.fresh_secret("DJANGO_SECRET_KEY")), 64)


class SentryTest(unittest.TestCase):
    """The DSNs are checked whenever .env is read; the CSP's Sentry origin is derived from the
    frontend's DSN, never typed."""

    def setUp(self):
        self.app = Path(tempfile.mkdtemp(prefix="sentry test "))
        (self.app / ".env.example").write_text("SENTRY_DSN=\nVITE_SENTRY_DSN=\nCSP_CONNECT_SRC=\n")

    def test_the_origin_a_dsn_sends_to(self):
        cases = {
            "https://abc123@o42.ingest.sentry.io/7": "https://o42.ingest.sentry.io",
            "http://key@127.0.0.1:9000/1": "http://127.0.0.1:9000",
            "https://key:secret@sentry.example.com/sub/path/12": "https://sentry.example.com",
            "": "",
        }
        for dsn, origin in cases.items():
            with self.subTest(dsn):
                self.assertEqual(dotenv.dsn_origin("VITE_SENTRY_DSN", dsn), origin)

    def test_a_malformed_dsn_is_refused_naming_the_key_and_the_form(self):
        for dsn in ("sentry", "https://o42.ingest.sentry.io/7", "ftp://k@host/7",
                    "https://k@host/", "https://k@host/project", "https://k@host:port/7",
                    "https://k@/7", "https://public-key@host/7"):  # fmt: skip
            with self.subTest(dsn), self.assertRaises(StackError) as raised:
                dotenv.derived({"SENTRY_DSN": dsn})
            self.assertIn("SENTRY_DSN is not a Sentry DSN", str(raised.exception))
            self.assertIn("https://PUBLIC_KEY@HOST/PROJECT_ID", str(raised.exception))
            self.assertIn("leave it empty", str(raised.exception))

    def test_the_csp_origin_follows_the_frontends_dsn_and_nothing_else(self):
        env = self.app / ".env"
        env.write_text("DOMAIN=localhost\nSENTRY_DSN=https://k@backend.example.com/1\n")
        self.assertEqual(dotenv.keep_derived(self.app), [])  # no frontend DSN: nothing to write
        self.assertNotIn("CSP_CONNECT_SRC", env.read_text())

        env.write_text(env.read_text() + "VITE_SENTRY_DSN=https://k@o1.ingest.sentry.io/2\n")
        said = dotenv.keep_derived(self.app)
        self.assertEqual(len(said), 1)
        self.assertIn("CSP_CONNECT_SRC='self' https://o1.ingest.sentry.io", said[0])
        values = dotenv.read_env(self.app)
        self.assertEqual(values["CSP_CONNECT_SRC"], "'self' https://o1.ingest.sentry.io")
        self.assertEqual(dotenv.keep_derived(self.app), [])  # a second run changes nothing

        dsn = "https://k@sentry.example.org:8443/3"
        env.write_text(env.read_text().replace("https://k@o1.ingest.sentry.io/2", dsn))
        dotenv.keep_derived(self.app)
        values = dotenv.read_env(self.app)
        self.assertEqual(values["CSP_CONNECT_SRC"], "'self' https://sentry.example.org:8443")
        self.assertEqual(env.read_text().count("CSP_CONNECT_SRC"), 1)  # replaced, in place

        env.write_text(env.read_text().replace(f"VITE_SENTRY_DSN={dsn}", "VITE_SENTRY_DSN="))
        dotenv.keep_derived(self.app)
        self.assertEqual(dotenv.read_env(self.app)["CSP_CONNECT_SRC"], "")  # off: 'self' only

    def test_sync_writes_the_origin_and_refuses_a_malformed_dsn_before_writing(self):
        env = self.app / ".env"
        env.write_text("VITE_SENTRY_DSN=http://k@127.0.0.1:9000/1\n")
        dotenv.sync(self.app)
        values = dotenv.read_env(self.app)
        self.assertEqual(values["CSP_CONNECT_SRC"], "'self' http://127.0.0.1:9000")
        self.assertEqual(values["SENTRY_DSN"], "")
        bad = "VITE_SENTRY_DSN=127.0.0.1:9000\n"
        env.write_text(bad)
        with self.assertRaises(StackError) as raised:
            dotenv.sync(self.app)
        self.assertIn("VITE_SENTRY_DSN is not a Sentry DSN", str(raised.exception))
        self.assertEqual(env.read_text(), bad)
