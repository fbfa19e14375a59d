"""Roll-up: which target series each observation counts for, using memberships valid at observed_at.

A row counts for its own actor (when that actor is a target) and for every target ancestor
reachable through membership links that are all valid at the row's observed_at (Macron -> France
-> Europe counts only while both links hold). Validity is half-open: valid_from <= observed_at <
valid_to, NaT = open; the registry's `to` date is the first day no longer valid (Scholz "to
2025-05-06", Merz "from 2025-05-06"), so a UK observation of 2020-01-31 does not count for the EU.

Vectorised: the membership graph is closed into (actor, ancestor, from, to) paths once (intervals
intersected along the path, cycles cut at `MAX_DEPTH`), then the rows are merged with the paths
of their actor and filtered by validity. A row appears once per target even when several valid
paths lead there.

Groups (`parent_kind == "group"` in the memberships frame: ad hoc gatherings such as the coalition
of the willing) have no position apart from their members, so a group's own statements also count
for a target it is not a member of, weighted by the share of its members that belong to that
target at the row's date, when that share is at least `GROUP_SHARE_MIN`: a coalition of European
states speaks for Europe; a G7 statement, with three of seven members European, does not.
"""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from app.timelines.frames import MEMBERSHIP_COLUMNS, UTC_NS, require, utc

MAX_DEPTH = 8
GROUP_SHARE_MIN = 0.5
_FAR_PAST = pd.Timestamp("1700-01-01", tz="UTC").as_unit("ns")
_FAR_FUTURE = pd.Timestamp("2200-01-01", tz="UTC").as_unit("ns")


def ancestor_paths(memberships: pd.DataFrame, targets: list[str] | None = None) -> pd.DataFrame:
    """Transitive membership: columns actor, ancestor, valid_from, valid_to (never NaT: open ends
    become far past / far future). One row per distinct (actor, ancestor, interval); only
    ancestors in `targets` are kept when given."""
    edges = _edges(memberships)
    paths = [edges]
    frontier = edges
    for _ in range(MAX_DEPTH - 1):
        if frontier.empty:
            break
        step = frontier.merge(
            edges.rename(columns={"actor": "ancestor", "ancestor": "next"}),
            on="ancestor",
            suffixes=("", "_edge"),
        )
        step = pd.DataFrame(
            {
                "actor": step["actor"],
                "ancestor": step["next"],
                "valid_from": step[["valid_from", "valid_from_edge"]].max(axis=1),
                "valid_to": step[["valid_to", "valid_to_edge"]].min(axis=1),
            }
        )
        step = step[(step["valid_from"] < step["valid_to"]) & (step["actor"] != step["ancestor"])]
        frontier = step.drop_duplicates()
        paths.append(frontier)
    closed = pd.concat(paths, ignore_index=True).drop_duplicates(ignore_index=True)
    if targets is not None:
        closed = closed[closed["ancestor"].isin(targets)].reset_index(drop=True)
    closed["valid_from"] = closed["valid_from"].astype(UTC_NS)
    closed["valid_to"] = closed["valid_to"].astype(UTC_NS)
    return closed


def _edges(memberships: pd.DataFrame) -> pd.DataFrame:
    """Direct membership edges as (actor, ancestor, valid_from, valid_to), open ends filled."""
    require(memberships, MEMBERSHIP_COLUMNS, "memberships")
    edges = pd.DataFrame(
        {
            "actor": memberships["actor"].astype(str),
            "ancestor": memberships["parent"].astype(str),
            "valid_from": utc(memberships["valid_from"]).fillna(_FAR_PAST),
            "valid_to": utc(memberships["valid_to"]).fillna(_FAR_FUTURE),
        }
    )
    edges = edges[(edges["valid_from"] < edges["valid_to"]) & (edges["actor"] != edges["ancestor"])]
    return edges.drop_duplicates()


