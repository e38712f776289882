"""The emulator's recording callbacks: Tencent CSS bodies in the published shapes, signed and POSTed.

The real service calls the domain's callback URL for every file a recording writes (event 100) and when a
recording's status changes (332) or goes wrong (341). Here a test, or another process through
`POST /_emulator/callbacks/send`, asks for them per task; `finish` sends them for every task whose recording
has ended on the emulator's clock (automatically after each API call and clock change when configured so).
Bodies have exactly the shapes of tests/fixtures/tencent (the integration tests compare them), and `sign` is
computed here, independently of record_task, so a mistake on either side shows. Not deployed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

APPID = 12345678
EXPIRY_SECONDS = 600  # Tencent's default: t is 10 minutes after sending
BYTES_PER_SECOND = 250_000  # about 2 Mbit/s, for plausible file sizes
POST_TIMEOUT_SECONDS = 5.0
# The names a caller uses for the statuses it wants sent, and the published `record_event` of each (332);
# "abnormal" is an abnormal recording event (341).
STATUS_EVENTS = {
    "start": "record_start_succeeded",
    "fail": "record_start_failed",
    "pause": "record_paused",
    "resume": "record_resumed",
    "error": "record_error",
    "end": "record_ended",
}
ABNORMAL = "abnormal"


@dataclass(frozen=True)
class SentCallback:
    """One POST: its body and what the receiver answered (status None: no answer, `error` says why)."""

    event_type: int
    body: dict[str, Any]
    status: int | None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"eventType": self.event_type, "body": self.body, "status": self.status, "error": self.error}


def sign(key: str, t: int) -> str:
    """The published rule: lowercase hex MD5 of the callback key followed by the decimal t."""
    return hashlib.md5(f"{key}{t}".encode(), usedforsecurity=False).hexdigest()


def recorded_window(task: dict[str, Any]) -> tuple[int, int] | None:
    """What a task records, from the emulator's ledger: stopped early, deleted before it started (nothing),
    or its whole window (deleting a running task does not stop it)."""
    start, end = int(task["StartTime"]), int(task["EndTime"])
    if task["Status"] == "stopped":
        end = int(task["Stopped"])
    elif task["Status"] == "deleted" and int(task.get("Deleted") or 0) < end:
        return None  # deleted before it started (a delete while running is "deleted_running")
    return (start, end) if end > start else None


def file_body(task: dict[str, Any], *, file_id: str, session: str, start: int, end: int) -> dict[str, Any]:
    """Event 100 for one file of a CreateRecordTask task (unsigned: see `signed`)."""
    path = "/".join(urllib.parse.quote(part, safe="") for part in (task["AppName"], task["StreamName"], file_id))
    return {
        "event_type": 100,
        "appid": APPID,
        "app": task["DomainName"],
        "appname": task["AppName"],
        "stream_id": task["StreamName"],
        "channel_id": task["StreamName"],
        "file_id": file_id,
        "record_file_id": file_id,
        "file_format": "mp4",
        "task_id": task["TaskId"],
        "start_time": start,
        "end_time": end,
        "start_time_usec": 0,
        "end_time_usec": 0,
        "duration": end - start,
        "file_size": (end - start) * BYTES_PER_SECOND,
        "stream_param": "",  # API tasks do not carry the push URL's parameters
        "video_url": f"https://{task['DomainName']}/{path}.mp4",
        "media_start_time": 0,
        "record_bps": 0,
        "callback_ext": json.dumps({"video_codec": "h264", "resolution": "1280x720", "session_id": session}),
    }


def status_body(task: dict[str, Any], *, record_event: str, session: str, seq: str, at: int) -> dict[str, Any]:
    """Event 332 (unsigned)."""
    detail = {"file_format": 3, "record_bps": 0, "start_model": 5, "record_content": 1, "source_type": 1}
    return {
        "appid": APPID,
        "appname": task["AppName"],
        "domain": task["DomainName"],
        "event_time": at,
        "event_type": 332,
        "record_detail": json.dumps({**detail, "codec_temp_id": 0}),
        "record_event": record_event,
        "task_id": task["TaskId"],
        "seq": seq,
        "session_id": session,
        "stream_id": task["StreamName"],
    }


def exception_body(task: dict[str, Any], *, session: str, at: int) -> dict[str, Any]:
    """Event 341 (unsigned): the published shape carries no task_id, only the session."""
    return {
        "interface": "general_callback",
        "event_type": 341,
        "appid": APPID,
        "domain": task["DomainName"],
        "path": task["AppName"],
        "stream_id": task["StreamName"],
        "session_id": session,
        "file_format": "mp4",
        "timestamp": at,
        "exception_level": "error",
        "exception": {"type": -16, "desc": "pull stream failed", "occurs": 1},
    }


def signed(body: dict[str, Any], key: str, now: float) -> dict[str, Any]:
    t = int(now) + EXPIRY_SECONDS
    return {**body, "sign": sign(key, t), "t": t}


def _number() -> str:
    """A 19-digit decimal id, as Tencent's session ids and sequence numbers are."""
    return str(10**18 + uuid.uuid4().int % (9 * 10**18))


