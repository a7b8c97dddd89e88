"""The imperative shell: Kafka, the embedded broker, HTTP fetching and the HTTP endpoints.

Each adapter is a module, and its module is its public surface. The package imports none of
them: importing one adapter (the broker for a test, the fetcher for the pipeline's runner) must
not pull in the others and their clients.
"""

__all__ = ["assignor", "broker", "decompress", "fetch", "http", "kafka", "netguard", "partitioner",
           "topics"]
