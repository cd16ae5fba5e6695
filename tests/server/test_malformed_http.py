"""Requests that are not valid HTTP/1.1 get the documented error body from a real daemon."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.server.conftest import Daemon

REQUEST = b"GET /health/live HTTP/1.1\r\nHost: x\r\n"


def exchange(daemon: Daemon, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send raw bytes; return the status line, headers and body of the answer."""
    address = urlsplit(daemon.url)
    assert address.hostname is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as client:
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", "400", "bad_request"),
        (
            b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
            "400",
            "bad_request",
        ),
        (
            b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            "431",
            "headers_too_large",
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", "400", "bad_request"),
    ],
    ids=["request-line", "content-length", "huge-header", "header-line"],
)
def test_malformed_requests_get_the_error_body(
    shared_daemon: Daemon, request_bytes: bytes, status: str, code: str
) -> None:
    line, headers, body = exchange(shared_daemon, request_bytes)
    assert line.split()[1] == status
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["problems"][0]["path"] == "request"


def test_the_daemon_still_serves_after_them(shared_daemon: Daemon) -> None:
    line, _, body = exchange(
        shared_daemon, b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert line.split()[1] == "200", body
