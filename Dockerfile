# syntax=docker/dockerfile:1
# article-ingest container: `docker build -t article-ingest .`
# Configure with INGEST_<SECTION>__<KEY> variables; INGEST_KAFKA__BOOTSTRAP_SERVERS is required
# (the image has no embedded broker: it is the `embedded` extra, for laptops and tests only).
# The base of both stages. For reproducible production builds pin it by digest, e.g.
#   docker build --build-arg BASE_IMAGE=python:3.11-slim@sha256:<digest> .
# where `docker buildx imagetools inspect python:3.11-slim` prints the current digest; to bump it,
# run that again, rebuild, and run the tests in the new image. (The default below is a tag: the
# digest could not be looked up where this file was written, with no registry access.)
ARG BASE_IMAGE=python:3.11-slim

# Stage 1: wheels for the service and every dependency, built once from the source tree, the
# service's per-article core compiled to C by mypyc (setup.py; ARTICLE_INGEST_COMPILE=0 builds
# it interpreted). gcc and the C library headers for that; they stay in this stage.
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
ARG ARTICLE_INGEST_COMPILE=1
ENV ARTICLE_INGEST_COMPILE=${ARTICLE_INGEST_COMPILE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY service ./service
# service/default.toml links here: every setting's default, which the service reads at import
# and `article-ingest config` prints.
COPY config ./config
RUN pip wheel --wheel-dir /wheels .

# Stage 2: the runtime, with no compiler, no source tree and no wheel cache.
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INGEST_HTTP__HOST=0.0.0.0
RUN groupadd --system --gid 10001 ingest \
    && useradd --system --uid 10001 --gid ingest --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin ingest
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels article-ingest
# The samples, where the compose crawler stand-in replays them from.
COPY service/samples/ /app/samples/
WORKDIR /app
# Numeric so that Kubernetes can verify runAsNonRoot. Nothing is written outside /tmp, so the
# root file system can be mounted read-only.
USER 10001:10001
EXPOSE 9400
# Probes the port in INGEST_HTTP__PORT (default 9400): change the port with that variable.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('INGEST_HTTP__PORT', '9400') + '/healthz', timeout=3)"]
ENTRYPOINT ["article-ingest"]
CMD ["run"]
