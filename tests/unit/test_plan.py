"""The plan: every API rule, defaults, padding, splitting and deferral, with no I/O."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from record_task.bookings.plan import MAX_TASK_SECONDS, REGIONS, plan_recording
from record_task.config import SIX_DAYS, Settings
from record_task.errors import InvalidBooking
from record_task.model.booking import Booking, StreamFields
from record_task.model.tasks import RecordTaskRequest

NOW = 1_764_000_000
DEFAULTS = Settings(default_domain_name="5000.live.push.com")


def booking(**values: object) -> Booking:
    stream = values.pop("stream", StreamFields(stream_name="room-42"))
    base = {"booking_id": "b-1", "source": "direct", "start_time": NOW + 600, "end_time": NOW + 4200}
    return Booking(**{**base, **values}, stream=stream)  # type: ignore[arg-type]


def test_seed_example_plans_exactly_that_one_call() -> None:
    seed = Booking(
        booking_id="seed",
        source="direct",
        start_time=1589889600,
        end_time=1589904000,
        stream=StreamFields(stream_name="livetest", domain_name="5000.live.push.com", app_name="live", template_id=0),
    )
    plan = plan_recording(seed, Settings(), now=1589889600 - 3600)
    assert [r.to_params() for r in plan.requests] == [
        {
            "StreamName": "livetest",
            "DomainName": "5000.live.push.com",
            "AppName": "live",
            "StartTime": 1589889600,
            "EndTime": 1589904000,
            "StreamType": 0,
            "TemplateId": 0,
        }
    ]
    assert not plan.deferred


def test_defaults_fill_what_the_booking_leaves_out() -> None:
    settings = Settings(
        default_domain_name="d.example", default_app_name="app", default_template_id=7, tencent_region="ap-tokyo"
    )
    (request,) = plan_recording(booking(), settings, NOW).requests
    assert (request.domain_name, request.app_name, request.template_id, request.region) == (
        "d.example",
        "app",
        7,
        "ap-tokyo",
    )


def test_booking_values_win_over_defaults() -> None:
    stream = StreamFields(
        stream_name="s",
        domain_name="mine",
        app_name="a2",
        template_id=3,
        region="eu-frankfurt",
        stream_type=1,
        extension="x",
    )
    (request,) = plan_recording(booking(stream=stream), DEFAULTS, NOW).requests
    assert request == RecordTaskRequest("s", "mine", "a2", NOW + 600, NOW + 4200, 1, 3, "x", "eu-frankfurt")


def test_padding_widens_the_window() -> None:
    settings = dataclasses.replace(DEFAULTS, lead_seconds=120, tail_seconds=300)
    (request,) = plan_recording(booking(), settings, NOW).requests
    assert (request.start_time, request.end_time) == (NOW + 480, NOW + 4500)


def test_missing_start_means_now_and_is_not_padded_into_the_past() -> None:
    settings = dataclasses.replace(DEFAULTS, lead_seconds=120)
    (request,) = plan_recording(booking(start_time=None), settings, NOW).requests
    assert request.start_time == NOW


def test_window_under_way_records_from_now() -> None:
    (request,) = plan_recording(booking(start_time=NOW - 600), DEFAULTS, NOW).requests
    assert request.start_time == NOW


def test_long_window_is_split_into_consecutive_day_long_tasks() -> None:
    plan = plan_recording(booking(end_time=NOW + 600 + 2 * MAX_TASK_SECONDS + 60), DEFAULTS, NOW)
    spans = [(r.start_time, r.end_time) for r in plan.requests]
    assert spans == [
        (NOW + 600, NOW + 600 + MAX_TASK_SECONDS),
        (NOW + 600 + MAX_TASK_SECONDS, NOW + 600 + 2 * MAX_TASK_SECONDS),
        (NOW + 600 + 2 * MAX_TASK_SECONDS, NOW + 600 + 2 * MAX_TASK_SECONDS + 60),
    ]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"stream": StreamFields(stream_name="s", domain_name=" ")}, "DomainName"),
        ({"stream": StreamFields(stream_name="s", app_name="")}, "AppName"),
        ({"stream": StreamFields(stream_name="s", stream_type=2)}, "StreamType"),
        ({"stream": StreamFields(stream_name="s", template_id=-1)}, "TemplateId"),
        ({"stream": StreamFields(stream_name="s", region="us-east-1")}, "Region"),
        ({"end_time": None}, "EndTime"),
        ({"end_time": NOW + 600}, "EndTime"),
        ({"start_time": NOW - 7200, "end_time": NOW - 1}, "EndTime"),
        ({"start_time": NOW + 400 * 86400, "end_time": NOW + 400 * 86400 + 60}, "StartTime"),
        ({"end_time": NOW + 600 + SIX_DAYS}, "EndTime"),
    ],
)
def test_each_rule_names_its_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidBooking) as caught:
        plan_recording(booking(**values), DEFAULTS, NOW)
    assert caught.value.field == field
    assert field in caught.value.message or "window" in caught.value.message


def test_missing_domain_without_default_is_rejected() -> None:
    with pytest.raises(InvalidBooking) as caught:
        plan_recording(booking(), Settings(), NOW)
    assert caught.value.field == "DomainName"


def test_start_beyond_horizon_is_deferred_until_it_fits() -> None:
    start = NOW + 21 * 86400
    plan = plan_recording(booking(start_time=start, end_time=start + 3600), DEFAULTS, NOW)
    assert plan.deferred and plan.requests == ()
    assert plan.due_at == start - DEFAULTS.horizon_seconds
    later = plan_recording(booking(start_time=start, end_time=start + 3600), DEFAULTS, plan.due_at)
    assert not later.deferred and len(later.requests) == 1


def test_split_window_is_due_only_when_its_last_task_fits() -> None:
    start = NOW + 5 * 86400
    plan = plan_recording(booking(start_time=start, end_time=start + 2 * 86400), DEFAULTS, NOW)
    assert plan.deferred
    assert plan.due_at == start + MAX_TASK_SECONDS - DEFAULTS.horizon_seconds


# -- properties --------------------------------------------------------------------------------------

times = st.one_of(st.none(), st.integers(NOW - 3 * 86400, NOW + 400 * 86400))
texts = st.one_of(st.none(), st.just(""), st.just("  "), st.text(alphabet="abc-_1", min_size=1, max_size=8))
streams = st.builds(
    StreamFields,
    stream_name=texts,
    domain_name=texts,
    app_name=st.one_of(st.none(), st.just(""), st.just("live")),
    stream_type=st.one_of(st.none(), st.integers(-1, 2)),
    template_id=st.one_of(st.none(), st.integers(-2, 5)),
    region=st.one_of(st.none(), st.sampled_from([*sorted(REGIONS), "us-east-1", ""])),
)
configs = st.builds(
    Settings,
    default_domain_name=st.one_of(st.none(), st.just("d.example")),
    lead_seconds=st.integers(0, 900),
    tail_seconds=st.integers(0, 900),
)


def breaks_a_rule(b: Booking, s: Settings, now: int) -> set[str]:
    """An independent statement of the API's rules, to check the plan against."""
    broken = set()
    stream = b.stream
    domain = stream.domain_name if stream.domain_name is not None else s.default_domain_name
    app = stream.app_name if stream.app_name is not None else s.default_app_name
    if not (domain or "").strip():
        broken.add("DomainName")
    if not (app or "").strip():
        broken.add("AppName")
    if stream.stream_name is not None and not stream.stream_name.strip():
        broken.add("StreamName")
    if stream.stream_type not in (None, 0, 1):
        broken.add("StreamType")
    if stream.template_id is not None and stream.template_id < 0:
        broken.add("TemplateId")
    if (stream.region or s.tencent_region) not in REGIONS:
        broken.add("Region")
    if b.end_time is None:
        return broken | {"EndTime"}
    start = now if b.start_time is None else b.start_time - s.lead_seconds
    end = b.end_time + s.tail_seconds
    if (b.start_time is not None and b.end_time <= b.start_time) or end <= now:
        broken.add("EndTime")
    elif start > now + s.max_ahead_seconds:
        broken.add("StartTime")
    elif end - max(start, now) > s.horizon_seconds:
        broken.add("EndTime")
    return broken


