"""What an engine hands back: daily series per replicate and the event log."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SERIES = (
    "territory",
    "strength_attacker",
    "strength_defender",
    "losses_attacker",
    "losses_defender",
    "front_km",
    "supplied_defender",
    "waiting",  # reinforcement units due that found no free entry cell (still off the map)
)
EVENT_KINDS = ("place_captured", "pocket_formed", "reinforcement_arrived", "unit_destroyed")


@dataclass
class RunResult:
    replicates: np.ndarray  # (R,) replicate numbers
    series: dict[str, np.ndarray]  # name → (R, days)
    events: np.ndarray  # (N, 4) int64: replicate, day, kind (index in EVENT_KINDS), index
    states: list[dict[str, np.ndarray]] | None = None  # per day, arrays with a leading R axis
    held_maps: np.ndarray | None = None  # (M, H·W) int64: runs in which the defender held each
    # cell at the end of each of the map days (summed over the replicates)
    map_days: np.ndarray | None = None  # (M,) the world's days with an observed map

    def event_list(self, replicate: int) -> list[tuple[int, str, int]]:
        rows = self.events[self.events[:, 0] == replicate]
        return [(int(d), EVENT_KINDS[k], int(i)) for _, d, k, i in rows]

    @staticmethod
    def joined(results: list[RunResult]) -> RunResult:
        """Results of consecutive blocks of replicates as one (held maps summed; states only
        if every block traced them)."""
        if len(results) == 1:
            return results[0]
        first = results[0]
        states = None
        if all(r.states is not None for r in results):
            states = [
                {k: np.concatenate([r.states[d][k] for r in results]) for k in day}
                for d, day in enumerate(first.states)
            ]
        return RunResult(
            np.concatenate([r.replicates for r in results]),
            {k: np.concatenate([r.series[k] for r in results]) for k in first.series},
            np.concatenate([r.events for r in results]),
            states,
            None if first.held_maps is None else sum(r.held_maps for r in results),
            first.map_days,
        )
