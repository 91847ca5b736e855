"""Exact and near-duplicate removal: MinHash/LSH candidates, then :func:`compare`
(:func:`find_duplicates`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from pretrain.curate.config import CurateConfig
from pretrain.curate.fingerprints import Fingerprint, _mix
from pretrain.curate.matching import Match, compare, row_containment, rows_are_specific
from pretrain.curate.near_rows import near_row_shares


def minhash(tokens: np.ndarray, n_permutations: int = 64, seed: int = 0) -> np.ndarray:
    """MinHash signature (``n_permutations`` uint64) of a set of uint64 tokens."""
    seeds = _mix(np.arange(n_permutations, dtype=np.uint64) + np.uint64(seed * 1_000_003))
    if not len(tokens):
        return np.full(n_permutations, np.iinfo(np.uint64).max, dtype=np.uint64)
    return _mix(tokens[:, None] ^ seeds[None, :]).min(axis=0)


def lsh_candidates(signatures: Sequence[np.ndarray], bands: int) -> set[tuple[int, int]]:
    """Index pairs that agree on all rows of at least one LSH band."""
    pairs: set[tuple[int, int]] = set()
    if not len(signatures):
        return pairs
    rows = len(signatures[0]) // bands
    for band in range(bands):
        buckets: dict[bytes, list[int]] = {}
        for index, signature in enumerate(signatures):
            key = signature[band * rows:(band + 1) * rows].tobytes()
            buckets.setdefault(key, []).append(index)
        for members in buckets.values():
            for i, first in enumerate(members):
                for second in members[i + 1:]:
                    pairs.add((first, second))
    return pairs


def _narrowed(f: Fingerprint) -> Fingerprint:
    """A wide table restricted to the columns of its association matrix (the target and
    those most associated with it), so that comparing two wide tables stays cheap."""
    if len(f.assoc_columns) == f.n_columns:
        return f
    keep = f.assoc_columns
    return replace(
        f, numeric=f.numeric[keep], has_profile=f.has_profile[keep], levels=f.levels[keep],
        profile=f.profile[keep], shape=f.shape[keep], shape_noise=f.shape_noise[keep],
        shape_gap=f.shape_gap[keep], top=f.top[keep], missing=f.missing[keep],
        entropy=f.entropy[keep], assoc_columns=np.arange(len(keep)),
    )


def _near_duplicate_rows(a: Fingerprint, b: Fingerprint, match: Match,
                         config: CurateConfig) -> bool:
    """Whether the rows sampled in ``a``'s fingerprint are near copies of those sampled in
    ``b``'s (or the reverse), on the columns :func:`compare` paired.

    Either at least ``near_rows_min_share`` of the rows the two samples can share, and four
    times chance, also against half of the other sample (:func:`_beats_resample`); or, for
    a table of few, unspecific rows (haberman's three small integer columns, where shuffled
    columns still find close rows), 90% of them, at least 0.2 above chance, with a content
    distance within ``dup_max_distance``.
    """
    if a.near_rows is None or b.near_rows is None or match.n_paired < config.leak_min_columns \
            or min(a.n_rows, b.n_rows) < config.near_rows_min_row_ratio * max(a.n_rows, b.n_rows):
        return False
    pairs = [(int(a.assoc_columns[i]), int(b.assoc_columns[j])) for i, j in match.pairs]
    for first, second, swapped in ((a, b, False), (b, a, True)):
        shared = len(second.near_rows.ranks) / second.n_rows
        oriented = [(j, i) for i, j in pairs] if swapped else pairs
        near, chance, repeated = near_row_shares(first.near_rows, second.near_rows, oriented)
        if near * len(first.near_rows.ranks) < 10:
            continue
        if near >= 4 * chance and near >= config.near_rows_min_share * shared + repeated \
                and _beats_resample(first, second, oriented, config):
            return True
        if near >= 0.9 * shared and near >= max(chance, repeated) + 0.2 \
                and match.distance <= config.dup_max_distance:
            return True
    return False


def _beats_resample(first: Fingerprint, second: Fingerprint, pairs: list,
                    config: CurateConfig) -> bool:
    """Whether ``first``'s sampled rows are near copies of a half of ``second``'s sample
    clearly more often than the other half of that sample is (averaged over the two ways
    round): by what copying ``near_rows_min_share`` of the rows would add, by twice the
    standard error of the difference, and four times chance.

    Only for a ``second`` whose fingerprint keeps a sample of its rows: a sample's rows are
    sparser than the table's, so rows of another sample of the same population find a
    close one more often than the threshold on ``repeated`` (equal rows) allows. The
    disjoint halves of letter (20,000 rows of 16 small integers) had 0.14 of their sampled
    rows near copies where 0.04 was asked, those of mushroom 0.64 where 0.48 was, and both
    were grouped. The other half is a disjoint re-sample of ``second`` compared at the same
    density: the near rows one population gives without copying (letter 0.10, mushroom
    0.48). Copying a share ``o`` of the rows adds about ``o * s * (1 - baseline)``, where
    ``s`` is the share of ``second``'s rows in the half; where that is within the noise
    (letter's sample holds 5% of the table), the rows cannot tell a copy from a re-sample
    and the content distance decides.
    """
    halves = second.near_rows.halves()
    if len(second.near_rows.ranks) >= second.n_rows or \
            min(len(half.ranks) for half in halves) < 2:
        return True
    columns = [j for _, j in pairs]
    identity = list(zip(columns, columns, strict=True))
    near = chance = baseline = 0.0
    for reference, resample in (halves, halves[::-1]):
        shares = near_row_shares(first.near_rows, reference, pairs)
        near += shares[0] / 2
        chance += shares[1] / 2
        baseline += max(shares[2], near_row_shares(resample, reference, identity)[0]) / 2
    shared = len(halves[0].ranks) / second.n_rows
    error = math.sqrt(baseline * (1 - baseline) * (1 / len(first.near_rows.ranks)
                                                   + 1 / len(halves[1].ranks)))
    return near >= 4 * chance and near - baseline >= max(
        config.near_rows_min_share * shared * (1 - baseline), 2 * error)


def _shape_candidates(fingerprints: Sequence[Fingerprint]) -> set[tuple[int, int]]:
    """Index pairs of equal width and row counts within 10%: a noised copy (its ties
    broken) can share few column tokens with its original, but keeps its shape."""
    by_width: dict[int, list[int]] = {}
    for index, f in enumerate(fingerprints):
        by_width.setdefault(f.n_columns, []).append(index)
    pairs = set()
    for members in by_width.values():
        members.sort(key=lambda i: fingerprints[i].n_rows)
        for k, first in enumerate(members):
            for second in members[k + 1:]:
                if fingerprints[second].n_rows * 0.9 > fingerprints[first].n_rows:
                    break
                pairs.add((min(first, second), max(first, second)))
    return pairs


def _keep_order(f: Fingerprint) -> tuple:
    """Which member of a duplicate group is kept: real data first, then by id."""
    return (not f.real, f.id)


def _confirmed_pair(a: Fingerprint, b: Fingerprint, config: CurateConfig) -> dict | None:
    """The record of a candidate pair that :func:`find_duplicates` confirms as near
    duplicates (distance, column Jaccard, row overlap), or None."""
    if min(a.n_columns, b.n_columns) < config.dup_min_jaccard * max(a.n_columns, b.n_columns):
        return None  # the column Jaccard cannot reach the threshold
    match = compare(_narrowed(a), _narrowed(b))
    near = _near_duplicate_rows(a, b, match, config)
    if match.jaccard < config.dup_min_jaccard and not near:
        return None
    overlap = 0.0
    if rows_are_specific(a) and rows_are_specific(b):
        overlap = max(row_containment(a, b), row_containment(b, a))
    similar = match.distance <= config.dup_max_distance and \
        min(a.n_rows, b.n_rows) >= config.dup_min_rows
    if not (similar or overlap >= 0.9 or near):
        return None
    return {"a": a.id, "b": b.id, "distance": round(match.distance, 4),
            "jaccard": round(match.jaccard, 4), "row_overlap": round(overlap, 4)}


def find_duplicates(fingerprints: Sequence[Fingerprint],
                    config: CurateConfig = CurateConfig()) -> dict:
    """Exact and near-duplicate groups among fingerprints.

    Exact duplicates share :attr:`Fingerprint.exact`. Near duplicates are proposed by
    MinHash + LSH on the coarse column tokens and confirmed by :func:`compare` (on at most
    ``ASSOC_MAX_COLUMNS`` columns of a wide table): a column Jaccard of at least
    ``dup_min_jaccard`` and a distance of at most ``dup_max_distance`` (tables of at least
    ``dup_min_rows`` rows), or the same Jaccard with 90% of the (specific) rows of one table
    inside the other.
    Groups are closed transitively; from each, the first by (real first, id) is kept.

    Returns
    -------
    dict
        ``exact_groups`` and ``near_groups`` (lists of id lists, kept id first), ``drop``
        (ids to drop), ``pairs`` (confirmed near pairs with their distance and Jaccard),
        ``n_candidate_pairs`` (proposed by LSH).
    """
    fingerprints = list(fingerprints)
    ids = [f.id for f in fingerprints]
    if len(set(ids)) != len(ids):
        raise ValueError("Fingerprint ids must be unique; found repeated dataset ids.")
    parent = list(range(len(fingerprints)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i, j):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_exact: dict[str, list[int]] = {}
    for i, f in enumerate(fingerprints):
        by_exact.setdefault(f.exact, []).append(i)
    exact_groups = [members for members in by_exact.values() if len(members) > 1]
    for members in exact_groups:
        for other in members[1:]:
            union(members[0], other)
    representatives = [members[0] for members in by_exact.values()]
    signatures = [minhash(fingerprints[i].tokens, config.minhash_permutations)
                  for i in representatives]
    candidates = lsh_candidates(signatures, config.lsh_bands) | _shape_candidates(
        [fingerprints[i] for i in representatives])
    confirmed = []
    for x, y in sorted(candidates):
        pair = _confirmed_pair(fingerprints[representatives[x]],
                               fingerprints[representatives[y]], config)
        if pair is not None:
            union(representatives[x], representatives[y])
            confirmed.append(pair)
    groups: dict[int, list[int]] = {}
    for i in range(len(fingerprints)):
        groups.setdefault(root(i), []).append(i)
    exact_members = {i for members in exact_groups for i in members}
    exact_out, near_out, drop = [], [], set()
    for members in groups.values():
        if len(members) < 2:
            continue
        ordered = sorted(members, key=lambda i: _keep_order(fingerprints[i]))
        drop.update(ids[i] for i in ordered[1:])
        group_ids = [ids[i] for i in ordered]
        if all(i in exact_members for i in members) and len(
                {fingerprints[i].exact for i in members}) == 1:
            exact_out.append(group_ids)
        else:
            near_out.append(group_ids)
    return {"exact_groups": sorted(exact_out), "near_groups": sorted(near_out),
            "drop": drop, "pairs": confirmed, "n_candidate_pairs": len(candidates)}
