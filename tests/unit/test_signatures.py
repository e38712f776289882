"""Webhook signatures: good ones pass, everything else is a SignatureError naming what is wrong."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from record_task.errors import SignatureError
from record_task.sources.registry import SOURCES, BookingSource
from record_task.sources.signatures import (
    sign_calcom,
    sign_calendly,
    sign_direct,
    verify_calcom,
    verify_calendly,
    verify_direct,
)

BODY = b'{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u-1"}}'
SECRET = "calcom-test-secret"
NOW = 1_796_090_400
TOLERANCE = 180
bodies = st.binary(max_size=512)
secrets = st.text(min_size=1, max_size=64)
headers = st.text(max_size=100)


def refused(check: Callable[..., None], *args: object, **kwargs: object) -> str:
    with pytest.raises(SignatureError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


# -- Cal.com ----------------------------------------------------------------------------------------------------


def test_calcom_signature_is_the_hex_hmac_of_the_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign_calcom(BODY, SECRET) == sign_calcom(BODY.decode(), SECRET) == expected
    verify_calcom(BODY, expected, SECRET)
    verify_calcom(BODY, f" {expected.upper()} ", SECRET)  # hex is hex, whatever its case or padding


@pytest.mark.parametrize(
    ("header", "secret", "says"),
    [
        (None, SECRET, "X-Cal-Signature-256 header is missing"),
        ("  ", SECRET, "X-Cal-Signature-256 header is missing"),
        ("no-secret-provided", SECRET, "'no-secret-provided'"),
        ("0" * 64, SECRET, "X-Cal-Signature-256 does not match the body"),
        ("sha256=" + sign_calcom(BODY, SECRET), SECRET, "does not match"),
        ("é" * 64, SECRET, "does not match"),
        (sign_calcom(BODY, "other"), SECRET, "does not match"),
    ],
)
def test_calcom_refusals(header: str | None, secret: str, says: str) -> None:
    assert says in refused(verify_calcom, BODY, header, secret)


def test_calcom_body_must_be_the_signed_bytes() -> None:
    header = sign_calcom(BODY, SECRET)
    assert "does not match" in refused(verify_calcom, BODY + b" ", header, SECRET)


# -- Calendly ---------------------------------------------------------------------------------------------------


def test_calendly_signature_covers_timestamp_and_body() -> None:
    header = sign_calendly(BODY, SECRET, NOW)
    digest = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={digest}"
    verify_calendly(BODY, header, SECRET, now=NOW, tolerance_seconds=TOLERANCE)
    verify_calendly(BODY, f" v1={digest} , t={NOW} ", SECRET, now=NOW, tolerance_seconds=TOLERANCE)
    verify_calendly(BODY, f"t={NOW},v1={'0' * 64},v1={digest}", SECRET, now=NOW, tolerance_seconds=TOLERANCE)


@pytest.mark.parametrize("skew", [0, 1, TOLERANCE, -TOLERANCE])
def test_calendly_within_tolerance_either_side(skew: int) -> None:
    header = sign_calendly(BODY, SECRET, NOW - skew)
    verify_calendly(BODY, header, SECRET, now=NOW, tolerance_seconds=TOLERANCE)


def test_calendly_stale_is_a_replay() -> None:
    header = sign_calendly(BODY, SECRET, NOW - TOLERANCE - 1)
    says = refused(verify_calendly, BODY, header, SECRET, now=NOW, tolerance_seconds=TOLERANCE)
    assert "replay" in says and "181s" in says


def test_calendly_future_beyond_tolerance_is_refused() -> None:
    header = sign_calendly(BODY, SECRET, NOW + TOLERANCE + 1)
    assert "future" in refused(verify_calendly, BODY, header, SECRET, now=NOW, tolerance_seconds=TOLERANCE)


def test_calendly_timestamp_is_signed_so_it_cannot_be_refreshed() -> None:
    old = sign_calendly(BODY, SECRET, NOW - 3600)
    refreshed = old.replace(f"t={NOW - 3600}", f"t={NOW}")
    says = refused(verify_calendly, BODY, refreshed, SECRET, now=NOW, tolerance_seconds=TOLERANCE)
    assert "does not match" in says


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        f"t={NOW}",
        "v1=" + "0" * 64,
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t=-{NOW},v1={'0' * 64}",
        f"t=１２３,v1={'0' * 64}",  # noqa: RUF001 - fullwidth digits are digits to str.isdigit, not to us
        f"t={'9' * 5000},v1={'0' * 64}",
        f"t={NOW};v1={'0' * 64}",
    ],
)
def test_calendly_malformed_header(header: str) -> None:
    says = refused(verify_calendly, BODY, header, SECRET, now=NOW, tolerance_seconds=TOLERANCE)
    assert "Calendly-Webhook-Signature is malformed" in says


@pytest.mark.parametrize(
    ("header", "secret", "says"),
    [
        (None, SECRET, "Calendly-Webhook-Signature header is missing"),
        ("", SECRET, "Calendly-Webhook-Signature header is missing"),
        (sign_calendly(BODY, "other", NOW), SECRET, "does not match"),
        (sign_calendly(BODY + b"x", SECRET, NOW), SECRET, "does not match"),
    ],
)
def test_calendly_refusals(header: str | None, secret: str, says: str) -> None:
    assert says in refused(verify_calendly, BODY, header, secret, now=NOW, tolerance_seconds=TOLERANCE)


# -- direct -----------------------------------------------------------------------------------------------------


def test_direct_signature_is_prefixed_hex() -> None:
    header = sign_direct(BODY, SECRET)
    assert header == "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    verify_direct(BODY, header, SECRET)
    verify_direct(BODY, header.upper().replace("SHA256=", "sha256="), SECRET)


@pytest.mark.parametrize(
    ("header", "secret", "says"),
    [
        (None, SECRET, "X-Signature-256 header is missing"),
        ("sha256=00", SECRET, "X-Signature-256 does not match the body"),
        (sign_direct(BODY, SECRET)[len("sha256=") :], SECRET, "X-Signature-256 is malformed"),
        (sign_direct(BODY, "other"), SECRET, "does not match"),
    ],
)
def test_direct_refusals(header: str | None, secret: str, says: str) -> None:
    assert says in refused(verify_direct, BODY, header, secret)


# -- every provider: the same properties -------------------------------------------------------------------------


class Provider:
    """One sender's signing scheme, seen through the same two calls."""

    def __init__(self, name: str, sign: Callable[[bytes, str], str], verify: Callable[[bytes, str, str], None]) -> None:
        self.name, self.sign, self.verify = name, sign, verify

    def __repr__(self) -> str:
        return self.name


