"""Secrets: generated, long, private, never in git or the answers file, never rotated."""

from __future__ import annotations

from helpers import compose_reads, copier_copy, read_env, run
from stacktool import dotenv

SECRETS = tuple(dotenv.GENERATED)


def test_env_has_every_example_key_and_fresh_long_secrets(generate):
    app = generate().app
    env, example = read_env(app / ".env"), read_env(app / ".env.example")
    assert list(env) == list(example)
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
    assert len(env["POSTGRES_PASSWORD"]) >= 32
    assert all(example[key] == "" for key in SECRETS)
    assert (app / ".env").stat().st_mode & 0o777 == 0o600


def test_secrets_the_stack_does_not_own_are_never_generated(generate):
    """An SMTP password, a Sentry DSN, API keys: empty means "off", and stays empty."""
    app = generate().app
    env, example = read_env(app / ".env"), read_env(app / ".env.example")
    supplied = [k for k in example if dotenv.is_sensitive(k) and k not in dotenv.GENERATED]
    assert "EMAIL_HOST_PASSWORD" in supplied
    assert {key: env[key] for key in supplied} == {key: "" for key in supplied}


def test_a_copied_example_gets_its_empty_secrets_filled_by_install_app(pair_copy):
    """The seed's step: cp .env.example .env, edit, then install.sh --app; compose reads the
    .env it leaves as the tool does."""
    app, stack = pair_copy
    data_root = read_env(app / ".env")["DATA_ROOT"]
    example = (app / ".env.example").read_text()
    edited = example.replace("DOMAIN=localhost", "DOMAIN = shop.example.com  # ours")
    (app / ".env").write_text(edited.replace("DATA_ROOT=", f"DATA_ROOT='{data_root}' #", 1))
    result = run(stack / "install.sh", "--app", app)
    assert f"Generated random values for: {' '.join(SECRETS)}" in result.stdout
    env = read_env(app / ".env")
    assert [len(env[key]) for key in SECRETS] == list(dotenv.GENERATED.values())
    assert (env["DOMAIN"], env["DATA_ROOT"], env["EMAIL_HOST_PASSWORD"]) == (
        "shop.example.com",
        data_root,
        "",
    )
    lines = (app / ".env").read_text().splitlines()
    assert [line for line in lines if line.startswith("DOMAIN")] == [
        "DOMAIN = shop.example.com  # ours"
    ]
    compose_keys = {k: v for k, v in env.items() if not k.startswith("COMPOSE_")}
    assert compose_reads((app / ".env").read_text(), app.parent) == compose_keys


def test_secrets_differ_between_two_generations(generate, template, tmp_path):
    first = read_env(generate().app / ".env")
    copier_copy(template, tmp_path / "app", repo="app")
    second = read_env(tmp_path / "app" / ".env")
    for key in SECRETS:
        assert first[key] != second[key]


def test_secrets_are_in_no_commit_and_not_in_the_answers_file(generate):
    pair = generate()
    env = read_env(pair.app / ".env")
    for repo in (pair.app, pair.stack):
        assert ".env" not in run("git", "ls-files", cwd=repo).stdout.split()
        for key in SECRETS:
            assert env[key] not in (repo / ".copier-answers.yml").read_text()
            found = run("git", "grep", "-F", env[key], "HEAD", cwd=repo, check=False)
            assert found.returncode == 1, found.stdout


def test_existing_values_survive_and_only_missing_keys_are_appended(pair_copy):
    app, stack = pair_copy
    dotenv = app / ".env"
    original = read_env(dotenv)
    edited = [
        "DOMAIN=shop.example.com" if line.startswith("DOMAIN=") else line
        for line in dotenv.read_text().splitlines()
        if not line.startswith("POSTGRES_PORT=")
    ]
    dotenv.write_text("\n".join(edited) + "\nMY_OWN_KEY=kept\n")
    run(stack / "stack", "env", app)
    synced = read_env(dotenv)
    assert synced["DOMAIN"] == "shop.example.com"
    assert synced["MY_OWN_KEY"] == "kept"
    assert synced["POSTGRES_PORT"] == original["POSTGRES_PORT"]
    assert {k: synced[k] for k in SECRETS} == {k: original[k] for k in SECRETS}
    text = dotenv.read_text()
    run(stack / "stack", "env", app)
    assert dotenv.read_text() == text
    assert dotenv.stat().st_mode & 0o777 == 0o600


def test_a_readable_env_is_made_private_and_the_user_told(pair_copy):
    app, stack = pair_copy
    (app / ".env").chmod(0o644)
    text = (app / ".env").read_text()
    result = run(stack / "stack", "env", app)
    assert (app / ".env").stat().st_mode & 0o777 == 0o600
    assert "mode 600 (it was 644)" in result.stdout
    assert (app / ".env").read_text() == text
