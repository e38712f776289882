"""A local stand-in for the Tencent Cloud Live record-task API (`live`, version 2018-08-01).

It speaks the wire format the official SDK uses (JSON POST, `X-TC-*` headers, `{"Response": ...}`),
verifies every TC3-HMAC-SHA256 signature against its key pair, applies the documented rules of the
four record-task calls server-side (so a client-side validation bug shows up as an API error),
limits `CreateRecordTask` to 20 calls per rolling second, keeps a task ledger tests can read, and
can be told to add latency, inject error codes or drop connections. Not deployed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REGIONS = {
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
ACTIONS = ("CreateRecordTask", "DeleteRecordTask", "StopRecordTask", "DescribeRecordTask")
CREATE_LIMIT_PER_SECOND = 20
SIGNATURE_WINDOW = 300
DAY = 86400


class ApiError(Exception):
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
        self._clock_override: float | None = None
        self._lock = threading.Lock()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: dict[str, deque[str]] = {}
        self.drops: dict[str, int] = {}
        self.latency = 0.0
        self._recent_creates: deque[float] = deque()

    def now(self) -> float:
        if self._clock_override is not None:
            return self._clock_override
        return self._now() if self._now else time.time()

    def set_clock(self, epoch: float | None) -> None:
        self._clock_override = epoch

    def inject(self, action: str, code: str, times: int = 1) -> None:
        with self._lock:
            self.faults[action] = deque([code] * times)

    def drop_connections(self, action: str, times: int = 1) -> None:
        with self._lock:
            self.drops[action] = times

    def reset(self) -> None:
        with self._lock:
            self.tasks.clear()
            self.calls.clear()
            self.faults.clear()
            self.drops.clear()
            self.latency = 0.0
            self._recent_creates.clear()
            self._clock_override = None

    def take_drop(self, action: str) -> bool:
        with self._lock:
            if self.drops.get(action, 0) > 0:
                self.drops[action] -= 1
                return True
            return False

    # -- the API --------------------------------------------------------------------------------------

    def handle(self, action: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append((action, dict(params)))
            queued = self.faults.get(action)
            if queued:
                raise ApiError(queued.popleft(), f"injected failure for {action}")
        if action not in ACTIONS:
            raise ApiError("InvalidAction", f"action {action} is not supported by this emulator")
        if region not in REGIONS:
            raise ApiError("UnsupportedRegion", f"region {region!r} is not supported")
        handler = getattr(self, f"_{action}")
        return handler(region, params)  # type: ignore[no-any-return]

    def _CreateRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        self._throttle()
        for name in ("StreamName", "DomainName", "AppName"):
            if name not in p:
                raise ApiError("MissingParameter", f"{name} is required")
            if not isinstance(p[name], str) or not p[name].strip():
                raise ApiError("InvalidParameter", f"{name} must be a non-empty string")
        if "EndTime" not in p:
            raise ApiError("MissingParameter", "EndTime is required")
        end = _integer(p, "EndTime")
        start = _integer(p, "StartTime") if "StartTime" in p else int(now)
        if end <= start:
            raise ApiError("InvalidParameter", "EndTime must be later than StartTime")
        if end <= now:
            raise ApiError("InvalidParameter", "EndTime must be later than the current time")
        if end - start > DAY:
            raise ApiError("InvalidParameter", "EndTime - StartTime must not exceed 24 hours")
        if start > now + 6 * DAY:
            raise ApiError("InvalidParameter", "StartTime must not be more than 6 days after the current time")
        stream_type = _integer(p, "StreamType") if "StreamType" in p else 0
        if stream_type not in (0, 1):
            raise ApiError("InvalidParameterValue", "StreamType must be 0 or 1")
        template = _integer(p, "TemplateId") if "TemplateId" in p else 0
        if template < 0:
            raise ApiError("InvalidParameterValue", "TemplateId must be a non-negative integer")
        task_id = uuid.uuid4().hex.upper()
        with self._lock:
            self.tasks[task_id] = {
                "TaskId": task_id,
                "Region": region,
                "StreamName": p["StreamName"],
                "DomainName": p["DomainName"],
                "AppName": p["AppName"],
                "StartTime": start,
                "EndTime": end,
                "StreamType": stream_type,
                "TemplateId": template,
                "Extension": p.get("Extension", ""),
                "Status": "created",
            }
        return {"TaskId": task_id}

    def _DeleteRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        task = self._task(p)
        task["Status"] = "deleted"  # "does not affect running tasks": the caller stops those instead
        return {}

    def _StopRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        task = self._task(p)
        task["Status"] = "stopped"
        task["StoppedAt"] = int(self.now())
        return {}

    def _DescribeRecordTask(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        start, end = _integer(p, "StartTime"), _integer(p, "EndTime")
        if end <= start:
            raise ApiError("InvalidParameter", "EndTime must be later than StartTime")
        if end - start > 7 * DAY:
            raise ApiError("InvalidParameter", "the query span must not exceed one week")
        with self._lock:
            found = [
                t
                for t in self.tasks.values()
                if t["Status"] != "deleted"
                and t["Region"] == region
                and start <= t["StartTime"]
                and t["EndTime"] <= end
                and all(t[k] == p[k] for k in ("StreamName", "DomainName", "AppName") if p.get(k))
            ]
        found.sort(key=lambda t: (t["StartTime"], t["TaskId"]))
        offset = int(p.get("ScrollToken") or 0)
        page = found[offset : offset + 2]  # small pages, so pagination is always exercised
        token = str(offset + 2) if offset + 2 < len(found) else ""
        task_list = [
            {k: t[k] for k in ("TaskId", "StreamName", "AppName", "DomainName", "StartTime", "EndTime", "TemplateId")}
            | {"Stopped": int(t["Status"] == "stopped")}
            for t in page
        ]
        return {"TaskList": task_list, "ScrollToken": token}

    def _task(self, p: dict[str, Any]) -> dict[str, Any]:
        task_id = p.get("TaskId")
        if not isinstance(task_id, str) or not task_id:
            raise ApiError("MissingParameter", "TaskId is required")
        with self._lock:
            task = self.tasks.get(task_id)
        if task is None or task["Status"] == "deleted":
            raise ApiError("ResourceNotFound.TaskId", f"task {task_id} does not exist")
        return task

    def _throttle(self) -> None:
        with self._lock:
            now = time.monotonic()
            while self._recent_creates and self._recent_creates[0] <= now - 1.0:
                self._recent_creates.popleft()
            if len(self._recent_creates) >= CREATE_LIMIT_PER_SECOND:
                raise ApiError("RequestLimitExceeded", "CreateRecordTask is limited to 20 requests per second")
            self._recent_creates.append(now)

    # -- TC3-HMAC-SHA256 --------------------------------------------------------------------------------

    def verify(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        """Recompute the signature from the request as received; refuse what does not match."""
        auth = headers.get("authorization", "")
        if not auth.startswith("TC3-HMAC-SHA256 "):
            raise ApiError("AuthFailure.SignatureFailure", "missing or unsupported Authorization")
        try:
            fields = dict(part.strip().split("=", 1) for part in auth[len("TC3-HMAC-SHA256 ") :].split(","))
            secret_id, date, service, terminal = fields["Credential"].split("/")
            signed_headers = fields["SignedHeaders"]
            signature = fields["Signature"]
            timestamp = int(headers["x-tc-timestamp"])
        except (KeyError, ValueError):
            raise ApiError("AuthFailure.SignatureFailure", "malformed Authorization") from None
        if secret_id != self.secret_id:
            raise ApiError("AuthFailure.SecretIdNotFound", "the SecretId does not exist")
        if abs(time.time() - timestamp) > SIGNATURE_WINDOW:
            raise ApiError("AuthFailure.SignatureExpire", "the request timestamp is out of the allowed window")
        if terminal != "tc3_request" or date != datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d"):
            raise ApiError("AuthFailure.SignatureFailure", "credential scope does not match")
        names = signed_headers.split(";")
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
        canonical_request = "\n".join(
            [method, path, "", canonical_headers, signed_headers, hashlib.sha256(body).hexdigest()]
        )
        scope = f"{date}/{service}/tc3_request"
        to_sign = "\n".join(
            ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
        )
        key = _hmac(("TC3" + self.secret_key).encode(), date)
        key = _hmac(_hmac(key, service), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError("AuthFailure.SignatureFailure", "the request signature does not match")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _integer(p: dict[str, Any], name: str) -> int:
    value = p.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameter", f"{name} must be an integer")
    return value


def make_handler(state: LiveState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path == "/_emulator/tasks":
                return self._json(200, list(state.tasks.values()))
            if self.path == "/_emulator/calls":
                return self._json(200, [{"Action": a, "Params": p} for a, p in state.calls])
            self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/_emulator/"):
                return self._control(self.path.removeprefix("/_emulator/"), body)
            headers = {k.lower(): v for k, v in self.headers.items()}
            action = headers.get("x-tc-action", "")
            request_id = str(uuid.uuid4())
            if state.take_drop(action):
                self.close_connection = True
                self.connection.close()
                return
            if state.latency:
                time.sleep(state.latency)
            try:
                state.verify(self.command, self.path, headers, body)
                if headers.get("x-tc-version") != "2018-08-01":
                    raise ApiError("InvalidParameter", "X-TC-Version must be 2018-08-01")
                params = json.loads(body or b"{}")
                result = state.handle(action, headers.get("x-tc-region", ""), params)
                self._json(200, {"Response": {**result, "RequestId": request_id}})
            except ApiError as exc:
                error = {"Code": exc.code, "Message": exc.message}
                self._json(200, {"Response": {"Error": error, "RequestId": request_id}})
            except json.JSONDecodeError:
                error = {"Code": "InvalidParameter", "Message": "body is not JSON"}
                self._json(200, {"Response": {"Error": error, "RequestId": request_id}})

        def _control(self, command: str, body: bytes) -> None:
            data = json.loads(body or b"{}")
            if command == "clock":
                state.set_clock(data.get("now"))
            elif command == "inject":
                state.inject(data["action"], data["code"], int(data.get("times", 1)))
            elif command == "latency":
                state.latency = float(data.get("seconds", 0))
            elif command == "drop":
                state.drop_connections(data["action"], int(data.get("times", 1)))
            elif command == "reset":
                state.reset()
            else:
                return self._json(404, {"error": f"unknown control {command}"})
            self._json(200, {"ok": True})

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class Emulator:
    """A running emulator: its endpoint, its ledger, and the knobs tests turn."""

    def __init__(self, state: LiveState, server: ThreadingHTTPServer) -> None:
        self._state = state
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="tencent-emulator", daemon=True)
        host, port = server.server_address[:2]
        self.endpoint = f"http://{host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        return self

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return [dict(task) for task in self._state.tasks.values()]

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._state.calls)

    def set_latency(self, seconds: float) -> None:
        self._state.latency = seconds

    def inject(self, action: str, code: str, times: int = 1) -> None:
        self._state.inject(action, code, times)

    def drop_connections(self, action: str, times: int = 1) -> None:
        self._state.drop_connections(action, times)

    def set_clock(self, epoch: float | None) -> None:
        self._state.set_clock(epoch)

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
    """Start an emulator in background threads; `port=0` picks a free port."""
    state = LiveState(secret_id, secret_key, now)
    server = ThreadingHTTPServer((host, port), make_handler(state))
    server.daemon_threads = True
    return Emulator(state, server).start()
