"""The one writer of results: `results/<scenario-name>-<hash>/`.

Layout: `manifest.json` (resolved scenario, hash, seed, design, versions, status),
`design.parquet`, `series/part-*.parquet` and `events/part-*.parquet` (one pair per finished
task, named by its design point and replicates, written to a temporary name and renamed, so a
crash never leaves half a part: the parts on disk are the record of which tasks are done),
`summary.parquet` and `report.html`. A rerun of the same scenario resumes from the parts on
disk; a scenario whose hash differs lands in another folder and never mixes with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.result import EVENT_KINDS, SERIES, RunResult

# a part holds replicates first..last of design point `point` (or of each of points
# point..upto: the blocks of one task that ran as one batch)
_PART = re.compile(
    r"part-p(?P<point>\d+)(?:-(?P<upto>\d+))?-r(?P<first>\d+)-(?P<last>\d+)\.parquet"
)


def _points(match: re.Match) -> range:
    first = int(match["point"])
    return range(first, int(match["upto"] or first) + 1)


PACKAGES = (
    "salient", "numpy", "numba", "scipy", "mesa", "pandas", "pyarrow", "pydantic", "plotly",
)  # fmt: skip


class StoreError(Exception):
    """Results on disk that cannot be used as asked (another version, foreign files)."""


def versions() -> dict[str, str]:
    from sim.model import RULEBOOK

    out = {"python": platform.python_version(), "rulebook": RULEBOOK}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


BITS = ("salient", "rulebook", "numpy", "numba", "python")  # what decides the bits of a run


def scenario_hash(resolved: dict[str, Any], design: pd.DataFrame) -> str:
    """Hash of the resolved scenario, its design table (in point order: the order of the
    swept parameters decides which point is which) and the versions that decide the bits:
    results of another numpy never resume into this folder. Keys stay in the order written:
    the order of terrain layers, axes, kinds and reinforcements decides cells and slots."""
    mine = versions()
    text = json.dumps(
        {
            "scenario": resolved,
            "design": design.to_dict(orient="split", index=False),
            **{k: mine[k] for k in BITS},
        },
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


DERIVED = (
    "summary.parquet",
    "outcomes.parquet",
    "sensitivity.parquet",
    "spatial.parquet",
    "report.html",
)


@dataclass(frozen=True)
class Label:
    """How a run is named: the scenario's name, and what sets this run apart from the scenario
    as written — the command line's overrides, or the user's own `--label`."""

    name: str
    overrides: tuple[str, ...] = ()
    own: str = ""  # --label

    @property
    def detail(self) -> str:
        return self.own or ", ".join(self.overrides)

    @property
    def text(self) -> str:
        """'kursk-2024 · sides.attacker.tempo=0.4', or the name alone."""
        return " · ".join(filter(None, (self.name, self.detail)))

    @property
    def slug(self) -> str:
        """The detail as a folder-name part: lower-case letters, digits and . _ = -."""
        slug = re.sub(r"[^a-z0-9._=-]+", "-", self.detail.lower()).strip("-.")
        return slug[:60].rstrip("-.")


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _lock(path: Path) -> int | None:
    """An exclusive lock on a results folder (POSIX; elsewhere none), so that two runs of
    one study never write parts of different chunkings side by side."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        return None
    fd = os.open(path / ".lock", os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreError(f"{path} is being written by another sim run; wait for it") from None
    return fd


def write_page(path: Path, html: str) -> None:
    """A page outside a results folder (compare, replay), written whole or not at all."""
    try:
        _atomic_write(Path(path), lambda p: p.write_text(html, encoding="utf-8"))
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass
class ResultsDir:
    path: Path
    _done: set[str] | None = field(default=None, repr=False)  # read once, then kept up to date
    _recorded: float = field(default=0.0, repr=False)  # when the manifest's list was written
    _by_point: dict[int, list[str]] | None = field(default=None, repr=False)
    _lock: int | None = field(default=None, repr=False)  # file descriptor holding the lock

    def close(self) -> None:
        """Let another `sim run` write this folder."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    @classmethod
    def open(
        cls,
        root: Path,
        name: str,
        resolved: dict[str, Any],
        design: pd.DataFrame,
        seed: int,
        engine: str,
        fresh: bool = False,
        label: Label | None = None,
    ) -> ResultsDir:
        """Create or reopen the folder of this scenario; refuses a folder written by another
        version of the model unless `fresh`, which starts it over. A run's label (its
        overrides, or `--label`) names the folder too, so runs of one scenario can be told
        apart on disk."""
        label = label or Label(name)
        digest = scenario_hash(resolved, design)
        path = Path(root) / "-".join(filter(None, (name, label.slug, digest)))
        store = cls(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from None
        store._lock = _lock(path)  # one writer at a time; released when the process ends
        try:
            store._prepare(name, digest, resolved, design, seed, engine, fresh, label)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(
        self,
        name: str,
        digest: str,
        resolved: dict[str, Any],
        design: pd.DataFrame,
        seed: int,
        engine: str,
        fresh: bool,
        label: Label,
    ) -> None:
        """Check a folder already there, or lay out a new one (under the lock)."""
        path = self.path
        for stale in path.glob("**/.*.tmp"):  # half-written by a process that died
            stale.unlink()
        if path.exists() and (path / "manifest.json").exists() and not fresh:
            manifest = self.manifest()
            mine = versions()
            theirs = manifest.get("versions", {})
            if manifest.get("hash") != digest or any(theirs.get(k) != mine[k] for k in BITS):
                raise StoreError(
                    f"{path} holds results of another scenario or version; "
                    "use --fresh to start over"
                )
            return
        if fresh and path.exists():  # what was derived from the old parts goes first
            for derived in DERIVED:
                (path / derived).unlink(missing_ok=True)
            for sub in ("series", "events", "maps"):
                for part in (path / sub).glob("part-*.parquet"):
                    part.unlink()
        (path / "series").mkdir(parents=True, exist_ok=True)
        (path / "events").mkdir(parents=True, exist_ok=True)
        (path / "maps").mkdir(parents=True, exist_ok=True)
        _atomic_write(path / "design.parquet", lambda p: design.to_parquet(p, index=False))
        self.write_manifest(
            {
                "name": name,
                "label": label.text,
                "overrides": list(label.overrides),
                "own_label": label.own,
                "hash": digest,
                "seed": seed,
                "engine": engine,
                "scenario": resolved,
                "design": design.to_dict(orient="records"),
                "versions": versions(),
                "status": "running",
            }
        )

    def engines(self) -> list[str]:
        """The engines that wrote this folder's runs (identical results, by contract)."""
        manifest = self.manifest()
        return manifest.get("engines") or [manifest.get("engine", "batch")]

    def add_engine(self, engine: str) -> None:
        """Record that `engine` wrote runs into this folder (a resume may use the other one)."""
        if engine not in self.engines():
            manifest = self.manifest()
            manifest["engines"] = [*self.engines(), engine]
            self.write_manifest(manifest)

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / "manifest.json").read_text())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, default=str)  # key order kept: sweeps need it
        _atomic_write(self.path / "manifest.json", lambda p: p.write_text(text))

    def set_status(self, status: str) -> None:
        manifest = self.manifest()
        manifest["status"] = status
        self.write_manifest(manifest)

    @staticmethod
    def part_name(point: int, first: int, last: int, upto: int | None = None) -> str:
        span = f"{point:05d}" + (f"-{upto:05d}" if upto is not None and upto != point else "")
        return f"part-p{span}-r{first:07d}-{last:07d}.parquet"

    def done(self) -> set[str]:
        """Names of the parts already on disk (both series and events written)."""
        if self._done is None:
            series = {p.name for p in (self.path / "series").glob("part-*.parquet")}
            events = {p.name for p in (self.path / "events").glob("part-*.parquet")}
            self._done = series & events
        return set(self._done)

    def coverage(self) -> dict[int, set[int]]:
        """Replicates of each design point whose part is done, whatever chunking wrote it."""
        out: dict[int, set[int]] = {}
        for name in self.done():
            match = _PART.fullmatch(name)
            if match:
                first, last = int(match["first"]), int(match["last"])
                for point in _points(match):
                    out.setdefault(point, set()).update(range(first, last + 1))
        return out

    def covered(self, point: int) -> set[int]:
        return self.coverage().get(point, set())

    def _parts(self, sub: str, point: int | None = None) -> list[Path]:
        if point is None:
            return [self.path / sub / n for n in sorted(self.done())]
        if self._by_point is None:  # one pass over the names, not one per point
            self._by_point = {}
            for n in sorted(self.done()):
                match = _PART.fullmatch(n)
                if match:
                    for p in _points(match):
                        self._by_point.setdefault(p, []).append(n)
        return [self.path / sub / n for n in self._by_point.get(point, [])]

    def missing(self, points: int, replicates: int) -> int:
        """Runs of a design of `points` × `replicates` not on disk yet."""
        covered = self.coverage()
        return sum(replicates - len(covered.get(p, ())) for p in range(points))

    def write_part(self, point: int, result: RunResult, dates: pd.DatetimeIndex) -> None:
        self.write_parts([(point, result)], dates)

    def write_parts(self, results: list[tuple[int, RunResult]], dates: pd.DatetimeIndex) -> None:
        """Write one task's results: consecutive points of the same replicates share a part
        (a calibration's wave is thousands of points of a few runs each)."""
        runs = [(p, r, (int(r.replicates.min()), int(r.replicates.max()))) for p, r in results]
        group = [runs[0]]
        for run in runs[1:]:
            last = group[-1]
            if run[0] == last[0] + 1 and run[2] == last[2]:
                group.append(run)
            else:
                self._write(group, dates)
                group = [run]
        self._write(group, dates)

    def _write(self, group: list, dates: pd.DatetimeIndex) -> None:
        (first, last) = group[0][2]
        name = self.part_name(group[0][0], first, last, group[-1][0])
        frames = [self.frames(p, r, dates) for p, r, _ in group]
        frame = pd.concat([f for f, _ in frames], ignore_index=True)
        events = pd.concat([e for _, e in frames], ignore_index=True)
        # Events and maps first: a part counts as done only once its series file exists too.
        _atomic_write(self.path / "events" / name, lambda p: events.to_parquet(p, index=False))
        if group[0][1].held_maps is not None and len(group[0][1].held_maps):
            maps = pd.concat([self.maps_frame(p, r, dates) for p, r, _ in group])
            (self.path / "maps").mkdir(exist_ok=True)
            _atomic_write(self.path / "maps" / name, lambda p: maps.to_parquet(p, index=False))
        _atomic_write(self.path / "series" / name, lambda p: frame.to_parquet(p, index=False))
        self.done()
        self._done.add(name)
        self._by_point = None
        if time.monotonic() - self._recorded > 2:  # a large study would rewrite it constantly
            self.record_done()

    @staticmethod
    def frames(
        point: int, result: RunResult, dates: pd.DatetimeIndex
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The series and events tables of one task, as its parts hold them."""
        reps = result.replicates
        r, days = result.series["territory"].shape
        frame = pd.DataFrame(
            {
                "point": pd.array([point] * (r * days), dtype="int32"),
                "replicate": reps.repeat(days).astype("int64"),
                "day": pd.array(list(range(days)) * r, dtype="int32"),
                "date": pd.DatetimeIndex(list(dates) * r),
                **{k: result.series[k].ravel() for k in SERIES},
            }
        )
        ev = result.events
        events = pd.DataFrame(
            {
                "point": pd.array([point] * len(ev), dtype="int32"),
                "replicate": ev[:, 0],
                "day": ev[:, 1].astype("int32"),
                "kind": pd.Categorical.from_codes(ev[:, 2], EVENT_KINDS),
                "index": ev[:, 3],
            }
        )
        return frame, events

    def record_done(self) -> None:
        """List the finished tasks in the manifest (for people and tools, at most every two
        seconds during a run and at its end; a resume trusts the parts themselves)."""
        manifest = self.manifest()
        manifest["done"] = sorted(self.done())
        self.write_manifest(manifest)
        self._recorded = time.monotonic()

    def territory(self, point: int) -> np.ndarray:
        """(replicates, days) territory of one design point, reading only its parts."""
        return self.column(point, "territory")

    def column(self, point: int, name: str) -> np.ndarray:
        """(replicates, days) of one daily series of one design point, reading only its
        parts."""
        parts = self._parts("series", point)
        if not parts:
            raise StoreError(f"{self.path}: no finished runs of design point {point}")
        columns = ["point", "replicate", "day", name]
        one = pd.concat([pd.read_parquet(p, columns=columns) for p in parts], ignore_index=True)
        one = one[one["point"] == point].sort_values(["replicate", "day"])
        return one[name].to_numpy().reshape(one["replicate"].nunique(), -1)

    def series(self, columns: list[str] | None = None) -> pd.DataFrame:
        parts = self._parts("series")
        if not parts:
            return pd.DataFrame(columns=["point", "replicate", "day", "date", *SERIES])
        frame = pd.concat([pd.read_parquet(p, columns=columns) for p in parts], ignore_index=True)
        return frame.sort_values(["point", "replicate", "day"], ignore_index=True)

    @staticmethod
    def maps_frame(point: int, result: RunResult, dates: pd.DatetimeIndex) -> pd.DataFrame:
        """A task's count of runs in which the defender held each cell on each map day."""
        days = np.asarray(result.map_days)
        return pd.DataFrame(
            {
                "point": pd.array([point] * len(days), dtype="int32"),
                "day": days.astype("int32"),
                "date": dates[days],
                "runs": len(result.replicates),
                "held": [row.astype("int32") for row in result.held_maps],
            }
        )

    def held_maps(self, point: int) -> tuple[pd.DatetimeIndex, np.ndarray, int]:
        """Dates, (M, H·W) runs in which the defender held each cell on them, and the runs."""
        parts = [p for p in self._parts("maps", point) if p.exists()]
        if not parts:
            return pd.DatetimeIndex([]), np.zeros((0, 0), np.int64), 0
        frame = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        frame = frame[frame["point"] == point]
        total = frame.groupby("day", sort=True)["held"].apply(lambda s: np.sum(np.stack(s), 0))
        dates = frame.drop_duplicates("day").sort_values("day")["date"]
        runs = int(frame.groupby("day")["runs"].sum().iloc[0])
        return pd.DatetimeIndex(dates), np.stack(total.to_list()).astype(np.int64), runs

    def events(self) -> pd.DataFrame:
        parts = self._parts("events")
        if not parts:
            return pd.DataFrame(columns=["point", "replicate", "day", "kind", "index"])
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)

    def write_summary(
        self,
        bands: pd.DataFrame,
        outcomes: pd.DataFrame,
        sensitivity: pd.DataFrame,
        spatial: pd.DataFrame | None = None,
    ) -> None:
        """summary.parquet (daily bands per point), outcomes.parquet (one row per point),
        sensitivity.parquet (main effects or Sobol indices) and, with observed maps,
        spatial.parquet (the spatial scores per point and date)."""
        tables = [("summary", bands), ("outcomes", outcomes), ("sensitivity", sensitivity)]
        if spatial is not None and len(spatial):
            tables.append(("spatial", spatial))
        for name, frame in tables:
            _atomic_write(
                self.path / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False)
            )

    def write_report(self, html: str) -> None:
        _atomic_write(self.path / "report.html", lambda p: p.write_text(html, encoding="utf-8"))
