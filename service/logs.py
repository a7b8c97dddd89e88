"""Structured logs: one JSON object per line on stdout, for log shippers to parse."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
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


class RepeatLimit(logging.Filter):
    """Lets one record per message template of the Kafka client through every ``every_s``
    seconds and counts the rest into the next one's ``repeated`` field: aiokafka retries some
    failures (a commit to a topic that is gone) ten times a second, each with an ERROR line."""

    def __init__(self, every_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._every_s = every_s
        self._clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka"):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        shown, held = self._seen.get(key, (-self._every_s, 0))
        if now - shown < self._every_s:
            self._seen[key] = (shown, held + 1)
            return False
        if len(self._seen) > 1000:  # templates are few; this only bounds a surprise
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            record.repeated = held
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RepeatLimit())
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
