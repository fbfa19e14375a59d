"""Observations -> series and shifts. Pure pandas/numpy/scipy/ruptures: no web or database imports.

Modules (frame contracts in `app.timelines.frames`):
    rollup.attribute(rows, memberships, targets) -> rows + `series` (memberships valid at observed_at)
    periods.bucket_start(day, interval) -> first day of its day / ISO week (Monday) / month bucket
    levels.levels(sums, interval, start, end, smooth_halflife, series) -> levels with 90% band
    shifts.detect_shifts / detect_all / scan_all -> Shift / SeriesScan dataclasses
    compare.compare(levels_frame, actors) -> Comparison (aligned series, pairwise distances)
    network.congruence(rows, threshold, start, end) -> Network; network.to_graphml(Network) -> str
"""
