"""Opinion groups on synthetic votes with planted groups: recovered exactly, deterministic,
participants with too few votes left out, consensus found, moderated statements ignored."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from polls.opinions import OpinionMap, VoteMatrix, compute_opinions

CONSENSUS = (0, 1)  # statements every planted group agrees with


def planted(sizes=(40, 30, 20), statements=30, seen=0.7, noise=0.1, seed=1,
            few_votes=0) -> tuple[VoteMatrix, np.ndarray]:
    """Groups with opposite stances on random statements; each person sees ~`seen` of the
    statements and departs from their group's stance with probability `noise`. `few_votes`
    extra participants cast only 3 votes each (truth -1)."""
    rng = np.random.default_rng(seed)
    stances = rng.choice([-1.0, 1.0], size=(len(sizes), statements))
    stances[1] = -stances[0]  # so that no statement but the planted ones unites every group
    stances[:, list(CONSENSUS)] = 1.0
    truth = np.repeat(np.arange(len(sizes)), sizes)
    values = stances[truth]
    departs = rng.random(values.shape) < noise
    values = np.where(departs, rng.choice([0.0, -1.0, 1.0], size=values.shape), values)
    values[rng.random(values.shape) > seen] = np.nan
    if few_votes:
        extra = np.full((few_votes, statements), np.nan)
        for row in extra:
            row[rng.choice(statements, 3, replace=False)] = rng.choice([-1.0, 1.0], 3)
        values = np.vstack([values, extra])
        truth = np.concatenate([truth, np.full(few_votes, -1)])
    people = tuple(f"p{i}" for i in range(len(values)))
    return VoteMatrix(people, tuple(range(statements)), values), truth


def test_planted_groups_are_recovered_exactly() -> None:
    votes, truth = planted()
    result = compute_opinions(votes)
    assert len(result.groups) == 3
    assert adjusted_rand_score(truth, result.group) == 1.0
    assert [g.size for g in result.groups] == [40, 30, 20]  # group 0 is the largest
    assert [g.label for g in result.groups] == ["A", "B", "C"]
    assert max(result.silhouettes, key=result.silhouettes.__getitem__) == 3
    assert result.coords.shape == (90, 2) and 0 < sum(result.explained) <= 1


def test_representative_statements_set_a_group_apart() -> None:
    votes, truth = planted(sizes=(40, 40), seed=3)
    result = compute_opinions(votes)
    for group in result.groups:
        assert group.representative, group
        members = truth[result.group == group.id][0]
        others = 1 - members
        stances = np.nanmean(votes.values[truth == members], axis=0)
        other_stances = np.nanmean(votes.values[truth == others], axis=0)
        for item in group.representative:
            column = votes.statements.index(item.statement)
            assert item.statement not in CONSENSUS
            sign = 1 if item.direction == "agree" else -1
            assert sign * stances[column] > 0 > sign * other_stances[column]
            share = item.agree if item.direction == "agree" else item.disagree
            assert share > 0.5 and item.z > 1.28
        assert [r.direction for r in group.representative] == sorted(
            (r.direction for r in group.representative), key=lambda d: d != "agree")


def test_participants_with_too_few_votes_are_left_out() -> None:
    votes, truth = planted(few_votes=12)
    result = compute_opinions(votes)
    left_out = truth == -1
    assert (result.group[left_out] == -1).all() and not result.in_conversation[left_out].any()
    assert (result.group[~left_out] >= 0).all() and result.grouped == 90
    assert adjusted_rand_score(truth[~left_out], result.group[~left_out]) == 1.0
    assert result.min_votes == 7 and (result.votes_cast[left_out] == 3).all()
    nearest = result.nearest_group()  # still placed on the chart, near some group
    assert (nearest >= 0).all() and (nearest[~left_out] == result.group[~left_out]).all()
    assert result.group_of("p0") == result.group[0] and result.group_of("p95") is None


def test_a_young_consultation_groups_its_most_active_voters() -> None:
    """Fewer than 15 people with 7 votes: the most active ones are taken in, as Polis does."""
    votes, _ = planted(sizes=(6, 6), statements=12, seen=0.4, seed=5)
    result = compute_opinions(votes)
    assert result.in_conversation.sum() == 12  # all of them, whatever their vote counts


def test_consensus_statements_are_found() -> None:
    votes, _ = planted()
    result = compute_opinions(votes)
    top = [item.statement for item in result.consensus]
    assert set(top[:2]) == set(CONSENSUS)
    assert len(top) == 5 and len(set(top)) == 5
    for item in result.consensus[:2]:
        assert len(item.agree) == 3 and min(item.agree) > 0.7
    scores = [item.score for item in result.consensus]
    assert scores == sorted(scores, reverse=True)


def test_moderated_statements_are_ignored() -> None:
    """An excluded statement shapes nothing: whatever its votes, the groups are the same, and it
    is never representative or consensus (though it counts as answered, as in Polis)."""
    votes, truth = planted(sizes=(40, 40), seed=7)
    values = votes.values.copy()
    rng = np.random.default_rng(0)
    values[:, 5] = 1.0  # everybody agrees: the top consensus statement, if it counted
    values[:, 6] = np.where(rng.random(80) < 0.5, 1.0, -1.0)  # a split across the groups
    base = VoteMatrix(votes.participants, votes.statements, values, frozenset({5, 6}))
    flipped_values = values.copy()
    flipped_values[:, 5:7] *= -1
    flipped = VoteMatrix(votes.participants, votes.statements, flipped_values, frozenset({5, 6}))
    first, second = compute_opinions(base), compute_opinions(flipped)
    assert adjusted_rand_score(truth, first.group) == 1.0
    assert (first.group == second.group).all() and np.allclose(first.coords, second.coords)
    assert first.excluded == (5, 6) and 5 not in first.statements
    mentioned = {c.statement for c in first.consensus} | {
        r.statement for g in first.groups for r in g.representative}
    assert not mentioned & {5, 6}


def test_same_votes_same_groups() -> None:
    votes, _ = planted(few_votes=5)
    first, second = compute_opinions(votes), compute_opinions(votes)
    assert (first.group == second.group).all()
    assert np.array_equal(first.coords, second.coords)
    assert first.consensus == second.consensus and first.groups == second.groups
    order = np.random.default_rng(2).permutation(len(votes.participants))
    shuffled = VoteMatrix(tuple(votes.participants[i] for i in order), votes.statements,
                          votes.values[order])
    again = compute_opinions(shuffled)
    assert adjusted_rand_score(first.group[order], again.group) == 1.0


def test_more_participants_than_base_clusters() -> None:
    votes, truth = planted(sizes=(150, 90, 60), seed=11)
    result = compute_opinions(votes, OpinionMap(base_clusters=40))
    assert len(result.groups) == 3 and adjusted_rand_score(truth, result.group) > 0.95


def test_too_few_people_for_groups() -> None:
    votes = VoteMatrix(("a", "b"), (1, 2), np.array([[1.0, -1.0], [1.0, np.nan]]))
    result = compute_opinions(votes)
    assert result.groups == () and (result.group == -1).all()
    assert (result.nearest_group() == -1).all()
    assert [c.statement for c in result.consensus] == [1, 2]
    empty = compute_opinions(VoteMatrix((), (), np.zeros((0, 0))))
    assert empty.groups == () and empty.consensus == ()


def test_vote_matrix_from_votes_keeps_the_last_vote() -> None:
    votes = VoteMatrix.from_votes(
        [("ana", 10, 1), ("ben", 11, -1), ("ana", 10, -1), ("ana", 12, 0)],
        statements=[12, 11, 10], excluded=[11])
    assert votes.participants == ("ana", "ben") and votes.statements == (12, 11, 10)
    assert np.array_equal(votes.values, [[0.0, np.nan, -1.0], [np.nan, -1.0, np.nan]],
                          equal_nan=True)
    assert votes.excluded == {11} and not votes.values.flags.writeable


@pytest.mark.parametrize(("participants", "statements", "values", "message"), [
    (("a",), (1,), [[2.0]], "a vote must be"),
    (("a", "b"), (1,), [[1.0]], "shape"),
    (("a", "a"), (1,), [[1.0], [0.0]], "participant id appears twice"),
])
def test_vote_matrix_rejects_bad_input(participants, statements, values, message) -> None:
    with pytest.raises(ValueError, match=message):
        VoteMatrix(participants, statements, np.array(values))
