"""Logging for the whole process: JSON lines (``OMS_LOG_FORMAT=json``) or readable ones,
each carrying the request id of the request it belongs to."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from api.observability.context import current

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(request_suffix)s"


class RequestFields(logging.Filter):
    """Adds the request's id, operation and caller to every record logged while serving it."""

    def __init__(self, *, text: bool) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        info = current.get()
        record.request_id = info.request_id if info else None
        if not hasattr(record, "operation"):
            record.operation = info.operation if info else None
        if not hasattr(record, "caller"):
            record.caller = info.caller if info else None
        if self.text:
            record.request_suffix = f" [request {info.request_id}]" if info else ""
        return True


def configure(log_format: str, level: str = "INFO") -> None:
    """Replace the root handlers with one that writes to stderr in the chosen format.
    uvicorn's loggers propagate to it (uvicorn is started without a log config)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestFields(text=log_format != "json"))
    if log_format == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # one line per request is ours
