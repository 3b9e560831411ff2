"""Salient: a wargame-style salient simulator (Mesa reference engine, numpy batch engine)."""

from importlib import metadata

try:
    __version__ = metadata.version("salient")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
