"""Structured logs: one JSON object per line on stdout, for log shippers to parse."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        # Dataclasses go through str() (their repr), which leaves out fields marked repr=False,
        # such as the SASL password; orjson would otherwise serialize every field.
        return orjson.dumps(event, default=str,
                            option=orjson.OPT_PASSTHROUGH_DATACLASS).decode()


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The Kafka client logs every reconnect attempt at ERROR; ours are summarized already.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    # One line per retry: the service logs each failed send ("produce failed, retrying") and
    # each unreachable broker ("broker unreachable" / "broker probe failed") itself, so the
    # client's own lines for the same events would double them (debug keeps them).
    muted = logging.CRITICAL if root.level > logging.DEBUG else logging.NOTSET
    for name in ("aiokafka.producer", "aiokafka.client", "aiokafka.conn"):
        logging.getLogger(name).setLevel(muted)
