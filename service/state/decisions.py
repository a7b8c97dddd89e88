"""Where one article goes: is it a copy, which story it joins or starts, which stories merge.

Functions over the ``Store``; each decision ends with a local refinement (``refine``) of the
stories around it.
"""

from __future__ import annotations

from array import array

import numpy as np
import xxhash

from service.records import Article, ArticleHead, Assignment, Fingerprint
from service.stages import cluster, dedup
from service.stages.cluster import Vector
from service.stages.features import StoryFeatures
from service.stages.fingerprint import U64
from service.state.refine import refine
from service.state.settings import StorySettings
from service.state.store import Store, Story
from service.timefmt import parse_timestamp


def redelivered(store: Store, article_id: str) -> Assignment | None:
    """The first decision on this article when it is still remembered: a redelivery gets the
    same answer again, and changes nothing."""
    known = store.serial_of(article_id)
    return None if known is None else store.first(known)


def decide(store: Store, article: Article | ArticleHead, fp: Fingerprint,
           features: StoryFeatures) -> list[Assignment]:
    """A new article's assignment first, then re-emitted assignments of articles it moved."""
    when = _event_time(store, article)
    store.advance(when)
    signature, size, terms = features.signature, features.shingles, features.terms
    keys = dedup.band_keys(signature)
    content = int(fp.content[:16], 16)
    root, kind, dup_similarity = _duplicate(store, content, signature, keys, size)
    store.df.add(terms)
    serial = store.add_article(article.id, signature, size, root, when, content, keys,
                               exact=kind == "exact")
    store.changes.terms.append((serial, terms))

    story, is_new, similarity, moved = _cluster(store, serial, terms,
                                                features.counts.astype(np.float64), root, when)
    if kind is not None:
        similarity = dup_similarity
    duplicate_of = None if root is None else store.ids[root % store.capacity]
    first = Assignment(article.id, story.cluster_id, is_new, similarity, duplicate_of, kind,
                       story.size)
    store.set_first(serial, first)
    # an article moved twice in one decision (two merges, a merge then a refinement) is
    # re-emitted once, where it ended
    return [first, *{assignment.article_id: assignment for assignment in moved}.values()]


def _event_time(store: Store, article: Article | ArticleHead) -> float:
    """``published_at``, else ``fetched_at``, else the latest event time seen."""
    for value in (article.published_at, article.fetched_at):
        moment = parse_timestamp(value)
        if moment is not None:
            return moment.timestamp()
    return store.latest


def _duplicate(store: Store, content: int, signature: dedup.Signature, keys: U64,
               size: int) -> tuple[int | None, str | None, float]:
    """(family root, kind, similarity) of the earliest live copy, or (None, None, 0)."""
    if size == 0:
        return None, None, 0.0
    s = store.settings
    exact = store.exact_copy(content)
    if exact is not None:
        return store.family(exact), "exact", 1.0
    best: tuple[float, int] | None = None
    for candidate in store.near_candidates(keys):
        slot = candidate % store.capacity
        jac = dedup.jaccard(signature, store.signatures[slot])
        con = dedup.containment(jac, size, int(store.shingles[slot]), s.near_min_shingles)
        if jac >= s.near_jaccard or con >= s.near_containment:
            score = max(jac, con)
            if best is None or score > best[0]:
                best = (score, candidate)
    if best is None:
        return None, None, 0.0
    return store.family(best[1]), "near", best[0]


