"""Opinion groups from a consultation's votes, computed the way Polis computes them.

Citizens vote Agree (1), Disagree (-1) or Pass (0) on short statements; most see only some of
them. From the participant x statement matrix this module finds groups of participants who vote
alike, what sets each group apart (its representative statements) and what every group agrees
on (the consensus statements). The steps follow Polis's published math (polismath
`conversation.clj`, `pca.clj`, `clusters.clj`, `repness.clj`), because city staff compare the
result with Polis reports and because each step matters on real conversations
(`townhall eval opinions` measures it against Polis's own groups):

1. **Moderation.** A statement moderated out (or marked meta) gets its column set to 0 for
   everyone, as Polis does, rather than being dropped: it then weighs nothing in the components,
   but still counts as "answered" in step 4's scaling. Dropping the column instead changes who
   gets scaled out, and moves the groups away from Polis's (ARI 0.88 -> 0.56 on Seattle).
2. **Who is in.** Only participants with at least min(7, statements) votes (counted before
   moderation) are grouped; if that leaves fewer than 15, the most active voters are added.
   A few votes place a person almost anywhere, and would blur the groups.
3. **Components.** A missing vote is imputed with the statement's mean vote, then the two
   principal components of the whole matrix (every participant) are taken.
4. **Projection.** Each participant is projected from the votes they did cast only, scaled by
   sqrt(statements / votes cast): someone who answered a quarter of the statements would
   otherwise sit near the centre for lack of data, not for lack of opinion.
5. **Groups.** The grouped participants are summarised by up to 100 base clusters (k-means),
   then the base clusters (weighted by their sizes) are grouped by k-means for k = 2..5
   (at most 2 + bases / 12), keeping the k with the best silhouette over the base clusters.
   Polis warm-starts every k-means from its previous run; here each k-means starts from a
   fixed seed with several restarts, so the same votes always give the same groups.
6. **Representative statements** of a group: those it agrees (or disagrees) with
   significantly more than the other groups, by a two-proportion z-test with pseudo-counts,
   ranked by Polis's repness metric.
7. **Consensus**: statements ranked by group-informed consensus, the product over groups of
   each group's agree probability (A + 1) / (S + 2): high only if every group agrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

Id = int | str
Direction = Literal["agree", "disagree"]
Z_90 = 1.2816  # one-sided z for 90% confidence, Polis's significance level


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Votes as a participant x statement matrix: 1 agree, -1 disagree, 0 pass, NaN not seen.

    `excluded` names statements moderated out (or meta statements): they stay in the matrix,
    because Polis counts them when it decides who voted enough, but shape nothing else.
    """

    participants: tuple[Id, ...]
    statements: tuple[Id, ...]
    values: np.ndarray
    excluded: frozenset[Id] = frozenset()

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=float)
        if values.shape != (len(self.participants), len(self.statements)):
            raise ValueError(f"values have shape {values.shape}, expected "
                             f"({len(self.participants)}, {len(self.statements)})")
        cast = values[~np.isnan(values)]
        if not np.isin(cast, (-1.0, 0.0, 1.0)).all():
            raise ValueError("a vote must be 1 (agree), -1 (disagree), 0 (pass) or NaN")
        for name, ids in (("participant", self.participants), ("statement", self.statements)):
            if len(set(ids)) != len(ids):
                raise ValueError(f"a {name} id appears twice")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "statements", tuple(self.statements))
        object.__setattr__(self, "excluded", frozenset(self.excluded))

    @classmethod
    def from_votes(cls, votes: Iterable[tuple[Id, Id, int]], *, statements: Sequence[Id] = (),
                   excluded: Iterable[Id] = ()) -> VoteMatrix:
        """Build from (participant, statement, vote) in the order they were cast: a later vote
        by the same person on the same statement replaces the earlier one. Participants and
        statements keep their order of first appearance (`statements` first, if given)."""
        latest: dict[tuple[Id, Id], int] = {}
        people: dict[Id, int] = {}
        columns: dict[Id, int] = {s: i for i, s in enumerate(statements)}
        for participant, statement, vote in votes:
            people.setdefault(participant, len(people))
            columns.setdefault(statement, len(columns))
            latest[participant, statement] = vote
        values = np.full((len(people), len(columns)), np.nan)
        for (participant, statement), vote in latest.items():
            values[people[participant], columns[statement]] = vote
        return cls(tuple(people), tuple(columns), values, frozenset(excluded))


