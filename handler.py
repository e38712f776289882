"""Lambda entry points. Everything is built once per container; each handler only delegates.

Tracing is opt-in (`RECORD_TASK_TRACING=true`): the X-Ray SDK adds to every cold start (BENCHMARKS.md
measures it), so it is not imported when tracing is off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from record_task.app import App, build_app
from record_task.errors import ConfigurationError

Handler = TypeVar("Handler", bound=Callable[..., Any])
logger = Logger(service="record-task")
metrics = Metrics(namespace="RecordTask", service="record-task")


def _traced(function: Handler) -> Handler:
    if os.environ.get("RECORD_TASK_TRACING", "").strip().lower() != "true":
        return function
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer(service="record-task").capture_lambda_handler(function))


try:  # disabled metrics are not counted: Powertools prints a full set of 100 values even when disabled
    APP: App | None = build_app(metrics=None if is_metrics_disabled() else metrics)
    SETUP_ERROR: str | None = None
except ConfigurationError as exc:  # reported by every invocation instead of an opaque init crash
    APP, SETUP_ERROR = None, str(exc)
    logger.error("configuration error", extra={"error": SETUP_ERROR})


def _app() -> App:
    if APP is None:
        raise ConfigurationError(SETUP_ERROR or "not configured")
    return APP


@logger.inject_lambda_context(clear_state=True)
@_traced
@metrics.log_metrics(raise_on_empty_metrics=False)
def queue(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _app().queue(event, context)


@logger.inject_lambda_context(clear_state=True)
@_traced
@metrics.log_metrics(raise_on_empty_metrics=False)
def webhook(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if APP is None:
        from record_task.transports.http import error_event

        return error_event(500, ConfigurationError(SETUP_ERROR or "not configured").info)
    return APP.webhook(event, context)


@logger.inject_lambda_context(clear_state=True)
@_traced
@metrics.log_metrics(raise_on_empty_metrics=False)
def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _app().sweep(event, context)
