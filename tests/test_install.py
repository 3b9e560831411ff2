"""A non-editable install (`pip install .`) carries the shipped scenarios: `sim run` and
`sim app` work from any folder, and stopping `sim app` with SIGTERM stops its server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from tests.study_runs import ROOT, free_port, listening, wait_for


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package installed (not editable) into a folder of its own, put first on the path."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("src")
    # a copy of the tree's files, so that the build leaves nothing behind in the repository
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (build / name).parent.mkdir(parents=True, exist_ok=True)
            (build / name).write_bytes((ROOT / name).read_bytes())
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    done = subprocess.run([*pip, str(build)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    env = {**os.environ, "PYTHONPATH": str(target), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    return target, env


def test_the_installed_package_has_its_scenarios_and_runs(installed, tmp_path):
    target, env = installed
    where = subprocess.run(
        [sys.executable, "-c", "import sim, sim.scenario.shipped as s; print(sim.__file__, "
         "s.folder())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(w.startswith(str(target)) for w in where), where
    run = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "classroom_small", "--replicates", "2",
         "--set", "days=3", "--engine", "reference", "--quiet", "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "classroom-small" in run.stdout and (tmp_path / "out").is_dir()
    # Kursk's map is GeoJSON beside it (scenarios/kursk_2024/): it travels with the package.
    check = subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", "kursk_2024"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0 and "32×43 cells" in check.stdout, check.stderr


def test_sim_app_without_a_scenario_serves_and_sigterm_stops_it(installed, tmp_path):
    """`sim app` started as a child, then SIGTERM to that child alone: before, the `solara
    run` grandchild lived on and kept the port."""
    _, env = installed
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "app", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def up() -> bool:
            assert proc.poll() is None, proc.stdout.read()
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
            except OSError:
                return False

        wait_for(up, 120, "the app to serve its page")
        proc.send_signal(signal.SIGTERM)  # to `sim app` only, not to a process group
        proc.wait(30)
        wait_for(lambda: not listening(port), 30, "the server to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
