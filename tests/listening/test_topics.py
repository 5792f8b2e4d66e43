from datetime import UTC, datetime, timedelta

import numpy as np

from listening.topics import TopicSpace

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def around(center: np.ndarray, n: int, rng: np.random.Generator, spread: float = 0.3) -> np.ndarray:
    return unit(center[None, :] + spread * unit(rng.standard_normal((n, center.size))))


def test_a_burst_in_one_batch_becomes_one_topic_and_later_messages_join_it():
    rng = np.random.default_rng(1)
    center = unit(rng.standard_normal((1, 64)))[0]
    space = TopicSpace(64, threshold=0.6)
    first = space.place(around(center, 6, rng), [T0] * 6)
    assert len(set(first.topics.tolist())) == 1
    assert first.created == [int(first.topics[0])]
    later = space.place(around(center, 3, rng), [T0 + timedelta(minutes=5)] * 3)
    assert set(later.topics.tolist()) == {int(first.topics[0])}
    assert later.created == []
    assert space.size(int(first.topics[0])) == 9
    assert (later.similarity >= 0.6).all()


def test_unrelated_messages_get_their_own_topics_with_new_ids():
    rng = np.random.default_rng(2)
    space = TopicSpace(64, threshold=0.6)
    placed = space.place(unit(rng.standard_normal((5, 64))), [T0] * 5)
    assert sorted(placed.topics.tolist()) == [1, 2, 3, 4, 5]
    again = space.place(unit(rng.standard_normal((2, 64))), [T0] * 2)
    assert again.topics.tolist() == [6, 7]


def test_a_long_backlog_goes_through_in_chunks_and_keeps_one_topic_per_theme():
    rng = np.random.default_rng(3)
    centers = unit(rng.standard_normal((3, 64)))
    vectors = np.vstack([around(centers[k % 3], 1, rng) for k in range(3000)])
    placed = TopicSpace(64, threshold=0.6).place(vectors, [T0] * 3000, chunk=256)
    for k in range(3):
        assert len(set(placed.topics[k::3].tolist())) == 1


def test_forget_drops_old_singletons_but_keeps_groups_and_retires_stale_groups():
    rng = np.random.default_rng(4)
    space = TopicSpace(
        64, threshold=0.6, forget_after=timedelta(hours=6), retire_after=timedelta(days=8)
    )
    center = unit(rng.standard_normal((1, 64)))[0]
    group = int(space.place(around(center, 3, rng), [T0] * 3).topics[0])
    single = int(space.place(unit(rng.standard_normal((1, 64))), [T0]).topics[0])
    assert space.forget(T0 + timedelta(hours=7)) == [single]
    assert space.centroid(group) is not None and space.centroid(single) is None
    assert space.forget(T0 + timedelta(days=9)) == [group]
    assert len(space) == 0


def test_restored_topics_keep_their_ids_and_attract_their_messages():
    rng = np.random.default_rng(5)
    center = unit(rng.standard_normal((1, 64)))[0]
    space = TopicSpace(64, threshold=0.6)
    space.restore_many([41], center[None, :], [10], [T0])
    placed = space.place(around(center, 2, rng), [T0] * 2)
    assert placed.topics.tolist() == [41, 41]
    assert space.next_id == 42
    assert space.similarity(41, 41) > 0.99
