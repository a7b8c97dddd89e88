"""article-ingest: streaming ingestion for news articles on Kafka.

Layers, bottom up (each imports only from those below it): ``stages`` (pure processing steps),
``state`` (one shard's duplicate and story state), ``pipeline`` and ``config``, ``edges``
(adapters: Kafka clients, HTTP, fetching), ``runtime`` (the runners of ``run``, ``process`` and
``replay``), then ``app`` and ``cli`` (the ``article-ingest`` command; tests/test_layers.py
keeps the order). Importers outside the package need only the names below.
"""

# First: modules that report the version import it from here while the package loads.
__version__ = "0.1.0"

from service.config import Config, ConfigError, load_config
from service.pipeline import Pipeline

__all__ = ["Config", "ConfigError", "Pipeline", "__version__", "load_config"]
