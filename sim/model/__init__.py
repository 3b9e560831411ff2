"""The rules: the compiled World, the random streams, the fields, the two engines."""

# The rulebook's version. Bump it with any change to what a run computes: it is part of the
# results hash and of the Dask worker check, so results of one rulebook never mix with, or
# resume into, another's (the package version alone does not change in a working copy).
# 2.1: pursuit, drones, axes, movement costs, the read of the build-up; 2.0: positional fire,
# drawn casualties in whole men, breakout; 1.1: arrivals
RULEBOOK = "2.1"