@dataclass(frozen=True)
class RepresentativeStatement:
    """A statement that sets a group apart; shares are raw (votes / participants who saw it)."""

    statement: Id
    direction: Direction
    agree: float
    disagree: float
    seen: int
    others_agree: float
    others_disagree: float
    repness: float  # how many times likelier the group is to vote this way than the others
    z: float  # two-proportion z-statistic, group vs the others


@dataclass(frozen=True)
class OpinionGroup:
    id: int  # 0 is the largest group
    size: int
    center: tuple[float, float]
    representative: tuple[RepresentativeStatement, ...]

    @property
    def label(self) -> str:
        return chr(ord("A") + self.id) if self.id < 26 else str(self.id + 1)


@dataclass(frozen=True)
class ConsensusStatement:
    statement: Id
    score: float  # group-informed consensus: product of the groups' agree probabilities
    agree: tuple[float, ...]  # share of each group (by group id) that agreed
    disagree: tuple[float, ...]
    seen: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class OpinionResult:
    """Groups per participant (-1: not grouped, too few votes) and what each group stands for.

    Arrays are indexed like `participants`; `coords` places every participant, grouped or not,
    on the chart's two axes; `explained` is the share of the vote variance each axis shows.
    """

    participants: tuple[Id, ...]
    statements: tuple[Id, ...]  # the statements that shaped the groups (not excluded, voted on)
    excluded: tuple[Id, ...]
    votes_cast: np.ndarray
    in_conversation: np.ndarray
    group: np.ndarray
    coords: np.ndarray
    explained: tuple[float, float]
    groups: tuple[OpinionGroup, ...]
    consensus: tuple[ConsensusStatement, ...]
    silhouettes: dict[int, float] = field(default_factory=dict)
    min_votes: int = 7

    @property
    def grouped(self) -> int:
        return int((self.group >= 0).sum())

    def group_of(self, participant: Id) -> int | None:
        index = self.participants.index(participant)
        return int(self.group[index]) if self.group[index] >= 0 else None

    def nearest_group(self) -> np.ndarray:
        """Each participant's group, and for those left out the group whose centre is nearest
        to them on the chart (-1 for everyone when there are no groups)."""
        if not self.groups:
            return np.full(len(self.participants), -1)
        centers = np.array([g.center for g in self.groups])
        distances = ((self.coords[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        return np.where(self.group >= 0, self.group, distances.argmin(axis=1))


@dataclass(frozen=True)
class OpinionMap:
    """The method's settings; the defaults are Polis's (`seed` and `restarts` replace its
    warm starts, see the module docstring)."""

    min_votes: int = 7
    greedy_participants: int = 15
    base_clusters: int = 100
    max_groups: int = 5
    representatives: int = 5
    consensus: int = 5
    seed: int = 0
    restarts: int = 10

    def compute(self, votes: VoteMatrix) -> OpinionResult:
        values = votes.values
        voted = ~np.isnan(values)
        columns = voted.any(axis=0)  # a statement nobody saw carries no information
        values, statements = values[:, columns], tuple(np.array(votes.statements, object)[columns])
        excluded = np.array([s in votes.excluded for s in statements], dtype=bool)
        cast = (~np.isnan(values)).sum(axis=1)
        threshold = min(self.min_votes, len(statements))
        active = _in_conversation(cast, threshold, self.greedy_participants)
        coords, explained = _project(values, excluded)
        points = coords[active]
        # k-means on a few thousand 2-D points is fastest on one thread; OpenMP's spinning
        # workers are 10x slower when the cores are busy (the bot's encoders run beside it)
        with threadpool_limits(limits=1, user_api="openmp"):
            labels, centers, silhouettes = _group(points, self)
        group = np.full(len(votes.participants), -1)
        group[np.flatnonzero(active)] = labels
        kept = values[:, ~excluded][active]
        members = labels if len(centers) else np.zeros(len(kept), dtype=int)
        counts = _counts(kept, members, max(len(centers), 1))
        kept_ids = tuple(s for s, out in zip(statements, excluded, strict=True) if not out)
        groups = tuple(
            OpinionGroup(g, int((labels == g).sum()), (float(c[0]), float(c[1])),
                         _representative(counts, g, kept_ids, self.representatives))
            for g, c in enumerate(centers)
        )
        return OpinionResult(
            participants=votes.participants, statements=kept_ids,
            excluded=tuple(s for s, out in zip(statements, excluded, strict=True) if out),
            votes_cast=cast, in_conversation=active, group=group, coords=coords,
            explained=explained, groups=groups,
            consensus=_consensus(counts, kept_ids, self.consensus), silhouettes=silhouettes,
            min_votes=threshold,
        )


def compute_opinions(votes: VoteMatrix, opinion_map: OpinionMap | None = None) -> OpinionResult:
    return (opinion_map or OpinionMap()).compute(votes)


def _in_conversation(cast: np.ndarray, threshold: int, greedy: int) -> np.ndarray:
    active = cast >= max(threshold, 1)
    if active.sum() < greedy:  # a young consultation: take its most active voters
        order = np.argsort(-cast, kind="stable")
        active[order[:greedy]] = True
        active &= cast > 0
    return active


def _project(values: np.ndarray, excluded: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Participants on the two principal components (steps 1, 3 and 4 of the module doc)."""
    n, m = values.shape
    if n == 0 or m == 0:
        return np.zeros((n, 2)), (0.0, 0.0)
    rating = values.copy()
    rating[:, excluded] = 0.0
    seen = ~np.isnan(rating)
    answered = seen.sum(axis=0)
    sums = np.where(seen, rating, 0.0).sum(axis=0)
    means = np.divide(sums, answered, out=np.zeros(m), where=answered > 0)
    filled = np.where(seen, rating, means)
    center = filled.mean(axis=0)
    _, singular, vt = np.linalg.svd(filled - center, full_matrices=False)
    components = np.zeros((2, m))
    components[: min(2, len(vt))] = vt[:2]
    for row in components:  # a fixed orientation: the largest loading points right / up
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    projected = np.where(seen, rating - center, 0.0) @ components.T
    coords = projected * np.sqrt(m / np.maximum(seen.sum(axis=1), 1))[:, None]
    variance = float((singular**2).sum())
    shares = [float(s**2 / variance) if variance else 0.0 for s in singular[:2]]
    shares += [0.0] * (2 - len(shares))
    return coords, (shares[0], shares[1])


def _group(points: np.ndarray, settings: OpinionMap
           ) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """Base clusters, then groups of base clusters with k chosen by silhouette (step 5).
    Returns each point's group (0 = largest), the group centres, and the silhouette per k."""
    distinct, inverse = np.unique(points, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(distinct) < 3:
        return np.full(len(points), -1), np.zeros((0, 2)), {}
    if len(distinct) <= settings.base_clusters:  # each distinct position is its own base
        bases, base_of = distinct, inverse
    else:
        km = KMeans(settings.base_clusters, n_init=settings.restarts,
                    random_state=settings.seed).fit(points)
        used = np.unique(km.labels_)
        bases, base_of = km.cluster_centers_[used], np.searchsorted(used, km.labels_)
    weights = np.bincount(base_of, minlength=len(bases)).astype(float)
    top = min(settings.max_groups, 2 + len(bases) // 12, len(bases) - 1)
    best: tuple[float, np.ndarray] | None = None
    silhouettes: dict[int, float] = {}
    for k in range(2, top + 1):
        km = KMeans(k, n_init=settings.restarts, random_state=settings.seed)
        labels = km.fit(bases, sample_weight=weights).labels_
        if len(np.unique(labels)) < 2:
            continue
        silhouettes[k] = float(silhouette_score(bases, labels))
        if best is None or silhouettes[k] > best[0]:
            best = (silhouettes[k], labels)
    if best is None:
        return np.full(len(points), -1), np.zeros((0, 2)), silhouettes
    raw = best[1][base_of]
    ids = np.unique(raw)
    sizes = np.array([(raw == i).sum() for i in ids])
    order = ids[np.argsort(-sizes, kind="stable")]  # group 0 is the largest
    relabel = {int(old): new for new, old in enumerate(order)}
    labels = np.array([relabel[int(r)] for r in raw])
    centers = np.array([points[labels == g].mean(axis=0) for g in range(len(order))])
    return labels, centers, silhouettes


@dataclass(frozen=True)
class _Counts:
    """Per group x statement: agrees, disagrees, and seen (agree + disagree + pass)."""

    agree: np.ndarray
    disagree: np.ndarray
    seen: np.ndarray


def _counts(values: np.ndarray, labels: np.ndarray, k: int) -> _Counts:
    rows = [values[labels == g] for g in range(k)]
    return _Counts(np.array([(r == 1).sum(axis=0) for r in rows], dtype=float),
                   np.array([(r == -1).sum(axis=0) for r in rows], dtype=float),
                   np.array([(~np.isnan(r)).sum(axis=0) for r in rows], dtype=float))


def _prop_test(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    return 2 * np.sqrt(trials + 1) * ((successes + 1) / (trials + 1) - 0.5)


def _two_prop_test(s1: np.ndarray, s2: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    s1, s2, n1, n2 = s1 + 1, s2 + 1, n1 + 1, n2 + 1
    pooled = (s1 + s2) / (n1 + n2)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return np.divide(s1 / n1 - s2 / n2, spread, out=np.zeros_like(spread), where=spread > 0)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return np.divide(part, whole, out=np.zeros_like(part, dtype=float), where=whole > 0)


def _representative(counts: _Counts, g: int, statements: tuple[Id, ...], top: int
                    ) -> tuple[RepresentativeStatement, ...]:
    """Statements group `g` agrees or disagrees with significantly more than the others
    (z > 1.28 both against 50% and against the other groups), best repness metric first,
    agreements before disagreements; failing any, the one with the strongest z."""
    if counts.seen.shape[0] < 2 or not statements:
        return ()
    seen, others_seen = counts.seen[g], counts.seen.sum(axis=0) - counts.seen[g]
    found: list[tuple[float, RepresentativeStatement]] = []
    best: tuple[float, RepresentativeStatement] | None = None
    directions: tuple[tuple[Direction, np.ndarray], ...] = (
        ("agree", counts.agree), ("disagree", counts.disagree))
    for direction, votes in directions:
        inside, outside = votes[g], votes.sum(axis=0) - votes[g]
        p = (inside + 1) / (seen + 2)
        ratio = p / ((outside + 1) / (others_seen + 2))
        z_group, z_others = _prop_test(inside, seen), _two_prop_test(
            inside, outside, seen, others_seen)
        metric = ratio * z_others * p * z_group
        for j in np.flatnonzero(seen > 0):
            item = RepresentativeStatement(
                statements[j], direction,
                float(_share(counts.agree[g], seen)[j]),
                float(_share(counts.disagree[g], seen)[j]), int(seen[j]),
                float(_share(counts.agree.sum(0) - counts.agree[g], others_seen)[j]),
                float(_share(counts.disagree.sum(0) - counts.disagree[g], others_seen)[j]),
                float(ratio[j]), float(z_others[j]))
            if z_others[j] > Z_90 and z_group[j] > Z_90:
                found.append((float(metric[j]), item))
            if best is None or z_others[j] > best[0]:
                best = (float(z_others[j]), item)
    if not found:
        return (best[1],) if best is not None else ()
    chosen = [item for _, item in sorted(found, key=lambda f: -f[0])[:top]]
    return tuple(sorted(chosen, key=lambda r: r.direction != "agree"))


def _consensus(counts: _Counts, statements: tuple[Id, ...], top: int
               ) -> tuple[ConsensusStatement, ...]:
    """The statements every group tends to agree with (step 7)."""
    if not statements:
        return ()
    score = np.prod((counts.agree + 1) / (counts.seen + 2), axis=0)
    order = np.argsort(-score, kind="stable")[:top]
    agree, disagree = _share(counts.agree, counts.seen), _share(counts.disagree, counts.seen)
    return tuple(
        ConsensusStatement(statements[j], float(score[j]), tuple(map(float, agree[:, j])),
                           tuple(map(float, disagree[:, j])),
                           tuple(int(s) for s in counts.seen[:, j]))
        for j in order
    )
