"""Limits through Caddy: failed sign-ins are limited per client address, as Caddy forwards
it (from two source addresses, this host and a container on the deployment's network, the
one that failed too often is locked out and the other signs in), and request bodies are
bounded before they reach Django."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from deployments import LOGIN, USER, deployment_of
from helpers import run

pytestmark = [pytest.mark.slow, pytest.mark.docker]

# From a container on the deployment's network: to Caddy by its service name, as `localhost`
# (the site's name, for TLS and Django's allowed hosts). Prints the sign-in's status and codes.
FROM_A_CONTAINER = r"""
import http.client, json, socket, ssl, sys
context = ssl._create_unverified_context()
class Caddy(http.client.HTTPSConnection):
    def connect(self):
        self.sock = context.wrap_socket(socket.create_connection(("caddy", 443), 10),
                                        server_hostname="localhost")
def call(method, path, body=None, headers={}):
    connection = Caddy("localhost")
    connection.request(method, path, body, {"Host": "localhost", **headers})
    response = connection.getresponse()
    return response, response.read()
response, _ = call("GET", "/api/session/")
token = response.headers["Set-Cookie"].split("csrftoken=", 1)[1].split(";", 1)[0]
email, password = sys.argv[1:3]
response, body = call("POST", sys.argv[3], json.dumps({"email": email, "password": password}), {
    "Content-Type": "application/json", "Cookie": f"csrftoken={token}", "X-CSRFToken": token,
    "Origin": "https://localhost"})
codes = [error["code"] for error in json.loads(body).get("errors", [])]
print(json.dumps([response.status, codes]))
"""


def sign_in_from_the_host(deployment, email: str, password: str) -> list:
    deployment.cookies = {}
    deployment.fetch("/api/session/")
    code, _, body = deployment.fetch(LOGIN, {"email": email, "password": password})
    return [code, [error["code"] for error in json.loads(body).get("errors", [])]]


@pytest.fixture(scope="module")
def deployment(template, tmp_path_factory):
    base = tmp_path_factory.mktemp("limits")
    with deployment_of(template, base, "limits", app_packages=False) as deployment:
        deployment.sign_in()  # the user, made in the backend container
        yield deployment


def upload(deployment, size: int) -> int:
    """Status of a multipart POST (a file of `size` bytes) to the API, which Django reads in
    full (file uploads are not bound by DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    boundary = "limits-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"x" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        deployment.url + "/api/notes/",
        data=body,
        headers={
            **deployment.session_headers(),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with urllib.request.urlopen(request, context=deployment.tls, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def announced(deployment, size: int) -> int:
    """Status of a POST to the API that announces a body of `size` bytes (Content-Length) and
    sends only its first 300 KB: answered only if the body's length alone decides (Go's HTTP/1.1
    server reads up to 256 KB of a body it does not use before it answers)."""
    url = urllib.parse.urlsplit(deployment.url)
    connection = http.client.HTTPSConnection(
        url.hostname, url.port, context=deployment.tls, timeout=30
    )
    try:
        connection.putrequest("POST", "/api/notes/")
        for name, value in deployment.session_headers().items():
            connection.putheader(name, value)
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        connection.send(b"x" * 300_000)
        return connection.getresponse().status
    finally:
        connection.close()


def test_request_bodies_are_bounded_by_caddy_django_and_the_api(deployment):
    # Caddy: a body over its bound (10 MB, 10**6 bytes each) is refused by its Content-Length,
    # before it is sent; one just under it reaches Django.
    assert announced(deployment, 10_000_001) == 413
    assert announced(deployment, 100_000_000) == 413
    assert upload(deployment, 9_000_000) == 400  # Django read it: no title
    # Django: a JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE (256 KB); the API: a field's bound.
    code, _, _ = deployment.fetch("/api/notes/", {"title": "big", "padding": "x" * 300_000})
    assert code == 400
    code, _, body = deployment.fetch("/api/notes/", {"title": "big", "body": "x" * 10_001})
    assert code == 400 and b"body" in body


def test_the_address_that_failed_too_often_is_locked_out_the_other_is_not(deployment):
    (caddy,) = deployment.compose("ps", "-q", "caddy").stdout.split()
    networks = json.loads(run("docker", "inspect", caddy).stdout)[0]["NetworkSettings"]
    network = next(iter(networks["Networks"]))
    backend = deployment.images()["backend"]

    def sign_in_from_a_container(email: str, password: str) -> list:
        output = run(
            "docker", "run", "--rm", "--network", network, "--entrypoint", "python",
            backend, "-c", FROM_A_CONTAINER, email, password, LOGIN,
        ).stdout  # fmt: skip
        return json.loads(output.strip().splitlines()[-1])

    email, password = USER
    for n in range(10):  # allauth's login_failed: 10 a minute per address
        failed = sign_in_from_the_host(deployment, f"nobody{n}@example.com", "wrong")
        assert failed == [400, ["email_password_mismatch"]], failed
    locked = sign_in_from_the_host(deployment, email, password)
    assert locked == [400, ["too_many_login_attempts"]], locked

    assert sign_in_from_a_container(email, password) == [200, []]
    assert sign_in_from_a_container("nobody@example.com", "wrong")[1] == ["email_password_mismatch"]
