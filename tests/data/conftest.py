"""Fixtures of the data tests: ``snapshot_dir`` (a folder of synthetic MALA snapshots)."""

from mala_synth import snapshot_dir  # noqa: F401 (a fixture, found by pytest here)
