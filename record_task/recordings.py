"""Recording callbacks close the loop: a file or a status change becomes a result for its booking.

The booking is found by task id (a pointer item written when the task was created) or, for an abnormal
recording (341, which names no task), by the session id a 332 or a file callback linked before. Each
callback is kept once in the booking's item, so a redelivered one publishes nothing (docs/contract.md,
"Recording callbacks").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from record_task.callbacks import MalformedCallback, OtherEvent, RecordingFile, RecordingStatus
from record_task.decision import iso
from record_task.errors import TransientFailure
from record_task.ledger import BookingLedger, Entry, session_key, task_key
from record_task.outcomes import Announcer
from record_task.results import Result

SOURCE = "tencent"
ACTION = "record"
Callback = RecordingFile | RecordingStatus | OtherEvent | MalformedCallback


@dataclass(frozen=True)
class Recordings:
    ledger: BookingLedger
    announcer: Announcer

    def receive(self, callback: Callback, now: int) -> Result | None:
        """The result this callback publishes (or published when it came before); None: nothing to say."""
        if isinstance(callback, OtherEvent):
            return None
        if isinstance(callback, MalformedCallback):
            reason = f"malformed recording callback (event {callback.event_type}): {callback.error.message}"
            skipped = Result("skipped", None, ACTION, SOURCE, error=callback.error, received_at=iso(now), reason=reason)
            return self._once_unowned(f"malformed|{callback.error.field}|{callback.event_type}", skipped, now)
        found = self._owner(callback)
        booking = found[0].booking if found else None
        if found is None or booking is None:
            return self._unowned(callback, now)
        entry, task_id = found
        if callback.session_id and callback.task_id:  # lets a later 341, which names no task, find it
            self.ledger.link(session_key(callback.session_id), entry.pk, task_id, now)
        said = Result(
            "recorded", booking.booking_id, ACTION, SOURCE, booking.trigger,
            tuple(t for t in entry.tasks if t.task_id == task_id), received_at=iso(now),
        )  # fmt: skip
        if isinstance(callback, RecordingFile):
            result = replace(said, recording=callback.recording())
            key, status = "file|" + "|".join(callback.dedup_key), None
        else:
            result = replace(said, status=callback.status.value, record_event=callback.fields)
            key, status = f"status|{task_id}|{callback.dedup}", callback.status.value
        earlier = self.ledger.add_recording(entry.pk, key, result, status, now)
        if earlier is not None:
            result = Result.from_message(earlier["result"])
            if earlier.get("published") or not self.ledger.take_recording_publish(entry.pk, key, now):
                return result  # published, or being published by another delivery right now
        try:
            self.announcer.publish(result)
        except TransientFailure:
            self.ledger.release_recording_publish(entry.pk, key)
            raise
        self.ledger.mark_recording_published(entry.pk, key)
        return result

    def _owner(self, callback: RecordingFile | RecordingStatus) -> tuple[Entry, str] | None:
        if callback.task_id:
            return self.ledger.owner(task_key(callback.task_id))
        return self.ledger.owner(session_key(callback.session_id)) if callback.session_id else None

    def _unowned(self, callback: RecordingFile | RecordingStatus, now: int) -> Result:
        """A task no booking owns (a template's recording, or another system's): said once, `skipped`."""
        task = callback.task_id or f"(session {callback.session_id})"
        reason = f"no booking owns task {task}: it was not created by this function"
        fields: dict[str, Any] = {"taskId": callback.task_id, "sessionId": callback.session_id}
        if isinstance(callback, RecordingFile):
            fields["fileId"] = callback.file_id
            dedup = f"file|{callback.task_id}|{callback.file_id}"
        else:
            fields["eventType"] = callback.event_type
            dedup = f"status|{callback.task_id or callback.session_id}|{callback.dedup}"
        skipped = Result("skipped", None, ACTION, SOURCE, received_at=iso(now), reason=reason, record_event=fields)
        return self._once_unowned(dedup, skipped, now)

    def _once_unowned(self, dedup: str, result: Result, now: int) -> Result:
        content = ("callback|" + dedup).encode()
        verdict, _ = self.announcer.once(hashlib.sha256(content).hexdigest(), result, now)
        return verdict
