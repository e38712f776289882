"""The local AWS stand-in keeps the guarantee real DynamoDB gives: each request is applied atomically.

No timing decides the outcome: a request inside the app waits (on a condition, not a clock) until it has
company, or, behind the wrapper, until another request is known to be held back in front of it; so overlap
is seen whenever the server allows it, and waited for only where it can come, however slow the host.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from werkzeug.serving import make_server

from tools.local_aws import OneRequestAtATime

REQUESTS = 6
PATIENCE_SECONDS = 30.0  # only a broken server waits this long; a passing run never does


class Overlap:
    """A WSGI app that remembers how many requests it served at once. `arrive` wraps whatever stands in
    front of it (the wrapper under test, or nothing) and counts requests as they reach the server.
    `behind_a_wrapper`: a request also leaves once another waits in front of the app (without a wrapper,
    one that arrived and is about to enter would look the same, so there it waits for company)."""

    def __init__(self, *, behind_a_wrapper: bool) -> None:
        self.behind_a_wrapper = behind_a_wrapper
        self.arrived = 0
        self.entered = 0
        self.in_flight = 0
        self.most = 0
        self._changed = threading.Condition()

    def arrive(self, front: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self._changed:
                self.arrived += 1
                self._changed.notify_all()
            return front(environ, start_response)

        return app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._changed:
            self.entered += 1
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self._changed.notify_all()
            self._changed.wait_for(self._may_leave, timeout=PATIENCE_SECONDS)
            self.in_flight -= 1
            self._changed.notify_all()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def _may_leave(self) -> bool:
        """Another request is inside too, or one waits in front of the app, or every request came in."""
        held_in_front = self.behind_a_wrapper and self.arrived > self.entered
        return self.in_flight > 1 or held_in_front or self.entered == REQUESTS


def most_at_once(wrap: Callable[[Overlap], Any] | None) -> int:
    app = Overlap(behind_a_wrapper=wrap is not None)
    server = make_server("127.0.0.1", 0, app.arrive(app if wrap is None else wrap(app)), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with ThreadPoolExecutor(REQUESTS) as pool:
            answers = list(pool.map(lambda _: urllib.request.urlopen(url, timeout=60).read(), range(REQUESTS)))
    finally:
        server.shutdown()
        thread.join()
    assert answers == [b"ok"] * REQUESTS
    return app.most


def test_through_the_wrapper_requests_are_served_one_at_a_time() -> None:
    assert most_at_once(OneRequestAtATime) == 1


def test_without_it_they_overlap() -> None:
    assert most_at_once(None) > 1
