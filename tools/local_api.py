"""A local stand-in for API Gateway: an HTTP server on 127.0.0.1 that hands each POST to a Lambda
handler as an HTTP API (2.0) event and answers with its response. The emulator's recording callbacks
reach `handler.webhook` through it, over real HTTP, in the tests and `make demo`. Not deployed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.lambda_events import FakeContext, http_event

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


# What API Gateway answers when Lambda's reserved concurrency throttles a request (the bench's burst).
THROTTLED: dict[str, Any] = {
    "statusCode": 429,
    "headers": {"Content-Type": "application/json"},
    "body": '{"message":"Too Many Requests"}',
}


@contextmanager
def local_api(handler: LambdaHandler) -> Iterator[str]:
    """Serve `handler` on a free loopback port; yields the base URL (`http://127.0.0.1:PORT`)."""

    class Gateway(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # no access log

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            headers = {name: value for name, value in self.headers.items()}
            answer = handler(http_event(self.path, raw, headers), FakeContext())
            body = str(answer.get("body") or "").encode()
            self.send_response(int(answer.get("statusCode", 502)))
            for name, value in (answer.get("headers") or {}).items():
                self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = _Server(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of connections waits to be accepted instead of being reset
    daemon_threads = True
