"""The local AWS stand-in keeps the guarantee real DynamoDB gives: each request is applied atomically."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from werkzeug.serving import make_server

from tools.local_aws import OneRequestAtATime


class Overlap:
    """A WSGI app that takes a while per request and remembers how many it served at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self._count = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._count:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.05)  # moto parses a condition between reading an item and writing it
        with self._count:
            self.in_flight -= 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def most_at_once(wrap: Callable[[Overlap], Any]) -> int:
    app = Overlap()
    server = make_server("127.0.0.1", 0, wrap(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: urllib.request.urlopen(url, timeout=10).read(), range(6)))
    finally:
        server.shutdown()
        thread.join()
    assert answers == [b"ok"] * 6
    return app.most


@pytest.mark.parametrize(("wrap", "serial"), [(OneRequestAtATime, True), (lambda app: app, False)])
def test_requests_are_served_one_at_a_time_only_through_the_wrapper(wrap: Any, serial: bool) -> None:
    assert (most_at_once(wrap) == 1) is serial
