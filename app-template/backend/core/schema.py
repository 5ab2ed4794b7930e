"""The API's OpenAPI schema with the sign-in API in it: drf-spectacular describes the app's
views, django-allauth describes its headless API (for this site's settings: the browser
client, under /api/auth/, the sign-up fields in use). One schema, so /api/docs/ shows both and
the frontend's client (make api-client) is generated for both."""

import json
import re
from collections.abc import Iterator
from typing import Any

from allauth.headless.spec.internal.schema import get_schema

# allauth's component names (Session, User, ...) would clash with the app's: they get this
# in front.
PREFIX = "Auth"
REF = "#/components/"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def with_auth_api(
    result: dict[str, Any], generator: object, request: object, public: bool
) -> dict[str, Any]:
    """drf-spectacular's postprocessing hook: `result` (the app's schema) with allauth's paths
    and the components they use."""
    auth = get_schema()
    for path, item in auth["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            # The browser client signs in with the session cookie, as the app's API does; the
            # app client's token (SessionToken) is not in use here.
            operation.pop("security", None)
            # Names for the client's functions: /api/auth/browser/v1/auth/login's POST is
            # auth_login_post (authLoginPost in TypeScript).
            words = re.sub(r"[{}]", "", path.split("/v1/", 1)[1]).split("/")
            words = words[1:] if words[0] == "auth" else words
            operation.setdefault("operationId", "_".join(["auth", *words, method]))
    components = {
        kind: {PREFIX + name: value for name, value in items.items()}
        for kind, items in auth["components"].items()
        if kind != "securitySchemes"
    }
    text = json.dumps({"paths": auth["paths"], "components": components})
    for kind, items in auth["components"].items():
        for name in items:
            text = text.replace(f'"{REF}{kind}/{name}"', f'"{REF}{kind}/{PREFIX}{name}"')
    merged = json.loads(text)

    result["paths"].update(merged["paths"])
    used = referenced(merged["paths"], merged["components"])
    for kind, items in merged["components"].items():
        kept = {name: value for name, value in items.items() if (kind, name) in used}
        if kept:
            result.setdefault("components", {}).setdefault(kind, {}).update(kept)
    names = {tag["name"] for tag in result.get("tags", [])}
    result["tags"] = [
        *result.get("tags", []),
        *(tag for tag in auth.get("tags", []) if tag["name"] not in names),
    ]
    return result


def referenced(paths: dict[str, Any], components: dict[str, Any]) -> set[tuple[str, str]]:
    """The (kind, name) of every component `paths` use, directly or through other components."""
    used: set[tuple[str, str]] = set()
    todo: list[Any] = [paths]
    while todo:
        for ref in refs(todo.pop()):
            kind, name = ref[len(REF) :].split("/", 1)
            if (kind, name) not in used:
                used.add((kind, name))
                todo.append(components[kind][name])
    return used


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith(REF):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)
