"""The emulator over HTTP: the API on `POST /` (every answer HTTP 200 with `{"Response": ...}`, as the SDK
expects), and the knobs and ledgers under `/_emulator/` for tests in other processes (`__main__.py` lists
them). A dropped connection, a late answer and the automatic recording callbacks happen here.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.emulator.protocol import ApiError
from tools.emulator.state import LiveState
from tools.emulator.streams import Span, Stream, missed_recordings, timeline

Control = Callable[[LiveState, dict[str, Any]], dict[str, Any]]


def _streams(found: dict[Stream, list[Span]]) -> list[dict[str, Any]]:
    return [{**stream.to_dict(), "Spans": [span.to_dict() for span in spans]} for stream, spans in found.items()]


READS: dict[str, Callable[[LiveState], Any]] = {
    "tasks": lambda state: state.tasks(),
    "calls": lambda state: [{"Action": action, "Params": params} for action, params in state.calls()],
    "callbacks": lambda state: [sent.to_dict() for sent in state.callbacks.sent],
    "timeline": lambda state: _streams(timeline(state.tasks())),
    "missed": lambda state: _streams(missed_recordings(state.tasks())),
}


def _clock(state: LiveState, data: dict[str, Any]) -> dict[str, Any]:
    now = data.get("now")
    state.set_clock(None if now is None else float(now))
    if state.callbacks.automatic:  # time moved on: recordings that ended are reported
        return {"sent": [sent.to_dict() for sent in state.callbacks.finish()]}
    return {}


def _callbacks(state: LiveState, data: dict[str, Any]) -> dict[str, Any]:
    state.callbacks.configure(data.get("url"), str(data.get("key", "")), automatic=bool(data.get("automatic")))
    return {}


def _send(state: LiveState, data: dict[str, Any]) -> dict[str, Any]:
    statuses = tuple(data.get("statuses", ("start", "end")))
    sent = state.callbacks.send(str(data["taskId"]), files=int(data.get("files", 1)), statuses=statuses)
    return {"sent": [item.to_dict() for item in sent]}


def _inject(state: LiveState, data: dict[str, Any]) -> dict[str, Any]:
    state.inject(str(data["action"]), str(data["code"]), int(data.get("times", 1)), int(data.get("after", 0)))
    return {}


def _drop(state: LiveState, data: dict[str, Any]) -> dict[str, Any]:
    state.drop_connections(str(data["action"]), int(data.get("times", 1)), processed=bool(data.get("processed")))
    return {}


def _set(action: Callable[[LiveState, dict[str, Any]], object]) -> Control:
    def control(state: LiveState, data: dict[str, Any]) -> dict[str, Any]:
        action(state, data)
        return {}

    return control


CONTROLS: dict[str, Control] = {
    "clock": _clock,
    "callbacks": _callbacks,
    "callbacks/send": _send,
    "finish": lambda state, data: {"sent": [item.to_dict() for item in state.callbacks.finish()]},
    "inject": _inject,
    "drop": _drop,
    "latency": _set(lambda state, data: setattr(state, "latency", float(data.get("seconds", 0)))),
    "hold": _set(lambda state, data: state.hold_answers()),
    "release": _set(lambda state, data: state.release_answers()),
    "throttle": _set(lambda state, data: state.hold_rate_limit(float(data["seconds"]))),
    "page-size": _set(lambda state, data: setattr(state.record_tasks, "page_size", max(1, int(data["size"])))),
    "revoke": _set(lambda state, data: state.keys.revoke(str(data.get("code", "AuthFailure.SecretIdNotFound")))),
    "restore": _set(lambda state, data: state.keys.restore()),
    "reset": _set(lambda state, data: state.reset()),
}


def make_handler(state: LiveState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests and the demo print what matters

        def do_GET(self) -> None:
            read = READS.get(self.path.removeprefix("/_emulator/")) if self.path.startswith("/_emulator/") else None
            if read is None:
                self._json(404, {"error": f"no such path {self.path}"})
            else:
                self._json(200, read(state))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/_emulator/"):
                self._control(self.path.removeprefix("/_emulator/"), body)
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                received = json.loads(body or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                received = {}
            drop_after = state.record(headers.get("x-tc-action", ""), received if isinstance(received, dict) else {})
            if drop_after is False:
                self._drop()
                return
            request_id = str(uuid.uuid4())
            try:
                response = {**state.answer(self.command, self.path, headers, body), "RequestId": request_id}
            except ApiError as exc:
                response = {"Error": {"Code": exc.code, "Message": exc.message}, "RequestId": request_id}
            except Exception as exc:  # an emulator bug: answer as the API would, and show it
                traceback.print_exc(file=sys.stderr)
                response = {"Error": {"Code": "InternalError", "Message": repr(exc)}, "RequestId": request_id}
            if drop_after:
                self._drop()
                return
            state.wait_for_release()  # the work is done; the answer waits while answers are held
            if state.latency > 0:
                state.sleep(state.latency)  # and comes late
            self._json(200, {"Response": response})
            state.callbacks.after_request()  # the caller has its answer: recordings that ended are reported

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _control(self, command: str, body: bytes) -> None:
            control = CONTROLS.get(command)
            if control is None:
                self._json(404, {"error": f"unknown control {command!r}"})
                return
            try:
                data = json.loads(body or b"{}")
                answer = {"ok": True, **control(state, data)}
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self._json(400, {"error": f"bad control request: {exc!r}"})
                return
            self._json(200, answer)

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")  # exactly: the SDK parses errors only then
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a thread pool connecting at once must not meet resets the real API never sends

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that gave up (timeout) before a late answer: expected here
        super().handle_error(request, client_address)