class RecordingCallbacks:
    """Where callbacks go, what was sent, and which tasks were reported; safe to call from any thread."""

    def __init__(self, tasks: Callable[[], list[dict[str, Any]]], now: Callable[[], float]) -> None:
        self._tasks = tasks
        self._now = now
        self._lock = threading.Lock()
        self._url: str | None = None
        self._key = ""
        self.automatic = False
        self._sessions: dict[str, str] = {}
        self._reported: set[str] = set()
        self._sent: list[SentCallback] = []

    def configure(self, url: str | None, key: str = "", *, automatic: bool = False) -> None:
        """Send to `url` signed with `key`; `automatic`: `finish` after every API call and clock change."""
        with self._lock:
            self._url, self._key, self.automatic = url, key, automatic and url is not None

    def reset(self) -> None:
        with self._lock:
            self._url, self._key, self.automatic = None, "", False
            self._sessions.clear()
            self._reported.clear()
            self._sent.clear()

    @property
    def sent(self) -> list[SentCallback]:
        with self._lock:
            return list(self._sent)

    def send(self, task_id: str, *, files: int = 1, statuses: Sequence[str] = ("start", "end")) -> list[SentCallback]:
        """The callbacks of one task's recording, in the order the service sends them: the statuses before
        "end", the files (its window cut in `files` consecutive pieces, as reconnects do), then the rest."""
        task = next((t for t in self._tasks() if t["TaskId"] == task_id), None)
        if task is None:
            raise ValueError(f"the emulator holds no task {task_id!r}")
        unknown = [name for name in statuses if name not in STATUS_EVENTS and name != ABNORMAL]
        if unknown or files < 0:
            raise ValueError(f"statuses are {', '.join([*STATUS_EVENTS, ABNORMAL])} and files >= 0; got {unknown}")
        start, end = recorded_window(task) or (int(task["StartTime"]), int(task["EndTime"]))
        with self._lock:
            session = self._sessions.setdefault(task_id, _number())
        cut = list(statuses).index("end") if "end" in statuses else len(statuses)
        bounds = [start + (end - start) * n // max(files, 1) for n in range(files + 1)]
        pieces = [
            file_body(task, file_id=f"{APPID}_{uuid.uuid4().hex}", session=session, start=a, end=b)
            for a, b in itertools.pairwise(bounds)
        ]
        bodies = [self._status(task, name, session, start, end) for name in statuses[:cut]]
        bodies += pieces + [self._status(task, name, session, start, end) for name in statuses[cut:]]
        return [self.deliver(body) for body in bodies]

    def finish(self) -> list[SentCallback]:
        """Start, one file and end for every task whose recording has ended and was not reported yet."""
        now = self._now()
        with self._lock:
            if self._url is None:
                return []
            due = [
                t["TaskId"]
                for t in self._tasks()
                if t["TaskId"] not in self._reported and (window := recorded_window(t)) is not None and window[1] <= now
            ]
            self._reported.update(due)
        return [sent for task_id in due for sent in self.send(task_id)]

    def after_request(self) -> None:
        """Hook for the server: the emulator's time or tasks may have moved on."""
        if self.automatic:
            self.finish()

    def deliver(self, body: dict[str, Any]) -> SentCallback:
        """Sign `body` now and POST it as JSON (a body already signed is redelivered unchanged)."""
        with self._lock:
            url, key = self._url, self._key
        if url is None:
            raise ValueError("callbacks are not configured: call configure(url, key) first")
        payload = body if "sign" in body else signed(body, key, self._now())
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as answer:
                sent = SentCallback(int(payload["event_type"]), payload, answer.status)
        except urllib.error.HTTPError as exc:
            sent = SentCallback(int(payload["event_type"]), payload, exc.code)
        except OSError as exc:  # refused, reset, timed out: Tencent would retry (3 times, 60 s apart); we do not
            sent = SentCallback(int(payload["event_type"]), payload, None, repr(exc))
        with self._lock:
            self._sent.append(sent)
        return sent

    def _status(self, task: dict[str, Any], name: str, session: str, start: int, end: int) -> dict[str, Any]:
        if name == ABNORMAL:
            return exception_body(task, session=session, at=(start + end) // 2)
        at = end if name == "end" else start if name in ("start", "fail") else (start + end) // 2
        return status_body(task, record_event=STATUS_EVENTS[name], session=session, seq=_number(), at=at)