def group_shares(memberships: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """Groups that speak in part for a target they do not belong to.

    Columns actor (the group), ancestor (the target), valid_from, valid_to and share: the fraction
    of the group's direct members in that interval that belong (transitively) to the target. Only
    intervals with share >= `GROUP_SHARE_MIN` are listed.
    """
    columns = ["actor", "ancestor", "valid_from", "valid_to", "share"]
    if "parent_kind" not in memberships.columns:
        return pd.DataFrame(columns=columns)
    groups = set(memberships.loc[memberships["parent_kind"] == "group", "parent"].astype(str))
    paths = ancestor_paths(memberships)
    edges = _edges(memberships)
    found: list[tuple[str, str, pd.Timestamp, pd.Timestamp, float]] = []
    for group in sorted(groups):
        members = edges[edges["ancestor"] == group]
        belongs_already = set(paths.loc[paths["actor"] == group, "ancestor"])
        for target in dict.fromkeys(targets):
            if target == group or target in belongs_already:
                continue
            inside = paths[(paths["ancestor"] == target) & paths["actor"].isin(members["actor"])]
            if inside.empty:
                continue
            bounds = sorted(
                {*members["valid_from"], *members["valid_to"], *inside["valid_from"], *inside["valid_to"]}
            )
            for start, end in pairwise(bounds):
                present = set(members.loc[_valid_at(members, start), "actor"])
                if not present:
                    continue
                shared = present & set(inside.loc[_valid_at(inside, start), "actor"])
                share = len(shared) / len(present)
                if share >= GROUP_SHARE_MIN:
                    found.append((group, target, start, end, share))
    out = pd.DataFrame(found, columns=columns)
    out["valid_from"] = utc(out["valid_from"])
    out["valid_to"] = utc(out["valid_to"])
    return out


def _valid_at(intervals: pd.DataFrame, instant: pd.Timestamp) -> pd.Series:
    return (intervals["valid_from"] <= instant) & (instant < intervals["valid_to"])


def attribute(
    rows: pd.DataFrame, memberships: pd.DataFrame, targets: list[str], member_weight: float = 1.0
) -> pd.DataFrame:
    """`rows` (observation rows) with a `series` column: one row per (observation, target it counts
    for). Ordered by series, observed_at, id; the index is reset.

    `member_weight` scales the confidence of rows that count for a target through membership:
    a bloc's own statements express its position directly, one member's statement only in part.
    """
    require(rows, ["id", "actor", "observed_at"], "observation rows")
    wanted = list(dict.fromkeys(targets))
    frame = rows.copy()
    frame["observed_at"] = utc(frame["observed_at"])
    own = frame[frame["actor"].isin(wanted)].assign(series=lambda f: f["actor"])
    paths = ancestor_paths(memberships, wanted)
    via = frame.merge(paths, on="actor", how="inner")
    via = via[(via["valid_from"] <= via["observed_at"]) & (via["observed_at"] < via["valid_to"])]
    via = via.drop(columns=["valid_from", "valid_to"]).rename(columns={"ancestor": "series"})
    if member_weight != 1.0 and "confidence" in via.columns:
        via = via.assign(confidence=via["confidence"] * member_weight)
    shares = group_shares(memberships, wanted)
    spoken = frame.merge(shares, on="actor", how="inner")
    spoken = spoken[
        (spoken["valid_from"] <= spoken["observed_at"]) & (spoken["observed_at"] < spoken["valid_to"])
    ]
    if "confidence" in spoken.columns:
        spoken = spoken.assign(confidence=spoken["confidence"] * member_weight * spoken["share"])
    spoken = spoken.drop(columns=["valid_from", "valid_to", "share"]).rename(columns={"ancestor": "series"})
    parts = [part for part in (own, via, spoken) if not part.empty] or [own]
    out = pd.concat(parts, ignore_index=True).drop_duplicates(subset=["series", "id"])
    return out.sort_values(["series", "observed_at", "id"], kind="stable").reset_index(drop=True)


def attribute_sums(
    sums: pd.DataFrame, memberships: pd.DataFrame, targets: list[str], member_weight: float = 1.0
) -> pd.DataFrame:
    """Daily sums attributed like observation rows; returns the bucket-sums contract by target.

    `sums` has one row per actor and UTC day: `id`, `actor`, `observed_at` (the day's midnight)
    and the sums columns (`app.timelines.frames.SUM_COLUMNS`). Memberships are dated by day, so
    every observation of a day counts for the same targets at the same factor f (1 for the
    actor's own, `member_weight` through membership, times the share for a group), and f scales
    the sums linearly: weight, weighted_sum and weighted_sq_sum by f, weight_sq by f^2. Roll-up
    from daily sums therefore equals roll-up from the observations.
    """
    attributed = attribute(sums.assign(confidence=1.0), memberships, targets, member_weight)
    factor = attributed["confidence"].astype(float)
    return pd.DataFrame(
        {
            "series": attributed["series"].astype(str),
            "bucket": attributed["observed_at"],
            "count": attributed["count"].astype("int64"),
            "weight": attributed["weight"] * factor,
            "weighted_sum": attributed["weighted_sum"] * factor,
            "weight_sq": attributed["weight_sq"] * factor * factor,
            "weighted_sq_sum": attributed["weighted_sq_sum"] * factor,
        }
    )
