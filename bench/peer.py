"""The pipeline a user would write instead of the service: the yardstick of bench/run.

aiokafka consume -> ``trafilatura.extract`` for HTML (text passed through) -> MinHash LSH
(rensa) -> online TF-IDF nearest-centroid clustering -> produce a clean and a cluster record
-> await the acknowledgements and commit, per batch. No furniture removal, metadata, windows,
state changelog or refinement: what a small, honest script does, so that the service is held to
doing more for at least the same cost.

rensa, not datasketch: on 1,000 corpus texts (3-word shingles, 128 permutations, query then
insert) rensa took 58 us per article and datasketch 1,055 us on this machine.
Needs the ``bench`` extra (rensa, trafilatura); ``available()`` says what is missing.
"""

from __future__ import annotations

import importlib.util
import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

PERMUTATIONS = 128
BANDS = 32
NEAR_JACCARD = 0.5  # the service's stories.near_jaccard
JOIN_COSINE = 0.3  # TF-IDF cosine to the nearest centroid that joins its story
CENTROID_TERMS = 200  # a centroid keeps its heaviest terms
INDEX_TERMS = 20  # terms of a centroid (and of a query) in the inverted index
_WORD = re.compile(r"\w+")


def available() -> str | None:
    """None when the peer can run, else which of its packages is missing."""
    missing = [name for name in ("rensa", "trafilatura") if importlib.util.find_spec(name) is None]
    return f"needs {', '.join(missing)} (the bench extra)" if missing else None


Vector = dict[str, float]


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass
class Stories:
    """Online TF-IDF with nearest-centroid assignment through an inverted index of centroids'
    top terms (a linear scan would slow down with every story)."""

    documents: int = 0
    df: Counter[str] = field(default_factory=Counter)
    centroids: list[Vector] = field(default_factory=list)
    index: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def vector(self, words: list[str]) -> Vector:
        """Unit TF-IDF vector of a document (its terms counted into the frequencies first)."""
        counts = Counter(words)
        self.documents += 1
        self.df.update(counts.keys())
        # sublinear tf, smoothed idf (scikit-learn's TfidfVectorizer formulas)
        weights = {w: (1.0 + math.log(c)) * (1.0 + math.log((1 + self.documents)
                                                            / (1 + self.df[w])))
                   for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {w: v / norm for w, v in weights.items()}

    def assign(self, vector: Vector) -> tuple[int, float, bool]:
        """(story, cosine, new) for a document vector; the story's centroid takes it in."""
        top = sorted(vector, key=vector.__getitem__, reverse=True)[:INDEX_TERMS]
        candidates = set().union(*(self.index.get(w, ()) for w in top)) if top else set()
        best, score = -1, 0.0
        for story in candidates:
            centroid = self.centroids[story]
            norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
            cosine = sum(v * centroid.get(w, 0.0) for w, v in vector.items()) / norm
            if cosine > score:
                best, score = story, cosine
        if best < 0 or score < JOIN_COSINE:
            self.centroids.append({})
            best, score, new = len(self.centroids) - 1, 1.0, True
        else:
            new = False
        merged = Counter(self.centroids[best])
        merged.update(vector)
        kept = {term: float(weight) for term, weight in merged.most_common(CENTROID_TERMS)}
        self.centroids[best] = kept
        for w in sorted(kept, key=kept.__getitem__, reverse=True)[:INDEX_TERMS]:
            self.index[w].add(best)
        return best, score, new


class Peer:
    """One message in, its clean and cluster records out."""

    def __init__(self) -> None:
        import rensa
        import trafilatura

        self._extract = trafilatura.extract
        self._minhash = rensa.RMinHash
        self._lsh = rensa.RMinHashLSH(NEAR_JACCARD, PERMUTATIONS, BANDS)
        self._signatures: list[Any] = []
        self.stories = Stories()

    def handle(self, value: bytes) -> tuple[bytes, bytes]:
        message = orjson.loads(value)
        html = message.get("html")
        text = (self._extract(html) or "") if html else message.get("text", "")
        tokens = words(text)
        signature = self._minhash(PERMUTATIONS, 42)
        signature.update([" ".join(tokens[i:i + 3]) for i in range(max(1, len(tokens) - 2))])
        duplicate_of = None
        for other in self._lsh.query(signature):
            if signature.jaccard(self._signatures[other]) >= NEAR_JACCARD:
                duplicate_of = other
                break
        serial = len(self._signatures)
        self._signatures.append(signature)
        self._lsh.insert(serial, signature)
        story, similarity, new = self.stories.assign(self.stories.vector(tokens))
        clean = orjson.dumps({"id": message.get("id"), "url": message.get("url"),
                              "title": message.get("title"), "text": text,
                              "duplicate_of": duplicate_of})
        event = orjson.dumps({"id": message.get("id"), "cluster_id": story,
                              "similarity": round(similarity, 4), "is_new_cluster": new})
        return clean, event


async def run(bootstrap: str, source: str, clean: str, clusters: str, group: str,
              count: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) from the first batch until ``count`` messages are
    produced and committed."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    peer = Peer()
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_poll_records=500)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=262_144,
                                linger_ms=5, enable_idempotence=False)
    await producer.start()
    await consumer.start()
    try:
        done, started, cpu = 0, 0.0, 0.0
        while done < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if not started and batches:
                started, cpu = time.perf_counter(), time.process_time()
            futures = []
            for messages in batches.values():
                for message in messages:
                    record, event = peer.handle(message.value)
                    futures.append(await producer.send(clean, record, key=message.key))
                    futures.append(await producer.send(clusters, event, key=message.key))
                    done += 1
            for future in futures:
                await future
            await consumer.commit()
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        await consumer.stop()
        await producer.stop()
