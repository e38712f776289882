"""The Tencent Live record-task API emulator used by the tests and `make demo` (see server.py).

`start_emulator()` runs it on background threads; `python -m tools.emulator --port 9000` runs it in the
foreground for other processes, which turn its knobs over HTTP (see __main__.py).
"""

from tools.emulator.callbacks import SentCallback
from tools.emulator.server import Emulator, LiveState, start_emulator

__all__ = ["Emulator", "LiveState", "SentCallback", "start_emulator"]
