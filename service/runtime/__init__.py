"""The runners: ``worker`` (``run``, on Kafka), ``offline`` (``process``, files) and ``replay``.

Both pipelines' runners feed messages through the same batch flow (``flow``: decode, fetch,
prepare) and the same routing (``routing``: a prepared article to its state shard, and the
shard's step), so ``run`` and ``process`` emit the same records for the same input. The Kafka
worker's parts: ``delivery`` (produce, retry), ``checkpoint`` (ack order, commits,
backpressure), ``recovery`` (shard restore), ``shards`` (decide, settle) and ``probes`` (topics,
lag). The package imports none of its modules: ``process`` must not load the Kafka worker.
"""

__all__ = ["checkpoint", "delivery", "flow", "offline", "probes", "recovery", "replay", "routing",
           "shards", "worker"]