@settings(max_examples=400, deadline=None)
@given(start=times, length=st.integers(-3600, 7 * 86400), stream=streams, config=configs)
def test_accepted_plans_obey_every_rule_and_refusals_break_one(
    start: int | None, length: int, stream: StreamFields, config: Settings
) -> None:
    end = (NOW if start is None else start) + length
    b = Booking(booking_id="p-1", source="direct", start_time=start, end_time=end, stream=stream)
    broken = breaks_a_rule(b, config, NOW)
    try:
        plan = plan_recording(b, config, NOW)
    except InvalidBooking as exc:
        assert exc.field in broken, f"refused for {exc.field} but only {broken} are broken"
        return
    assert not broken, f"accepted although {broken} are broken"
    if plan.deferred:
        assert plan.due_at is not None and plan.due_at > NOW
        return
    assert plan.requests
    for request in plan.requests:
        assert request.stream_name.strip() and request.domain_name.strip() and request.app_name.strip()
        assert request.end_time > NOW and request.start_time < request.end_time
        assert request.end_time - request.start_time <= MAX_TASK_SECONDS
        assert request.start_time <= NOW + SIX_DAYS
        assert request.stream_type in (0, 1) and (request.template_id is None or request.template_id >= 0)
        assert request.region in REGIONS
    pieces = [(r.start_time, r.end_time) for r in plan.requests]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert pieces[0][0] == plan.start_time and pieces[-1][1] == plan.end_time
