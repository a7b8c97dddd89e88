"""Kafka security settings pass through to the client; secrets never reach logs or /metrics."""

from __future__ import annotations

import logging
import ssl
import subprocess
from pathlib import Path

import pytest

from service.config import load_config
from service.edges.http import Health, HttpServer
from service.edges.kafka import client_options
from service.logs import JsonFormatter
from service.metrics import Metrics


def test_sasl_scram_settings_pass_through_with_the_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret-from-file\n")
    config = load_config(env={
        "INGEST_KAFKA__BOOTSTRAP_SERVERS": "broker:9093",
        "INGEST_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "INGEST_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "INGEST_KAFKA__SASL_USERNAME": "ingest",
        "INGEST_KAFKA__SASL_PASSWORD_FILE": str(secret),
    })
    options = client_options(config.kafka)
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "ingest"
    assert options["sasl_plain_password"] == "s3cret-from-file"
    assert "s3cret" not in repr(config)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    done = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                           "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                          capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        pytest.skip("openssl is not available to make a test certificate")
    return cert, key


def test_tls_files_build_an_ssl_context(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    config = load_config(env={
        "INGEST_KAFKA__SECURITY_PROTOCOL": "SSL", "INGEST_KAFKA__SSL_CAFILE": str(cert),
        "INGEST_KAFKA__SSL_CERTFILE": str(cert), "INGEST_KAFKA__SSL_KEYFILE": str(key)})
    context = client_options(config.kafka)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED


def test_plaintext_has_no_security_options() -> None:
    options = client_options(load_config(env={}).kafka)
    assert options["security_protocol"] == "PLAINTEXT"
    assert "sasl_plain_password" not in options and "ssl_context" not in options


def test_secrets_stay_out_of_logs_and_metrics() -> None:
    config = load_config(env={"INGEST_KAFKA__SASL_PASSWORD": "hunter2-secret"})
    record = logging.makeLogRecord({"msg": "starting", "args": None})
    record.config = config
    assert "hunter2" not in JsonFormatter().format(record)
    body = HttpServer("127.0.0.1", 0, Metrics(), Health()).respond("GET", "/metrics")[2]
    assert b"hunter2" not in body
