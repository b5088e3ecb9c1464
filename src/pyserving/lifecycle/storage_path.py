"""Moved to :mod:`pyserving.storage.local_paths` (local directories are one store among others);
these names stay importable from here for the lifecycle modules that read local paths directly."""

from pyserving.storage.local_paths import Fingerprint, fingerprint, list_versions, parse_version

__all__ = ["Fingerprint", "fingerprint", "list_versions", "parse_version"]
