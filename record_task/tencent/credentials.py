"""Tencent keys: from the environment, or from a Secrets Manager secret that may be rotated.

The adapter reads them through a callable at every signature, so a rotated secret (re-read after the
cache's `max_age`) is used without rebuilding SDK clients.
"""

from __future__ import annotations

from collections.abc import Callable

from record_task.config import Settings
from record_task.errors import ConfigurationError, aws_failure

SECRET_MAX_AGE_SECONDS = 300


def credentials_from(settings: Settings) -> Callable[[], tuple[str, str]]:
    """Keys from the environment, else from the Secrets Manager secret (read on first use, cached 5 min)."""

    def read() -> tuple[str, str]:
        if settings.secret_id and settings.secret_key:
            return settings.secret_id, settings.secret_key
        if not settings.credentials_secret:
            raise ConfigurationError(
                "no Tencent credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, "
                "or TENCENT_CREDENTIALS_SECRET naming a Secrets Manager secret"
            )
        from aws_lambda_powertools.utilities import parameters

        try:
            secret = parameters.get_secret(
                settings.credentials_secret, transform="json", max_age=SECRET_MAX_AGE_SECONDS
            )
        except Exception as exc:  # missing or forbidden: held for the operator; throttled, unreachable: retried
            cause = exc.__cause__ or exc.__context__  # Powertools wraps boto3's error, whose code tells which
            failure = aws_failure(cause if isinstance(cause, Exception) else exc, "reading the secret named by "
                                  "TENCENT_CREDENTIALS_SECRET", "CredentialsUnavailable")  # fmt: skip
            raise failure from None
        if not isinstance(secret, dict) or not secret.get("SecretId") or not secret.get("SecretKey"):
            raise ConfigurationError('TENCENT_CREDENTIALS_SECRET must hold JSON {"SecretId": ..., "SecretKey": ...}')
        return str(secret["SecretId"]), str(secret["SecretKey"])

    return read


class SdkCredential:
    """The SDK's credential interface over our callable, read at every signature (rotation)."""

    def __init__(self, read: Callable[[], tuple[str, str]]) -> None:
        self._read = read

    def get_credential_info(self) -> tuple[str, str, None]:
        secret_id, secret_key = self._read()
        return secret_id, secret_key, None
