"""Transient faults injected on the wire, so the function's retries are proven against the failures a
real network and a real API produce, without touching the emulator or the function's code.

`FaultProxy` sits between the function and the Tencent emulator (point `LIVE_ENDPOINT` at it) and, per
request, forwards it or fails it in one of the ways listed in `FAULT_KINDS`. `PublishFaults` makes the
AWS SDK's own SNS `Publish` call fail, through botocore's documented `before-call` event. Both count
what they injected, by kind.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

# What a failing request meets. Each is transient for the function: it must retry and never create twice.
FAULT_KINDS = (
    "http_502",  # a gateway in front of the API answers 502 with an HTML page
    "http_503",
    "InternalError",  # the API's own transient error codes, as a JSON error response
    "RequestLimitExceeded",
    "LimitExceeded.MaximumRunningTask",
    "timeout",  # no answer before the client's timeout; the request is never carried out
    "drop_before",  # the connection is closed before the request reaches the API
    "drop_after",  # the API carries the request out, then the answer is lost
)
_Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body
PUBLISH_FAULT_KINDS = ("EndpointConnectionError", "ReadTimeoutError", "InternalError", "Throttling")


@dataclass
class FaultCounter:
    """Thread-safe counts by kind."""

    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())


class FaultChooser:
    """Draws each request's fate: `None` (forward normally) or one of `kinds`, with probability `rate`.

    `script` fates, when given, come first and in order (a test that wants "the first call times out").
    """

    def __init__(
        self, rate: float, kinds: tuple[str, ...], seed: int | None = None, script: list[str | None] | None = None
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"a fault rate is a probability, got {rate}")
        self.rate = rate
        self._kinds = kinds
        self._script = list(script or [])
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.counter = FaultCounter()
        self.decisions = 0

    def draw(self) -> str | None:
        with self._lock:
            self.decisions += 1
            if self._script:
                kind = self._script.pop(0)
            elif self._random.random() >= self.rate:
                return None
            else:
                kind = self._random.choice(self._kinds)
        if kind is not None:
            self.counter.add(kind)
        return kind


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 in front of `upstream` that fails a share of API requests.

    Only API requests (those naming an `X-TC-Action`) are subject to faults; anything else is forwarded.
    `timeout_seconds` is how long a `timeout` fault keeps the client waiting: set it past the client's
    own timeout (`LIVE_TIMEOUT_SECONDS`).
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float,
        seed: int | None = None,
        script: list[str | None] | None = None,
        timeout_seconds: float = 1.5,
    ) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.chooser = FaultChooser(rate, FAULT_KINDS, seed, script)
        self.timeout_seconds = timeout_seconds
        self.forwarded = FaultCounter()
        self._server = _ProxyServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def injected(self) -> dict[str, int]:
        return self.chooser.counter.snapshot()

    def set_rate(self, rate: float) -> None:
        self.chooser.rate = rate

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a `timeout` fault closes its end: expected here


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._relay(b"")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = proxy.chooser.draw() if self.headers.get("X-TC-Action") else None
            if fault is None:
                self._relay(body)
            elif fault == "drop_before":
                self._drop()
            elif fault == "drop_after":
                self._forward(body)
                self._drop()
            elif fault == "timeout":
                time.sleep(proxy.timeout_seconds)
                self._drop()
            elif fault in ("http_502", "http_503"):
                page = f"<html><body><h1>{fault[-3:]} Bad Gateway</h1></body></html>".encode()
                self._send(int(fault[-3:]), [("Content-Type", "text/html")], page)
            else:
                error = {"Code": fault, "Message": f"injected by the fault proxy ({fault})"}
                answer = {"Response": {"Error": error, "RequestId": str(uuid.uuid4())}}
                self._send(200, [("Content-Type", "application/json")], json.dumps(answer).encode())

        def _forward(self, body: bytes) -> _Answer:
            headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
            proxy.forwarded.add(self.headers.get("X-TC-Action") or self.path)
            return proxy.forward(self.command, self.path, headers, body)

        def _relay(self, body: bytes) -> None:
            status, headers, payload = self._forward(body)
            kept = [(k, v) for k, v in headers if k.lower() in ("content-type",)]
            self._send(status, kept, payload)

        def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


class PublishFaults:
    """Makes a share of SNS `Publish` calls fail in the AWS SDK itself, before anything is sent.

    Registered on boto3's default session, so only clients built after `installed()` is entered carry
    it (botocore copies a session's handlers into each client it builds): enter it before the handler
    module builds its clients.
    """

    EVENT = "before-call.sns.Publish"

    def __init__(
        self, rate: float, seed: int | None = None, script: list[str | None] | None = None, delay_seconds: float = 0.0
    ) -> None:
        self.chooser = FaultChooser(rate, PUBLISH_FAULT_KINDS, seed, script)
        self.delay_seconds = delay_seconds  # every publish is this slow (to widen a race a test shows)

    @property
    def injected(self) -> dict[str, int]:
        return self.chooser.counter.snapshot()

    def __call__(self, **kwargs: Any) -> None:
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        fault = self.chooser.draw()
        if fault is None:
            return
        if fault == "EndpointConnectionError":
            raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com/")
        if fault == "ReadTimeoutError":
            raise ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com/")
        error = {"Error": {"Code": fault, "Message": "injected by PublishFaults"}, "ResponseMetadata": {}}
        raise ClientError(error, "Publish")  # type: ignore[arg-type]

    @contextlib.contextmanager
    def installed(self) -> Iterator[PublishFaults]:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        unique_id = f"publish-faults-{id(self)}"
        session.events.register(self.EVENT, self, unique_id=unique_id)
        try:
            yield self
        finally:
            session.events.unregister(self.EVENT, unique_id=unique_id)