def _cluster(store: Store, serial: int, terms: cluster.U32, counts: cluster.F64,
             root: int | None, when: float) -> tuple[Story, bool, float, list[Assignment]]:
    s = store.settings
    if root is not None:
        joined = store.story_of(root)
        if joined is not None:
            _join(store, joined, serial, None, when)
            return joined, False, 1.0, []
    vector = cluster.weigh(terms, counts, store.df, s.article_terms)
    store.keep_vector(serial, vector)
    found = store.story_candidates(vector, s.query_terms, s.candidates)
    values = cluster.cosines(vector, [store.live[c].centroid for c in found], store.columns)
    scored = sorted(zip(values, found, strict=True),
                    key=lambda pair: (-pair[0], pair[1]))
    chosen = next(((value, other) for value, other in scored if value >= s.join_threshold
                   and _admits(store, store.live[other], vector)), None)
    if chosen is None:
        cluster_id = xxhash.xxh3_64_hexdigest(store.ids[serial % store.capacity].encode())
        story = store.new_story(serial, cluster_id, vector, when)
        return story, True, 1.0, refine(store, story, scored, serial)
    similarity, best = chosen
    story = store.live[best]
    _join(store, story, serial, vector, when)
    moved: list[Assignment] = []
    merged = False
    # the centroid moved towards this article: the stories it reaches are those it neared
    others = [other for value, other in scored if other != best and value >= s.refine_floor]
    closeness = cluster.cosines(story.centroid, [store.live[o].centroid for o in others],
                               store.columns)
    for other, value in zip(others, closeness, strict=True):
        if other not in store.live:
            continue
        needed = _merge_needed(s, story, store.live[other])
        if value < needed:
            continue
        if merged:  # an earlier merge changed the centroid: measure again
            value = cluster.cosine(story.centroid, store.live[other].centroid)
            if value < needed:
                continue
        story, moved_now = _merge(store, story, store.live[other], value, serial)
        moved.extend(moved_now)
        merged = True
    return story, False, similarity, moved + refine(store, story, scored, serial)


def _admits(store: Store, story: Story, vector: Vector) -> bool:
    """Whether a young story takes this article: one of at most ``young_story_vectors``
    articles has no settled centroid, and an article close to one of them can pull the
    centroid towards a neighbouring event of the same kind (chaining). So a young story
    takes an article only when it is close to each of its articles (complete linkage)."""
    limit = store.settings.young_story_vectors
    # a story this large is no longer young even if most of it are copies: skip the scan
    if limit <= 0 or len(story.members) > 4 * limit:
        return True
    kept = [member for member in story.members if store.has_vector(member)]
    if not kept or len(kept) > limit:
        return True
    links = cluster.cosines(vector, [store.kept_vector(member) for member in kept],
                            store.columns)
    return min(links) >= store.settings.young_story_link


def _merge_needed(s: StorySettings, story: Story, other: Story) -> float:
    """Closeness at which two stories merge. A story of one article merges more readily: its
    lone vector sits further from any centroid than a member of a grown story does, and an
    article that fell just short of joining becomes closer as the story grows around it."""
    if min(story.size, other.size) == 1:
        return min(s.absorb_threshold, s.merge_threshold)
    return s.merge_threshold


def _join(store: Store, story: Story, serial: int, vector: Vector | None, when: float) -> None:
    story.members.append(serial)
    story.size += 1
    story.stamp = serial
    store.assign(serial, story.serial)
    if vector is not None:
        story.centroid = cluster.add_vectors(story.centroid, vector,
                                             store.settings.story_terms)
    store.reindex({story.serial})
    if when > story.last_time:
        story.last_time = when
    store.touch(story)


def _merge(store: Store, left: Story, right: Story, closeness: float,
           deciding: int) -> tuple[Story, list[Assignment]]:
    """Fold the younger story into the older; re-emit the articles whose story changed."""
    keep, gone = (left, right) if left.serial < right.serial else (right, left)
    keep.centroid = cluster.add_vectors(keep.centroid, gone.centroid, store.settings.story_terms)
    keep.size += gone.size
    keep.members = array("q", sorted(keep.members + gone.members))
    keep.last_time = max(keep.last_time, gone.last_time)
    keep.stamp = max(keep.stamp, gone.stamp)
    store.drop_story(gone)
    store.reindex({keep.serial})
    store.touch(keep)
    moved: list[Assignment] = []
    for serial in gone.members:
        store.assign(serial, keep.serial)
        first = store.first(serial)
        if serial == deciding or first is None:
            continue
        moved.append(Assignment(first.article_id, keep.cluster_id, False, closeness,
                                first.duplicate_of, first.duplicate_kind, keep.size,
                                reason="merged"))
    return keep, moved
