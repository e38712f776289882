"""A local stand-in for the Tencent Cloud Live record-task API (service `live`, version 2018-08-01).

It speaks the wire format the official SDK uses (JSON POST to `/`, `X-TC-*` headers, every answer HTTP
200 with `{"Response": ...}`), verifies each TC3-HMAC-SHA256 signature against its key pair, applies the
documented rules of the four record-task actions server-side (so a validation bug in the client shows
up as an API error, not as a task the real API would refuse), limits CreateRecordTask to 20 calls per
rolling second, keeps a task ledger tests can read, and can be told to answer late, answer with an error
code or drop connections. Not deployed.

Error codes are the documented ones: the common codes (AuthFailure.*, MissingParameter, UnknownParameter,
InvalidAction, NoSuchVersion, UnsupportedRegion, RequestLimitExceeded) and, per action, those the SDK
lists for it (CreateRecordTask: InvalidParameter for every rule it breaks; ResourceNotFound.TaskId for an
unknown task). Where the documentation is silent the choice is written down where it is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.emulator.callbacks import RecordingCallbacks, SentCallback

REGIONS = frozenset(
    {
        "ap-bangkok",
        "ap-guangzhou",
        "ap-hongkong",
        "ap-jakarta",
        "ap-mumbai",
        "ap-seoul",
        "ap-singapore",
        "ap-tokyo",
        "eu-frankfurt",
        "na-ashburn",
        "na-siliconvalley",
        "na-toronto",
        "sa-saopaulo",
    }
)
VERSION = "2018-08-01"
SERVICE = "live"
DAY = 86400
MAX_TASK_SECONDS = DAY
MAX_START_AHEAD = 6 * DAY
MAX_QUERY_SPAN = 7 * DAY
QUERY_HISTORY = 90 * DAY
SIGNATURE_WINDOW = 300
CREATE_LIMIT_PER_SECOND = 20
DEFAULT_PAGE_SIZE = 10

# Task states in the ledger. "deleted_running": DeleteRecordTask while the window was open. The docs say
# deleting "does not affect running tasks", so that recording goes on to its EndTime; it only disappears
# from DescribeRecordTask and can no longer be stopped.
CREATED, STOPPED, DELETED, DELETED_RUNNING = "created", "stopped", "deleted", "deleted_running"
GONE = frozenset({DELETED, DELETED_RUNNING})

ACTION_PARAMS = {
    "CreateRecordTask": {
        "StreamName",
        "DomainName",
        "AppName",
        "EndTime",
        "StartTime",
        "StreamType",
        "TemplateId",
        "Extension",
    },
    "DeleteRecordTask": {"TaskId"},
    "StopRecordTask": {"TaskId"},
    "DescribeRecordTask": {"StartTime", "EndTime", "StreamName", "DomainName", "AppName", "ScrollToken"},
}


class ApiError(Exception):
    """An answer `{"Response": {"Error": {"Code", "Message"}}}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LiveState:
    """Everything the emulator remembers; every method is safe to call from any thread."""

    def __init__(self, secret_id: str, secret_key: str, now: Callable[[], float] | None) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self._now = now
        self._lock = threading.Lock()
        self._clock: float | None = None
        self._tasks: dict[str, dict[str, Any]] = {}
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._faults: dict[str, deque[str | None]] = {}
        self._drops: dict[str, deque[bool]] = {}
        self._recent_creates: deque[float] = deque()
        self._scrolls: dict[str, tuple[tuple[Any, ...], int]] = {}
        self.latency = 0.0
        self.page_size = DEFAULT_PAGE_SIZE
        self.callbacks = RecordingCallbacks(self.tasks, self.now)

    # -- knobs ----------------------------------------------------------------------------------------

    def now(self) -> float:
        """The time the API rules use: a set clock, else the `now` given at start, else real time."""
        if self._clock is not None:
            return self._clock
        return self._now() if self._now is not None else time.time()

    def set_clock(self, epoch: float | None) -> None:
        self._clock = epoch

    def inject(self, action: str, code: str, times: int = 1, after: int = 0) -> None:
        """After `after` calls of `action` answered normally, the next `times` answer `code` (replacing
        what was pending; `times=0` clears)."""
        with self._lock:
            self._faults[action] = deque([None] * after + [code] * times) if times else deque()

    def drop_connections(self, action: str, times: int = 1, *, processed: bool = False) -> None:
        """The next `times` calls of `action` get no answer: the socket is closed, after carrying the
        request out when `processed` (an answer lost on the way back) or before (lost on the way in)."""
        with self._lock:
            self._drops[action] = deque([processed] * times)

    def hold_rate_limit(self, seconds: float) -> None:
        """Fill the CreateRecordTask window so that every create is refused for the next `seconds`, as if
        a burst from elsewhere had spent the limit: throttling a test can count on, however slow the host."""
        with self._lock:
            until = time.monotonic() + seconds - 1.0  # an entry frees its slot one second after it was taken
            self._recent_creates = deque(sorted([*self._recent_creates, *[until] * CREATE_LIMIT_PER_SECOND]))

    def reset(self) -> None:
        with self._lock:
            self._tasks.clear()
            self._calls.clear()
            self._faults.clear()
            self._drops.clear()
            self._recent_creates.clear()
            self._scrolls.clear()
            self._clock = None
            self.latency = 0.0
            self.page_size = DEFAULT_PAGE_SIZE
        self.callbacks.reset()  # outside the lock: the callbacks take theirs, then read tasks under this one

    def tasks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(task) for task in self._tasks.values()]

    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return [(action, dict(params)) for action, params in self._calls]

    def record(self, action: str, params: dict[str, Any]) -> bool | None:
        """Log a received call; None, or whether its drop happens after processing."""
        with self._lock:
            self._calls.append((action, dict(params)))
            pending = self._drops.get(action)
            return pending.popleft() if pending else None

    # -- the request ----------------------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """The `Response` object for one API request, as the real service would build it."""
        self.verify(method, path, headers, body)
        if headers.get("x-tc-version") != VERSION:
            raise ApiError("NoSuchVersion", f"the API version {headers.get('x-tc-version')!r} does not exist")
        action = headers.get("x-tc-action", "")
        if action not in ACTION_PARAMS:
            raise ApiError("InvalidAction", f"the action {action!r} does not exist")
        region = headers.get("x-tc-region", "")
        if not region:
            raise ApiError("MissingParameter", "the parameter `Region` is missing")
        if region not in REGIONS:
            raise ApiError("UnsupportedRegion", f"{action} does not support the region {region!r}")
        with self._lock:
            pending = self._faults.get(action)
            injected = pending.popleft() if pending else None
        if injected is not None:
            raise ApiError(injected, f"injected by the emulator for {action}")
        params = _params(body)
        unknown = sorted(set(params) - ACTION_PARAMS[action])
        if unknown:
            raise ApiError("UnknownParameter", f"the parameter `{unknown[0]}` is not recognized by {action}")
        handler: Callable[[str, dict[str, Any]], dict[str, Any]] = getattr(self, f"_{action}")
        return handler(region, params)

    def verify(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        """TC3-HMAC-SHA256 from the published algorithm, recomputed from the request as received."""
        authorization = headers.get("authorization", "")
        algorithm, _, rest = authorization.partition(" ")
        try:
            if algorithm != "TC3-HMAC-SHA256":
                raise ValueError(algorithm)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            secret_id, date, service, terminal = fields["Credential"].split("/")
            signed_headers = fields["SignedHeaders"]
            signature = fields["Signature"]
            timestamp = int(headers["x-tc-timestamp"])
        except (KeyError, ValueError):
            raise ApiError("AuthFailure.InvalidAuthorization", "the Authorization header is invalid") from None
        names = signed_headers.split(";")
        if "content-type" not in names or "host" not in names:
            raise ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host")
        if secret_id != self.secret_id:
            raise ApiError("AuthFailure.SecretIdNotFound", "the SecretId is not found")
        if abs(time.time() - timestamp) > SIGNATURE_WINDOW:
            raise ApiError("AuthFailure.SignatureExpire", "the request timestamp is more than 5 minutes off")
        scope_date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
        if (date, service, terminal) != (scope_date, SERVICE, "tc3_request"):
            raise ApiError("AuthFailure.SignatureFailure", "the credential scope does not match the request")
        uri, _, query = path.partition("?")
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in names)
        unsigned = headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD"
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD" if unsigned else body).hexdigest()
        canonical_request = "\n".join([method, uri, query, canonical_headers, signed_headers, payload_hash])
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/{service}/tc3_request",
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key = _hmac(("TC3" + self.secret_key).encode(), date)
        key = _hmac(_hmac(key, service), "tc3_request")
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError("AuthFailure.SignatureFailure", "the request signature does not match")

    # -- the four actions -----------------------------------------------------------------------------

    def _CreateRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        self._throttle()
        now = self.now()
        names = {name: _text(p, name) for name in ("StreamName", "DomainName", "AppName")}
        end = _required_integer(p, "EndTime")
        start = _integer(p, "StartTime")
        start = int(now) if start is None else start
        stream_type = _integer(p, "StreamType")
        template_id = _integer(p, "TemplateId")
        extension = p.get("Extension", "")
        if not isinstance(extension, str):
            raise ApiError("InvalidParameter", "Extension must be a string")
        if end <= start:
            raise ApiError("InvalidParameter", "EndTime must be later than StartTime")
        if end <= now:
            raise ApiError("InvalidParameter", "EndTime must be later than the current time")
        if end - start > MAX_TASK_SECONDS:
            raise ApiError("InvalidParameter", "EndTime - StartTime must not exceed 24 hours")
        if start > now + MAX_START_AHEAD:
            raise ApiError("InvalidParameter", "StartTime must not be more than 6 days after the current time")
        if stream_type is not None and stream_type not in (0, 1):
            raise ApiError("InvalidParameter", "StreamType must be 0 (live push) or 1 (mixed stream)")
        if template_id is not None and template_id < 0:
            raise ApiError("InvalidParameter", "TemplateId must be a non-negative integer")
        task_id = "RT" + uuid.uuid4().hex.upper()
        with self._lock:
            self._tasks[task_id] = {
                "TaskId": task_id,
                "Region": region,
                **names,
                "StartTime": start,
                "EndTime": end,
                "StreamType": 0 if stream_type is None else stream_type,
                "TemplateId": template_id,
                "Extension": extension,
                "Status": CREATED,
                "Stopped": 0,
                "Deleted": 0,
                "CreatedAt": int(now),
            }
        return {"TaskId": task_id}

    def _DeleteRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        with self._lock:
            task = self._task(region, p)
            running = task["Status"] == CREATED and task["StartTime"] <= now < task["EndTime"]
            task["Status"] = DELETED_RUNNING if running else DELETED
            task["Deleted"] = int(now)  # a task deleted after its window recorded it all
        return {}

    def _StopRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        with self._lock:
            task = self._task(region, p)
            if task["Status"] == STOPPED:
                return {}  # the docs are silent on a second stop; it is taken as done already
            if now < task["StartTime"]:
                raise ApiError("UnsupportedOperation", "the task has not started: delete it instead")
            if now >= task["EndTime"]:
                raise ApiError("UnsupportedOperation", "the task has already ended")
            task["Status"] = STOPPED
            task["Stopped"] = int(now)
        return {}

    def _DescribeRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        start = _required_integer(p, "StartTime")
        end = _required_integer(p, "EndTime")
        if end <= start:
            raise ApiError("InvalidParameter", "EndTime must be later than StartTime")
        if end - start > MAX_QUERY_SPAN:
            raise ApiError("InvalidParameter", "the query span must not exceed one week")
        if start < now - QUERY_HISTORY:
            raise ApiError("InvalidParameter", "StartTime must not be more than 90 days ago")
        filters = {name: _text(p, name) for name in ("StreamName", "DomainName", "AppName") if name in p}
        query = (region, start, end, tuple(sorted(filters.items())))
        with self._lock:
            offset = 0
            token = p.get("ScrollToken")
            if token:
                known = self._scrolls.pop(str(token), None)
                if known is None or known[0] != query:
                    raise ApiError("InvalidParameter", "ScrollToken is not valid for this query")
                offset = known[1]
            found = sorted(
                (
                    t
                    for t in self._tasks.values()
                    if t["Region"] == region
                    and t["Status"] not in GONE
                    and start <= t["StartTime"]
                    and t["EndTime"] <= end
                    and all(t[name] == value for name, value in filters.items())
                ),
                key=lambda t: (t["StartTime"], t["TaskId"]),
            )
            page = found[offset : offset + self.page_size]
            next_token = ""
            if offset + self.page_size < len(found):
                next_token = uuid.uuid4().hex
                self._scrolls[next_token] = (query, offset + self.page_size)
        task_list = [
            {
                "TaskId": t["TaskId"],
                "DomainName": t["DomainName"],
                "AppName": t["AppName"],
                "StreamName": t["StreamName"],
                "StartTime": t["StartTime"],
                "EndTime": t["EndTime"],
                "TemplateId": t["TemplateId"] or 0,
                "Stopped": t["Stopped"],
            }
            for t in page
        ]
        return {"TaskList": task_list, "ScrollToken": next_token}

    # -- helpers --------------------------------------------------------------------------------------

    def _task(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        """The live task named by TaskId in this region (caller holds the lock)."""
        task_id = _text(p, "TaskId")
        task = self._tasks.get(task_id)
        if task is None or task["Region"] != region or task["Status"] in GONE:
            raise ApiError("ResourceNotFound.TaskId", f"the task {task_id} does not exist")
        return task

    def _throttle(self) -> None:
        """20 CreateRecordTask calls per rolling second (real time, whatever the rules' clock says)."""
        with self._lock:
            now = time.monotonic()
            while self._recent_creates and self._recent_creates[0] <= now - 1.0:
                self._recent_creates.popleft()
            if len(self._recent_creates) >= CREATE_LIMIT_PER_SECOND:
                raise ApiError("RequestLimitExceeded", "CreateRecordTask allows 20 requests per second")
            self._recent_creates.append(now)


def _params(body: bytes) -> dict[str, Any]:
    try:
        params = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError("InvalidParameter", "the request body is not JSON") from None
    if not isinstance(params, dict):
        raise ApiError("InvalidParameter", "the request body must be a JSON object")
    return params


def _text(p: dict[str, Any], name: str) -> str:
    if name not in p:
        raise ApiError("MissingParameter", f"the parameter `{name}` is missing")
    value = p[name]
    if not isinstance(value, str) or not value.strip():
        raise ApiError("InvalidParameter", f"{name} must be a non-empty string")
    return value


def _required_integer(p: dict[str, Any], name: str) -> int:
    value = _integer(p, name)
    if value is None:
        raise ApiError("MissingParameter", f"the parameter `{name}` is missing")
    return value


def _integer(p: dict[str, Any], name: str) -> int | None:
    if name not in p:
        return None
    value = p[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameter", f"{name} must be an integer")
    return value


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def make_handler(state: LiveState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests and the demo print what matters

        def do_GET(self) -> None:
            if self.path == "/_emulator/tasks":
                self._json(200, state.tasks())
            elif self.path == "/_emulator/calls":
                self._json(200, [{"Action": action, "Params": params} for action, params in state.calls()])
            elif self.path == "/_emulator/callbacks":
                self._json(200, [sent.to_dict() for sent in state.callbacks.sent])
            else:
                self._json(404, {"error": f"no such path {self.path}"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/_emulator/"):
                self._control(self.path.removeprefix("/_emulator/"), body)
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            action = headers.get("x-tc-action", "")
            try:
                received = json.loads(body or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                received = {}
            drop_after = state.record(action, received if isinstance(received, dict) else {})
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
            if state.latency > 0:
                time.sleep(state.latency)  # the work is done; the answer is late
            self._json(200, {"Response": response})
            state.callbacks.after_request()  # the caller has its answer: recordings that ended are reported

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _control(self, command: str, body: bytes) -> None:
            answer: dict[str, Any] = {"ok": True}
            try:
                data = json.loads(body or b"{}")
                if command == "clock":
                    now = data.get("now")
                    state.set_clock(None if now is None else float(now))
                    if state.callbacks.automatic:  # time moved on: recordings that ended are reported
                        answer["sent"] = [sent.to_dict() for sent in state.callbacks.finish()]
                elif command == "callbacks":
                    state.callbacks.configure(
                        data.get("url"), str(data.get("key", "")), automatic=bool(data.get("automatic"))
                    )
                elif command == "callbacks/send":
                    statuses = tuple(data.get("statuses", ("start", "end")))
                    sent = state.callbacks.send(str(data["taskId"]), files=int(data.get("files", 1)), statuses=statuses)
                    answer["sent"] = [item.to_dict() for item in sent]
                elif command == "finish":
                    answer["sent"] = [item.to_dict() for item in state.callbacks.finish()]
                elif command == "inject":
                    state.inject(
                        str(data["action"]), str(data["code"]), int(data.get("times", 1)), int(data.get("after", 0))
                    )
                elif command == "latency":
                    state.latency = float(data.get("seconds", 0))
                elif command == "drop":
                    state.drop_connections(
                        str(data["action"]), int(data.get("times", 1)), processed=bool(data.get("processed"))
                    )
                elif command == "throttle":
                    state.hold_rate_limit(float(data["seconds"]))
                elif command == "page-size":
                    state.page_size = max(1, int(data["size"]))
                elif command == "reset":
                    state.reset()
                else:
                    self._json(404, {"error": f"unknown control {command!r}"})
                    return
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a thread pool connecting at once must not meet resets the real API never sends

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that gave up (timeout) before a late answer: expected here
        super().handle_error(request, client_address)


class Emulator:
    """A running emulator: its endpoint, its ledger, and the knobs tests turn."""

    def __init__(self, state: LiveState, server: ThreadingHTTPServer) -> None:
        self._state = state
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="tencent-live-emulator", daemon=True
        )
        host, port = server.server_address[:2]
        self.endpoint = f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        return self

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """Every task ever created, in creation order, with its Status."""
        return self._state.tasks()

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every API request received, as (Action, params), dropped and refused ones included."""
        return self._state.calls()

    @property
    def page_size(self) -> int:
        return self._state.page_size

    @page_size.setter
    def page_size(self, size: int) -> None:
        self._state.page_size = max(1, size)

    def set_latency(self, seconds: float) -> None:
        self._state.latency = seconds

    def inject(self, action: str, code: str, times: int = 1, after: int = 0) -> None:
        self._state.inject(action, code, times, after)

    def drop_connections(self, action: str, times: int = 1, *, processed: bool = False) -> None:
        self._state.drop_connections(action, times, processed=processed)

    def set_clock(self, epoch: float | None) -> None:
        self._state.set_clock(epoch)
        self._state.callbacks.after_request()  # automatic callbacks: recordings that ended by then

    def hold_rate_limit(self, seconds: float) -> None:
        self._state.hold_rate_limit(seconds)

    # -- recording callbacks (tools/emulator/callbacks.py) ----------------------------------------------------

    def configure_callbacks(self, url: str | None, key: str = "", *, automatic: bool = False) -> None:
        """POST recording callbacks to `url` signed with `key`; `automatic`: also for every task whose
        recording has ended, checked after each API call and clock change."""
        self._state.callbacks.configure(url, key, automatic=automatic)

    def send_recording_callbacks(
        self, task_id: str, *, files: int = 1, statuses: tuple[str, ...] = ("start", "end")
    ) -> list[SentCallback]:
        """One task's callbacks now (statuses: start, fail, pause, resume, error, end, abnormal)."""
        return self._state.callbacks.send(task_id, files=files, statuses=statuses)

    def finish_recordings(self) -> list[SentCallback]:
        """Start, a file and end for every task whose recording has ended and was not reported yet."""
        return self._state.callbacks.finish()

    def deliver_callback(self, body: dict[str, Any]) -> SentCallback:
        """POST a body again as it was (a redelivery), or sign a new one now."""
        return self._state.callbacks.deliver(body)

    @property
    def sent_callbacks(self) -> list[SentCallback]:
        return self._state.callbacks.sent

    def reset(self) -> None:
        self._state.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    *,
    secret_id: str = "AKIDEMULATOR",
    secret_key: str = "emulator-secret-key",
    host: str = "127.0.0.1",
    port: int = 0,
    now: Callable[[], float] | None = None,
) -> Emulator:
    """Start an emulator on background threads; `port=0` picks a free port."""
    state = LiveState(secret_id, secret_key, now)
    return Emulator(state, _Server((host, port), make_handler(state))).start()
