"""The soak's revoked-key phase, small (make soak runs 200 bookings): the key is revoked while bookings
arrive through `handler.queue`, restored, and the dead-letter queue redriven; every booking ends created
once, none lost (docs/contract.md, "Nothing valid is refused")."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from tools.local_aws import MotoStack
from tools.soak.revoked import revoked_phase
from tools.soak.workload import make_bookings


def test_bookings_held_by_a_revoked_key_are_all_created_once_it_is_restored(
    handler: ModuleType, stack: MotoStack, emulator: Any
) -> None:
    messages = make_bookings(20, int(time.time()), "revoked")
    report = revoked_phase(handler.queue, emulator, stack.results, messages, 6.0, stack.max_receive_count)
    assert report.problems == []
    assert report.dead_lettered > 0  # the revocation outlasted some messages' deliveries: the redrive made them
    assert report.statuses["created"] == report.bookings and report.statuses["failed"] >= report.dead_lettered
