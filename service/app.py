"""The wiring: config in, the running service (or an offline run) out. Nothing else lives here:
the runners are ``service.runtime``'s."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import gc
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from aiokafka.errors import KafkaConnectionError

from service import __version__
from service.config import Config, ConfigError, redacted
from service.edges.broker import EmbeddedBroker
from service.edges.fetch import Fetcher
from service.edges.http import Health, HttpServer
from service.edges.topics import ensure_topics, log_report
from service.metrics import Metrics
from service.pipeline import Pipeline
from service.runtime import offline
from service.runtime.probes import TopicsMissing
from service.runtime.replay import replay_when_ready
from service.runtime.worker import Worker
from service.summary import summarize

log = logging.getLogger("service")

_CONNECT_RETRY_MAX_S = 10.0
# After SIGTERM the worker has this share of service.shutdown_grace_s to finish and commit; the
# rest goes to cancelling it, and a timer ends the process hard shortly after the grace.
_GRACE_TO_FINISH = 0.8
_HARD_EXIT_MARGIN_S = 0.5


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_pipeline(config: Config, metrics: Metrics | None = None) -> Pipeline:
    def observe(stage: str, seconds: float) -> None:
        if metrics is not None:
            metrics.processing_seconds.observe(stage, seconds)

    def unparsed(field: str) -> None:
        if metrics is not None:
            metrics.field_unparsed.labels(field).inc()

    return Pipeline(max_message_bytes=config.limits.max_message_bytes, clock=utc_now,
                    max_dead_letter_raw_bytes=config.limits.max_dead_letter_raw_bytes,
                    max_record_bytes=config.limits.max_record_bytes,
                    normalize=config.normalize, stories=config.stories, observe=observe,
                    unparsed=unparsed)


def build_fetcher(config: Config, metrics: Metrics) -> Fetcher | None:
    return Fetcher(config.fetch, metrics) if config.fetch.enabled else None


async def run_service(config: Config, embedded: bool, replay: Path | None = None,
                      stop: asyncio.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``); 0 on a clean shutdown."""
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    log.info("starting", extra={"version": __version__, "embedded_broker": embedded,
                                "config": redacted(config)})
    metrics, health = Metrics(), Health()
    broker: EmbeddedBroker | None = None
    if embedded:
        broker = EmbeddedBroker(config.kafka.embedded_port)
        await broker.start_async()
        config = dataclasses.replace(
            config, kafka=dataclasses.replace(config.kafka, bootstrap_servers=broker.bootstrap))
        log.info("embedded broker started", extra={"bootstrap": broker.bootstrap,
                                                   "pid": broker.pid})
    http = HttpServer(config.http.host, config.http.port, metrics, health)
    try:
        await _listen(http)
        log.info("http listening", extra={"host": config.http.host, "port": http.port})
        pipeline = build_pipeline(config, metrics)
        await asyncio.to_thread(pipeline.load_models)  # off the loop: /healthz answers meanwhile
        # What start-up made (modules, the language model's tables) lives as long as the
        # process: out of the collector's reach, each full collection walks only what articles
        # allocate. (bench/run's text phase, two alternating pairs of runs: 2.73 -> 2.61 and
        # 2.68 -> 2.38 ms of service CPU an article; full runs move more than that between runs.)
        gc.freeze()
        fetcher = build_fetcher(config, metrics)
        async with contextlib.AsyncExitStack() as stack:
            if fetcher is not None:
                await stack.enter_async_context(fetcher)
            service = asyncio.create_task(_serve(config, pipeline, fetcher, metrics, health,
                                                 stop), name="worker")
            summary = asyncio.create_task(summarize(metrics, config.service.summary_interval_s))
            service.add_done_callback(lambda _: summary.cancel())
            if replay is not None:
                feeder = asyncio.create_task(replay_when_ready(config, replay, health, stop))
                service.add_done_callback(lambda _: feeder.cancel())
            await stop.wait() if not service.done() else None
            stop.set()
            grace = config.service.shutdown_grace_s
            log.info("stopping", extra={"grace_s": grace})
            _exit_hard_after(grace + _HARD_EXIT_MARGIN_S, broker)
            try:
                await asyncio.wait_for(asyncio.shield(service), grace * _GRACE_TO_FINISH)
            except TimeoutError:
                log.error("shutdown grace exceeded; uncommitted work will be redelivered")
                service.cancel()
                await asyncio.wait([service], timeout=grace * (1 - _GRACE_TO_FINISH))
                return 1
            except ConfigError:
                raise
            except Exception:  # already logged by _serve
                return 1
            return 0
    finally:
        await http.stop()
        if broker is not None:
            broker.stop()
            log.info("embedded broker stopped")


