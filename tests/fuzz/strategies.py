"""What the fuzz tests send: valid published-shape bookings, mutated, plus fully random input.

Times are drawn as a recipe (`TimeSpec`: an anchor, an offset and a spelling) and rendered against the
clock when the example runs, so "exactly now", "24 h", "the horizon" and "6 days" stay on their
boundaries however long the run takes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DAY = 86400
ANCHORS = {  # seconds after now; the contract's boundaries (docs/contract.md, "Validation")
    "now": 0,
    "day": DAY,
    "horizon": 514800,
    "six_days": 6 * DAY,
    "week": 7 * DAY,
    "max_ahead": 31536000,
}
ABSOLUTE = {  # DST changes and leap days, as instants
    "us_dst_end_2026": int(datetime(2026, 11, 1, 6, 0, tzinfo=UTC).timestamp()),
    "eu_dst_start_2027": int(datetime(2027, 3, 28, 1, 0, tzinfo=UTC).timestamp()),
    "us_dst_start_2027": int(datetime(2027, 3, 14, 7, 0, tzinfo=UTC).timestamp()),
    "leap_day_2028": int(datetime(2028, 2, 29, 12, 0, tzinfo=UTC).timestamp()),
    "leap_day_2024": int(datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC).timestamp()),
}
ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham")
FORMS = (
    "unix",
    "unix_float",  # 1764000000.0: whole, accepted
    "fraction",  # 1764000000.5: refused
    "millis",  # milliseconds sent as seconds: refused
    "bool",
    "digits",  # "1764000000" as a string: refused
    "iso_z",
    "iso_offset",  # in a zone with DST, spelled with its offset at that instant
    "iso_millis",  # .000Z
    "iso_micros",  # .123456+hh:mm
    "iso_naive",  # no offset: refused
    "date_only",
    "garbage",
)


@dataclass(frozen=True)
class TimeSpec:
    anchor: str
    delta: int
    form: str
    zone: str

    def instant(self, now: int) -> int:
        base = ABSOLUTE[self.anchor] if self.anchor in ABSOLUTE else now + ANCHORS[self.anchor]
        return base + self.delta

    def render(self, now: int) -> object:
        at = self.instant(now)
        moment = datetime.fromtimestamp(max(at, 0), tz=UTC).astimezone(ZoneInfo(self.zone))
        spelled: dict[str, object] = {
            "unix": at,
            "unix_float": float(at),
            "fraction": at + 0.5,
            "millis": at * 1000,
            "bool": bool(at % 2),
            "digits": str(at),
            "iso_z": datetime.fromtimestamp(max(at, 0), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "iso_offset": moment.isoformat(),
            "iso_millis": datetime.fromtimestamp(max(at, 0), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "iso_micros": moment.replace(microsecond=123456).isoformat(),
            "iso_naive": moment.replace(tzinfo=None).isoformat(),
            "date_only": moment.date().isoformat(),
            "garbage": f"next tuesday {at}",
        }
        return spelled[self.form]


deltas = st.one_of(st.sampled_from([-3600, -2, -1, 0, 1, 2, 3600]), st.integers(-2 * DAY, 2 * DAY))
time_specs = st.builds(
    TimeSpec,
    anchor=st.sampled_from([*ANCHORS, *ABSOLUTE]),
    delta=deltas,
    form=st.sampled_from(FORMS),
    zone=st.sampled_from(ZONES),
)
valid_time_specs = st.builds(
    TimeSpec,
    anchor=st.just("now"),
    delta=st.integers(60, 5 * DAY),
    form=st.sampled_from(["unix", "iso_z", "iso_offset", "iso_millis", "iso_micros"]),
    zone=st.sampled_from(ZONES),
)
lengths = st.one_of(st.sampled_from([-1, 0, 1, 3600, DAY, DAY + 1, 2 * DAY, 514800 + 1]), st.integers(-DAY, 8 * DAY))

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
booking_ids = st.one_of(
    st.from_regex(r"fz-[a-z0-9]{1,10}", fullmatch=True),
    st.text(min_size=0, max_size=30),
    st.sampled_from(["", " ", "a" * 257, "../../etc", "id\u0000nul", "\U0001f600", "#", "verdict#x"]),
)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


CALCOM = [fixture(f"calcom/{name}.json") for name in ("booking_created", "booking_rescheduled", "booking_cancelled")]
CALCOM += [fixture(f"calcom/{name}.json") for name in ("meeting_ended", "ping", "booking_created_stream_values")]
CALENDLY = [
    fixture(f"calendly/{name}.json")
    for name in (
        "invitee_created",
        "invitee_canceled",
        "group_invitee_created_second",
        "rescheduled_invitee_created",
        "invitee_canceled_old_subscription",
        "routing_form_submission_created",
        "invitee_created_stream_values",
    )
]


@dataclass(frozen=True)
class Mutation:
    """One change to a JSON body, applied at the `index`-th path (modulo how many there are)."""

    kind: str  # drop | retype | extra | enlarge
    index: int
    value: Any = None
    size: int = 0


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(["drop", "retype", "extra", "enlarge"]),
    index=st.integers(0, 10_000),
    value=json_values,
    size=st.sampled_from([300, 3000, 20_000, 70_000, 300_000]),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for n, child in enumerate(node):
            found += _paths(child, (*prefix, n))
    return found


def mutate(body: Any, changes: list[Mutation]) -> Any:
    body = copy.deepcopy(body)
    for change in changes:
        paths = _paths(body)
        if not paths:
            return change.value
        path = paths[change.index % len(paths)]
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if change.kind == "drop":
            del parent[last]
        elif change.kind == "retype":
            parent[last] = change.value
        elif change.kind == "extra" and isinstance(parent, dict):
            parent[f"x{change.index}"] = change.value
        elif change.kind == "enlarge":
            parent[last] = "é" * change.size if change.index % 2 else "x" * change.size
    return body


@dataclass(frozen=True)
class Booking:
    """A booking body recipe: which source and fixture, its id, window and stream values."""

    source: str  # direct | calcom | calendly
    variant: int
    booking_id: str
    start: TimeSpec | None
    length: int
    end: TimeSpec | None  # when given, replaces start + length
    extra: dict[str, Any]
    changes: tuple[Mutation, ...]

    def body(self, now: int) -> Any:
        start = self.start.render(now) if self.start else None
        if self.end is not None:
            end: object = self.end.render(now)
        elif self.start is not None:
            end = self.start.instant(now) + self.length
        else:
            end = now + self.length
        if self.source == "direct":
            stream = "s-" + hashlib.sha256(self.booking_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            body: dict[str, Any] = {"BookingId": self.booking_id, "StreamName": stream}
            if start is not None:
                body["StartTime"] = start
            body["EndTime"] = end
            body.update(self.extra)
        elif self.source == "calcom":
            body = copy.deepcopy(CALCOM[self.variant % len(CALCOM)])
            payload = body.get("payload", body)
            payload.update(uid=self.booking_id, startTime=start, endTime=end)
        else:
            body = copy.deepcopy(CALENDLY[self.variant % len(CALENDLY)])
            event = body["payload"].get("scheduled_event")
            if isinstance(event, dict):
                event.update(uri=f"https://api.calendly.com/scheduled_events/{self.booking_id}")
                event.update(start_time=start, end_time=end)
        return mutate(body, list(self.changes))


direct_extras = st.fixed_dictionaries(
    {},
    optional={
        "Action": st.sampled_from(["create", "cancel", "CREATE", "", None, 1]),
        "DomainName": st.one_of(st.just("5000.live.push.com"), st.text(max_size=10)),
        "AppName": st.sampled_from(["live", "", "a" * 129]),
        "StreamType": st.one_of(st.sampled_from([0, 1, 2, -1, True, "1", 1.0, 1.5]), st.integers()),
        "TemplateId": st.one_of(st.sampled_from([0, 7, -1, "12", False, 2**64]), st.integers()),
        "Extension": st.sampled_from(["", "x" * 2049, "ok"]),
        "Region": st.sampled_from(["ap-singapore", "eu-frankfurt", "us-east-1", "", "AP-SINGAPORE"]),
        "EventType": st.sampled_from(["yoga", "", None]),
        "Streamname": st.just("typo"),
    },
)
bookings = st.builds(
    Booking,
    source=st.sampled_from(["direct", "calcom", "calendly"]),
    variant=st.integers(0, 20),
    booking_id=booking_ids,
    start=st.one_of(st.none(), time_specs, valid_time_specs),
    length=lengths,
    end=st.one_of(st.none(), st.none(), time_specs),
    extra=direct_extras,
    changes=st.lists(mutations, max_size=2).map(tuple),
)


@dataclass(frozen=True)
class Text:
    """How a body is spelled on the wire, including ways that are not JSON at all."""

    kind: str  # json | truncated | bad_utf8 | deep | random | nan
    cut: int
    depth: int
    noise: bytes

    def encode(self, body: Any) -> bytes:
        try:
            raw = json.dumps(body, ensure_ascii=bool(self.cut % 2)).encode()
        except UnicodeEncodeError:  # a lone surrogate: JSON can carry it escaped
            raw = json.dumps(body).encode()
        if self.kind == "truncated":
            return raw[: self.cut % max(len(raw), 1)]
        if self.kind == "bad_utf8":
            at = self.cut % max(len(raw), 1)
            return raw[:at] + b"\xff\xfe\xc3(" + raw[at:]
        if self.kind == "deep":
            nested = b"[" * self.depth + b"]" * self.depth
            return raw[:1] + b'"Extension": ' + nested + (b", " + raw[1:] if len(raw) > 2 else b"}")
        if self.kind == "random":
            return self.noise
        if self.kind == "nan":
            return raw[:1] + b'"EndTime": NaN, ' + raw[1:] if len(raw) > 2 else b"NaN"
        return raw


texts = st.one_of(
    st.builds(Text, kind=st.just("json"), cut=st.integers(0, 10**6), depth=st.just(0), noise=st.just(b"")),
    st.builds(
        Text,
        kind=st.sampled_from(["truncated", "bad_utf8", "deep", "random", "nan"]),
        cut=st.integers(0, 10**6),
        depth=st.sampled_from([10, 500, 5_000, 100_000]),
        noise=st.binary(max_size=200),
    ),
)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
