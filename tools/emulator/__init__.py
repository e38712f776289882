"""The Tencent Live record-task API emulator used by the tests and `make demo`.

protocol.py is the wire contract (parameters, errors), auth.py the TC3 signature check, rules.py the four
actions and the per-second limit, streams.py what the platform records of tasks sharing a stream, state.py
the knobs and how one request is answered, server.py the HTTP side, callbacks.py the recording callbacks,
and running.py the `Emulator` tests hold. `start_emulator()` runs it on background threads;
`python -m tools.emulator --port 9000` runs it in the foreground for other processes, which turn its knobs
over HTTP (see __main__.py).
"""

from tools.emulator.callbacks import SentCallback
from tools.emulator.running import Emulator, start_emulator
from tools.emulator.state import LiveState
from tools.emulator.streams import Span, Stream, overlaps

__all__ = ["Emulator", "LiveState", "SentCallback", "Span", "Stream", "overlaps", "start_emulator"]
