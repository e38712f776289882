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

from record_task.ledger.items import Entry, Slot, session_key, task_key
from record_task.ledger.outbox import Outbox
from record_task.ledger.store import Ledger
from record_task.model.results import Result, iso
from record_task.recordings.callbacks import MalformedCallback, OtherEvent, RecordingFile, RecordingStatus
from record_task.recordings.fanout import sharing

SOURCE = "tencent"
ACTION = "record"
Callback = RecordingFile | RecordingStatus | OtherEvent | MalformedCallback


@dataclass(frozen=True)
class Recordings:
    ledger: Ledger
    outbox: Outbox

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
        told = self._keep(entry.pk, key, result, status, now)
        if isinstance(callback, RecordingFile):  # a shared stream: every booking the file recorded hears of it
            for other in sharing(self.ledger, entry, callback):
                assert other.booking is not None
                tasks = tuple(t for t in other.tasks if t.task_id == task_id)
                self._keep(other.pk, key, replace(result, booking_id=other.booking.booking_id,
                                                  trigger=other.booking.trigger, tasks=tasks), None, now)  # fmt: skip
        return told

    def _keep(self, pk: str, key: str, result: Result, status: str | None, now: int) -> Result:
        """Keep a callback's result in the booking's item once and publish it; a repeat answers the first."""
        slot = Slot(key, recording=True)
        earlier = self.ledger.add_recording(pk, key, result, status, now)
        kept = earlier.recorded(key) if earlier is not None else None
        if kept is None:
            self.outbox.send(pk, slot, result)
            return result
        stored, published = kept
        if not published:  # kept, but its publish failed: sent now unless another delivery is sending it
            self.outbox.resend(pk, slot, stored, now)
        return stored

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
        verdict, _ = self.outbox.once(hashlib.sha256(content).hexdigest(), result, now)
        return verdict
