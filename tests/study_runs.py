"""Helpers for tests that run `sim run` as a real process and compare results folders."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).parent.parent
STUDY = ROOT / "scenarios" / "studies" / "classroom_tempo_intel.yaml"
SMALL = ("--replicates", "20", "--chunk", "5", "--quiet")  # 9 points × 20 runs, 36 tasks
TABLES = ("design.parquet", "summary.parquet", "outcomes.parquet", "sensitivity.parquet")


def sim_process(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def sim_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def folder(out: Path) -> Path:
    (only,) = [p for p in out.iterdir() if p.is_dir()]
    return only


def parts(out: Path) -> list[Path]:
    found = list(out.glob("*/series/part-*.parquet"))
    return sorted(found)


def wait_for(condition, timeout: float = 120, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def content(out: Path) -> dict[str, pd.DataFrame]:
    """What a results folder says, independent of how its runs were split into parts."""
    f = folder(out)
    series = pd.concat(pd.read_parquet(p) for p in sorted((f / "series").glob("part-*.parquet")))
    events = pd.concat(pd.read_parquet(p) for p in sorted((f / "events").glob("part-*.parquet")))
    return {
        "series": series.sort_values(["point", "replicate", "day"], ignore_index=True),
        "events": events.sort_values(
            ["point", "replicate", "day", "kind", "index"], ignore_index=True
        ),
        **{name: pd.read_parquet(f / name) for name in TABLES},
    }


def assert_same_results(a: Path, b: Path) -> None:
    ca, cb = content(a), content(b)
    for name in ca:
        pd.testing.assert_frame_equal(ca[name], cb[name], check_exact=True, obj=name)
    keys = ca["series"][["point", "replicate", "day"]]
    assert not keys.duplicated().any(), "a run was written twice"


def assert_same_bytes(a: Path, b: Path) -> None:
    fa, fb = folder(a), folder(b)
    names = [p.relative_to(fa) for p in fa.rglob("*.parquet")]
    assert sorted(names) == sorted(p.relative_to(fb) for p in fb.rglob("*.parquet"))
    for name in names:
        assert (fa / name).read_bytes() == (fb / name).read_bytes(), name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(workers: int, *extra: str) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A real Dask cluster on 127.0.0.1: a scheduler and `workers` one-thread worker
    processes (no nanny, so killing one is like losing its machine)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,
        )
    ]
    try:
        wait_for(lambda: listening(port), 60, "the Dask scheduler")
        for i in range(workers):
            procs.append(
                subprocess.Popen(
                    [
                        *dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"w{i}",
                        *extra,
                    ],
                    cwd=ROOT,
                    **quiet,
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
