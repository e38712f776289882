"""TC3-HMAC-SHA256 as the published algorithm defines it, recomputed from the request as received, so a
signing mistake on the client's side shows up as the AuthFailure the real API would answer.

The key pair can be revoked for a while (`Keys.revoked`): every signed call is then answered with that
AuthFailure code, as the real API answers a deleted or disabled key, until it is restored.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tools.emulator.protocol import SERVICE, ApiError

SIGNATURE_WINDOW = 300
REVOCATION_CODES = frozenset({"AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure"})


@dataclass
class Keys:
    """The one key pair the emulator accepts, and the AuthFailure it answers while the pair is revoked."""

    secret_id: str
    secret_key: str
    revoked: str | None = None

    def revoke(self, code: str = "AuthFailure.SecretIdNotFound") -> None:
        if code not in REVOCATION_CODES:
            raise ValueError(f"a revoked key is answered with one of {sorted(REVOCATION_CODES)}, not {code!r}")
        self.revoked = code

    def restore(self) -> None:
        self.revoked = None


def verify(keys: Keys, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
    """Raise the AuthFailure the real API would answer, or return for a request signed with `keys`."""
    authorization = headers.get("authorization", "")
    algorithm, _, rest = authorization.partition(" ")
    try:
        if algorithm != "TC3-HMAC-SHA256":
            raise ValueError(algorithm)
        fields = dict(part.strip().split("=", 1) for part in rest.split(","))
        secret_id, date, service, terminal = fields["Credential"].split("/")
        signed_headers = fields["SignedHeaders"]
        signature = fields["Signature"]
        timestamp = int(headers["x-tc-timestamp"])
    except (KeyError, ValueError):
        raise ApiError("AuthFailure.InvalidAuthorization", "the Authorization header is invalid") from None
    names = signed_headers.split(";")
    if "content-type" not in names or "host" not in names:
        raise ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host")
    revoked = keys.revoked
    if revoked is not None:
        raise ApiError(revoked, "the key pair was revoked (by the emulator's revoke knob)")
    if secret_id != keys.secret_id:
        raise ApiError("AuthFailure.SecretIdNotFound", "the SecretId is not found")
    if abs(time.time() - timestamp) > SIGNATURE_WINDOW:
        raise ApiError("AuthFailure.SignatureExpire", "the request timestamp is more than 5 minutes off")
    scope_date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    if (date, service, terminal) != (scope_date, SERVICE, "tc3_request"):
        raise ApiError("AuthFailure.SignatureFailure", "the credential scope does not match the request")
    uri, _, query = path.partition("?")
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in names)
    unsigned = headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD"
    payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD" if unsigned else body).hexdigest()
    canonical_request = "\n".join([method, uri, query, canonical_headers, signed_headers, payload_hash])
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("TC3" + keys.secret_key).encode(), date)
    key = _hmac(_hmac(key, service), "tc3_request")
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise ApiError("AuthFailure.SignatureFailure", "the request signature does not match")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
