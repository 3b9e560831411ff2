"""Dask worker preload (tests only): the worker claims another salient version."""

import sim.experiment.store as store

_real = store.versions


def versions() -> dict[str, str]:
    return {**_real(), "salient": "0.0.0-other"}


store.versions = versions
