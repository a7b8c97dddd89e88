"""article-ingest: streaming ingestion for news articles on Kafka."""

__version__ = "0.1.0"
