"""The Tencent Live record-task API emulator used by the tests and `make demo` (see server.py)."""

from tests.emulator.server import Emulator, LiveState, start_emulator

__all__ = ["Emulator", "LiveState", "start_emulator"]