def _exit_hard_after(seconds: float, broker: EmbeddedBroker | None) -> None:
    """Arm a timer thread that ends the process (exit 1) if it is still alive in ``seconds``:
    SIGTERM must end it even when the Kafka client or a stuck loop does not let go."""
    def exit_hard() -> None:
        log.error("shutdown grace exceeded by the teardown; exiting hard")
        if broker is not None and broker.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(broker.pid, signal.SIGKILL)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, exit_hard)
    timer.daemon = True
    timer.start()


async def _listen(http: HttpServer) -> None:
    """Start the HTTP server; an address it cannot listen on is a configuration error."""
    try:
        await http.start()
    except OSError as exc:
        key = "http.port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "http.host"
        reason = exc.strerror or str(exc)
        raise ConfigError(key, f"cannot listen on {http.host}:{http.port}: {reason}") from exc


async def _serve(config: Config, pipeline: Pipeline, fetcher: Fetcher | None, metrics: Metrics,
                 health: Health, stop: asyncio.Event) -> None:
    """Connect (retrying while the broker is unreachable) and run a worker until ``stop``."""
    delay = 0.5
    log.info("connecting", extra={"bootstrap_servers": config.kafka.bootstrap_servers,
                                  "group_id": config.kafka.group_id})
    while not stop.is_set():
        try:
            await check_topics_at_start(config)
            await Worker(config, pipeline, metrics, health, fetcher).run(stop)
            return
        except KafkaConnectionError as exc:
            health.set_ready(False, f"broker unreachable: {exc}")
            log.warning("broker unreachable, retrying", extra={"error": str(exc),
                                                               "retry_in_s": delay})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(_CONNECT_RETRY_MAX_S, delay * 2)
        except TopicsMissing as exc:
            log.error("worker stopped", extra={"error": str(exc)})
            stop.set()
            raise
        except ConfigError:  # the cluster's topics do not fit: exit 2 with the reason
            stop.set()
            raise
        except Exception:
            log.exception("worker failed")
            stop.set()
            raise


async def check_topics_at_start(config: Config) -> None:
    """Create missing topics (``kafka.create_topics``); refuse topics that would corrupt state."""
    report = await ensure_topics(config, create=config.kafka.create_topics)
    log_report(report)
    if report.fatal:
        problem = report.fatal[0]
        raise ConfigError(problem.key, problem.message)
    if report.missing:
        names = ", ".join(spec.name for spec in report.missing)
        raise ConfigError("kafka.create_topics", f"is false and topics are missing: {names} "
                          "(create them with `article-ingest topics --create`)")


async def check_topics(config: Config, create: bool, out: TextIO) -> int:
    """``article-ingest topics``: one line per topic, then its problems; 0 when all fit, 1 when
    some are missing (without ``--create``), 2 when one would corrupt state."""
    try:
        report = await ensure_topics(config, create)
    except KafkaConnectionError as exc:
        raise ConfigError("kafka.bootstrap_servers",
                          f"cannot reach {config.kafka.bootstrap_servers}: {exc}") from exc
    for spec in report.specs:
        facts = report.existing.get(spec.name)
        status = ("created" if spec.name in report.created else "exists") if facts else "missing"
        shape = f"partitions={facts.partitions} replication={facts.replication}" if facts else ""
        out.write(f"{spec.name}\t{spec.key}\t{status}\t{shape}\n")
    for problem in report.problems:
        out.write(f"{problem.severity.value}: {problem.key}: {problem.message}\n")
    return 2 if report.fatal else 1 if report.missing else 0


async def process_file(config: Config, source: BinaryIO, name: str,
                       out_dir: Path) -> dict[str, int]:
    """``process``: the pipeline offline, raw JSONL in, the records ``run`` makes out."""
    metrics = Metrics()
    pipeline = build_pipeline(config, metrics)
    fetcher = build_fetcher(config, metrics)
    async with contextlib.AsyncExitStack() as stack:
        if fetcher is not None:
            await stack.enter_async_context(fetcher)
        return await offline.process_file(config, pipeline, fetcher, source, name, out_dir)
