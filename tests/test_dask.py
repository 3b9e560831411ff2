"""A real Dask cluster (scheduler and worker processes on 127.0.0.1): the same study through
`--scheduler` writes the same bytes as in-process, even when a worker dies mid-sweep, and a
worker with another salient version is refused with a clear message."""

from __future__ import annotations

import pytest

from tests.study_runs import (
    SMALL,
    STUDY,
    assert_same_bytes,
    dask_cluster,
    kill,
    parts,
    sim_process,
    sim_run,
    wait_for,
)


@pytest.fixture
def in_process(whole_study):
    return whole_study


def test_a_dask_cluster_writes_the_same_bytes(in_process, tmp_path):
    with dask_cluster(2) as (address, _):
        result = sim_run(str(STUDY), *SMALL, "--scheduler", address, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert_same_bytes(in_process, tmp_path)


def test_losing_a_worker_mid_sweep_changes_nothing(in_process, tmp_path):
    with dask_cluster(2) as (address, workers):
        proc = sim_process(
            "run", str(STUDY), *SMALL, "--scheduler", address, "--out", str(tmp_path)
        )
        wait_for(lambda: len(parts(tmp_path)) >= 6, what="6 parts")
        assert len(parts(tmp_path)) < 36, "the sweep ended before the worker was lost"
        kill(workers[1])
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert_same_bytes(in_process, tmp_path)


def test_a_worker_of_another_version_is_refused(tmp_path):
    with dask_cluster(1, "--preload", "tests.fake_version") as (address, _):
        result = sim_run(str(STUDY), *SMALL, "--scheduler", address, "--out", str(tmp_path))
    assert result.returncode == 2
    assert "runs salient 0.0.0-other" in result.stderr and "same version" in result.stderr
    assert not parts(tmp_path)


def test_an_unreachable_scheduler_is_one_clear_message(tmp_path):
    from tests.study_runs import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    result = sim_run(str(STUDY), *SMALL, "--scheduler", address, "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: cannot reach the Dask scheduler at {address}")
