"""Second thoughts: move recent articles to the story they now fit best.

An article was placed against its neighbours as they were when it arrived; once they have
grown, it may sit closer to another story than to its own without it. ``refine`` revisits the
stories around each decision (one local k-means step); ``settle`` revisits every article whose
vector is kept, with the hindsight of a paused feed or an ended input. Functions over the
``Store``; every move is re-emitted as ``reassigned``.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

from service.records import Assignment
from service.stages import cluster
from service.state.store import Store, Story


@dataclass(slots=True)
class Settling:
    """Where a settle that runs in slices stands: passes left, the next article, and whether
    the pass under way moved anything (a pass that moves nothing ends the settle)."""

    passes_left: int
    at: int
    moved: bool = False


def refine(store: Store, story: Story, scored: list[tuple[float, int]],
           deciding: int) -> list[Assignment]:
    """Move recent articles around this decision to the story they now fit best.

    Only the ``refine_stories`` stories nearest the deciding article are revisited, and of
    each its ``refine_members`` latest articles whose vectors are kept, so the cost per
    decision is bounded."""
    s = store.settings
    hood = [story] + [store.live[other] for value, other in scored
                      if value >= s.refine_floor and other != story.serial
                      and other in store.live]
    hood = hood[:s.refine_stories]
    if len(hood) < 2:
        return []
    serials: list[int] = []
    own: list[int] = []
    for index, neighbour in enumerate(hood):
        for serial in neighbour.members[-s.refine_members:]:
            if serial != deciding and store.has_vector(serial):
                serials.append(serial)
                own.append(index)
    touched = {story.serial}
    moved = _apply(store, _misplaced(store, serials, own, hood, alone_joins=False), touched)
    if moved:
        _restamp(store, touched, deciding)
    return moved


def settle(store: Store, run: Settling | None,
           budget: int | None) -> tuple[list[Assignment], Settling | None]:
    """Decide again every article whose vector is kept, against the stories as they are now;
    the moves, and where a settle cut short by ``budget`` goes on (None: it is done).

    Each article moves to the story it fits best if that beats its own story without it by
    ``refine_margin``, and an article alone in its story joins the story it now reaches at
    ``join_threshold``. Passes repeat (at most ``settle_passes``) until nothing moves. Cost:
    one candidate lookup per kept article (``refine_horizon``). Passes run from the newest
    article back, so a settle cut short has revisited those placed with the least hindsight."""
    oldest = max(store.oldest, store.next_article - store.horizon)
    newest = store.next_article - 1
    run = run or Settling(store.settings.settle_passes, newest)
    left: float = budget if budget is not None else math.inf
    moved: list[Assignment] = []
    touched: set[int] = set()
    while run.passes_left > 0 and left > 0:
        if run.at < oldest:  # a pass ended
            run.passes_left = run.passes_left - 1 if run.moved else 0
            run.at, run.moved = newest, False
            continue
        now = _reconsider(store, run.at, touched)
        run.moved |= bool(now)
        moved.extend(now)
        run.at -= 1
        left -= 1
    if touched:
        _restamp(store, touched | {serial for serial, story in store.live.items()
                                   if story.stamp == newest}, newest)
    return moved, run if run.passes_left > 0 else None


def _reconsider(store: Store, serial: int, touched: set[int]) -> list[Assignment]:
    """Settle one article: its own story and the candidates its vector finds."""
    s = store.settings
    own = store.story_of(serial)
    if own is None or not store.has_vector(serial):
        return []
    # hindsight is off the hot path: the lookup reads all the article's terms
    found = store.story_candidates(store.kept_vector(serial), s.article_terms, s.candidates)
    hood = [own] + [store.live[story] for story in found if story != own.serial]
    changed: set[int] = set()
    moved = _apply(store, _misplaced(store, [serial], [0], hood, alone_joins=True), changed)
    store.reindex(changed)  # the next article's lookup sees the stories as they now are
    touched |= changed
    return moved


def _apply(store: Store, moves: list[tuple[int, Story, Story, float]],
           touched: set[int]) -> list[Assignment]:
    """Make the moves; ``touched`` collects the stories they changed."""
    moved: list[Assignment] = []
    for serial, source, target, similarity in moves:
        if source.serial in store.live and target.serial in store.live:
            moved.extend(_move(store, serial, source, target, similarity))
            touched.update((source.serial, target.serial))
    return moved


def _restamp(store: Store, touched: set[int], deciding: int) -> None:
    """Date the changed stories to this decision and index them in (stamp, serial) order
    with the stories it already dated: the order a restore rebuilds the index in, so a
    restarted shard finds the same candidates."""
    for serial in touched:
        if serial in store.live:
            store.live[serial].stamp = deciding
    store.reindex(touched)


def _misplaced(store: Store, serials: list[int], own: list[int], hood: list[Story],
               alone_joins: bool) -> list[tuple[int, Story, Story, float]]:
    """(article, its story, the story it fits better, its cosine there), all scored at once
    against the stories as they are (a Jacobi step: no move sees another). An article alone
    in its story moves only when ``alone_joins``, as it would have joined: at the join
    threshold."""
    s = store.settings
    if not serials:
        return []
    rows = np.array(serials) % store.horizon
    owners = np.array(own, dtype=np.intp)
    without, to_all = cluster.member_similarities(
        [neighbour.centroid for neighbour in hood], store.vector_terms[rows],
        store.vector_weights[rows], owners, store.columns)
    to_others = to_all.copy()
    to_others[np.arange(len(owners)), owners] = -1.0
    best = to_others.argmax(axis=1)
    reach = to_others[np.arange(len(owners)), best]
    gains = reach - without
    alone = without < 0
    gains[alone] = np.where(alone_joins & (reach[alone] >= s.join_threshold), 1.0, -1.0)
    picks = np.flatnonzero(gains > s.refine_margin)
    return [(serials[at], hood[owners[at]], hood[best[at]], float(to_all[at, best[at]]))
            for at in picks.tolist()]


def _move(store: Store, serial: int, source: Story, target: Story,
          similarity: float) -> list[Assignment]:
    """Move an article (and the copies that joined through it) from one story to another."""
    cap = store.capacity
    family = {member for member in source.members
              if member == serial or int(store.roots[member % cap]) == serial}
    vector = store.kept_vector(serial)
    source.members = array("q", [member for member in source.members if member not in family])
    source.size -= len(family)
    source.centroid = cluster.remove_vector(source.centroid, vector)
    target.members = array("q", sorted([*target.members, *family]))
    target.size += len(family)
    target.centroid = cluster.add_vectors(target.centroid, vector, store.settings.story_terms)
    target.last_time = max(target.last_time, float(store.times[serial % cap]))
    if source.members:
        store.touch(source)
    else:
        store.drop_story(source)
    store.touch(target)
    moved: list[Assignment] = []
    for member in sorted(family):
        store.assign(member, target.serial)
        first = store.first(member)
        if first is not None:
            moved.append(Assignment(first.article_id, target.cluster_id, False, similarity,
                                    first.duplicate_of, first.duplicate_kind, target.size,
                                    reason="reassigned"))
    return moved