PROVIDERS = [
    Provider("calcom", sign_calcom, verify_calcom),
    Provider(
        "calendly",
        lambda body, secret: sign_calendly(body, secret, NOW),
        lambda body, header, secret: verify_calendly(body, header, secret, now=NOW, tolerance_seconds=TOLERANCE),
    ),
    Provider("direct", sign_direct, verify_direct),
]


@pytest.mark.parametrize("provider", PROVIDERS, ids=repr)
@given(body=bodies, secret=secrets)
def test_round_trip(provider: Provider, body: bytes, secret: str) -> None:
    provider.verify(body, provider.sign(body, secret), secret)


@pytest.mark.parametrize("provider", PROVIDERS, ids=repr)
@given(body=bodies, other=bodies, secret=secrets)
def test_the_signature_of_another_body_is_refused(provider: Provider, body: bytes, other: bytes, secret: str) -> None:
    assume(body != other)
    with pytest.raises(SignatureError):
        provider.verify(body, provider.sign(other, secret), secret)


@pytest.mark.parametrize("provider", PROVIDERS, ids=repr)
@given(body=bodies, header=headers)
def test_any_other_header_is_refused(provider: Provider, body: bytes, header: str) -> None:
    assume(header.strip().lower() != provider.sign(body, SECRET).lower())
    with pytest.raises(SignatureError):
        provider.verify(body, header, SECRET)


@pytest.mark.parametrize("provider", PROVIDERS, ids=repr)
@given(secret=st.from_regex(r"[A-Za-z0-9]{16,40}", fullmatch=True))
def test_refusals_never_reveal_the_secret(provider: Provider, secret: str) -> None:
    wrong = provider.sign(BODY, secret + "x")
    assert secret not in refused(provider.verify, BODY, wrong, secret)


@pytest.mark.parametrize("source", SOURCES, ids=lambda source: source.name)
@pytest.mark.parametrize("secret", [None, ""])
def test_every_route_is_closed_without_its_secret(source: BookingSource, secret: str | None) -> None:
    """Closed by default: the registry's check refuses before the signature is even read, naming the setting."""
    headers = {"x-cal-signature-256": "x", "calendly-webhook-signature": "x", "x-signature-256": "x"}
    says = refused(source.verify, BODY, headers, secret, NOW, 180)
    assert says == f"{source.secret_setting} is not configured, so {source.path} refuses every delivery"
