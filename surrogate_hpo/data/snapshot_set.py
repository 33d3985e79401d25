"""Snapshots of a data directory split by snapshot into train / validation / test."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path


from ..physics.energy_grid import EnergyGrid
from .errors import DataError
from .snapshot import Snapshot, load_snapshot

__all__ = ["SnapshotSet", "discover_snapshots", "default_split", "SPLITS"]

SPLITS = ("train", "validation", "test")


def _natural_key(name: str) -> list:
    """Sort key that puts ``snap2`` before ``snap10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def discover_snapshots(directory: str | Path) -> list[str]:
    """Names of the snapshots in ``directory`` (every ``<name>.in.npy``), naturally sorted."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: data directory not found. Set data.path=<directory with "
                        "<name>.in.npy / <name>.out.npy files>.")
    names = [p.name[: -len(".in.npy")] for p in directory.glob("*.in.npy") if p.is_file()]
    return sorted(names, key=_natural_key)


def default_split(names: Sequence[str], *, train: Sequence[str] | None = None,
                  validation: Sequence[str] | None = None,
                  test: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Split snapshot names by snapshot (never by grid point).

    Rule: names are sorted naturally (``snap2`` before ``snap10``). Explicit lists are used
    as given. The names not listed anywhere fill the splits left unspecified: ``test`` takes
    the last of them, ``validation`` the one before, ``train`` all the rest. So with no lists
    and n >= 3 snapshots: the last is test, the second-to-last validation, the rest train.
    If all three lists are given, unlisted snapshots are not used.

    Raises :class:`DataError` if a listed name is unknown, a name is in two splits, or a
    split ends up empty.
    """
    known = sorted(names, key=_natural_key)
    given = {"train": train, "validation": validation, "test": test}
    for split, listed in given.items():
        if listed is None:
            continue
        if isinstance(listed, str):
            raise DataError(f"data.{split} must be a list of snapshot names, got the string {listed!r}.")
        unknown = [n for n in listed if n not in known]
        if unknown:
            raise DataError(f"data.{split} lists {unknown}, which have no <name>.in.npy in the data "
                            f"directory. Known snapshots: {known}.")
        dup = sorted({n for n in listed if list(listed).count(n) > 1})
        if dup:
            raise DataError(f"data.{split} lists {dup} more than once.")
    seen: dict[str, str] = {}
    for split, listed in given.items():
        for n in listed or ():
            if n in seen:
                raise DataError(f"snapshot {n!r} is in both the {seen[n]} and the {split} split; "
                                "splits must not overlap.")
            seen[n] = split
    rest = [n for n in known if n not in seen]
    out = {s: list(v) for s, v in given.items() if v is not None}
    if test is None:
        out["test"] = rest[-1:]
        rest = rest[:-1]
    if validation is None:
        out["validation"] = rest[-1:]
        rest = rest[:-1]
    if train is None:
        out["train"] = rest
    empty = [s for s in SPLITS if not out[s]]
    if empty:
        raise DataError(
            f"{', '.join(empty)} split(s) empty with {len(known)} snapshot(s) {known}. The default "
            "split needs at least 3 snapshots (last = test, second-to-last = validation, rest = "
            "train); add snapshots or list them with data.train=[...] data.validation=[...] "
            "data.test=[...].")
    return {s: out[s] for s in SPLITS}


class SnapshotSet:
    """Train / validation / test snapshots that agree in descriptor count and energy grid.

    Attributes:
        train, validation, test: lists of :class:`Snapshot`.
        directory: where they were found (None if built from snapshots directly).
    """

    def __init__(self, train: Sequence[Snapshot], validation: Sequence[Snapshot],
                 test: Sequence[Snapshot], *, directory: Path | None = None) -> None:
        self.train, self.validation, self.test = list(train), list(validation), list(test)
        self.directory = directory
        for split in SPLITS:
            if not getattr(self, split):
                raise DataError(f"the {split} split is empty; every split needs a snapshot.")
        self._check_consistent()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        *,
        train: Sequence[str] | None = None,
        validation: Sequence[str] | None = None,
        test: Sequence[str] | None = None,
        energy_grid: EnergyGrid | Mapping[str, float] | None = None,
        temperature: float | None = None,
        n_electrons: float | None = None,
        voxel: Sequence[Sequence[float]] | None = None,
        mmap: bool = True,
    ) -> "SnapshotSet":
        """Load the snapshots of ``path`` and split them.

        Default split (see :func:`default_split`): names sorted naturally; with n >= 3 the
        last is test, the one before validation, the rest train. Explicit name lists
        override. ``energy_grid`` (eV), ``temperature`` (K), ``n_electrons`` and ``voxel``
        (3x3 Å) override the metadata of every snapshot (see :func:`load_snapshot`); a
        snapshot's pw.x output is found next to its arrays (``<name>.pw.out``, ...).
        """
        directory = Path(path)
        names = discover_snapshots(directory)
        if not names:
            raise DataError(f"{directory}: no <name>.in.npy files found. A snapshot is a pair "
                            "<name>.in.npy (descriptors) + <name>.out.npy (LDOS).")
        split = default_split(names, train=train, validation=validation, test=test)
        loaded = {
            s: [load_snapshot(directory / n, energy_grid=energy_grid, temperature=temperature,
                              n_electrons=n_electrons, voxel=voxel, mmap=mmap) for n in split[s]]
            for s in SPLITS
        }
        return cls(loaded["train"], loaded["validation"], loaded["test"], directory=directory)

    def _check_consistent(self) -> None:
        ref = self.train[0]
        for s in self.all:
            if s.n_features != ref.n_features:
                raise DataError(f"snapshot {s.name!r} has {s.n_features} descriptors, {ref.name!r} "
                                f"has {ref.n_features}; all snapshots need the same descriptor "
                                "settings (regenerate the .in.npy files).")
            g, r = s.energy_grid, ref.energy_grid
            if g.n != r.n or not (math.isclose(g.offset, r.offset, rel_tol=1e-9, abs_tol=1e-9)
                                  and math.isclose(g.spacing, r.spacing, rel_tol=1e-9, abs_tol=1e-12)):
                raise DataError(f"snapshot {s.name!r} has energy grid {g.to_dict()} (eV), "
                                f"{ref.name!r} has {r.to_dict()}; all snapshots need the same "
                                "energy grid.")
        names = [s.name for s in self.all]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DataError(f"snapshot(s) {dup} appear in more than one split.")

    # ------------------------------------------------------------------ views
    @property
    def all(self) -> list[Snapshot]:
        """Every snapshot, train then validation then test."""
        return self.train + self.validation + self.test

    @property
    def splits(self) -> dict[str, list[Snapshot]]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def names(self, split: str) -> list[str]:
        return [s.name for s in getattr(self, split)]

    @property
    def n_features(self) -> int:
        """Descriptors per grid point (F)."""
        return self.train[0].n_features

    @property
    def n_energies(self) -> int:
        """LDOS values per grid point (nE)."""
        return self.train[0].n_energies

    @property
    def energy_grid(self) -> EnergyGrid:
        """The shared energy grid (eV)."""
        return self.train[0].energy_grid

    def summary(self) -> str:
        """A short table: one row per snapshot."""
        g = self.energy_grid
        head = (f"{len(self.all)} snapshots, F={self.n_features} descriptors, nE={self.n_energies} "
                f"energies {g.offset:g}..{g.end:g} eV (step {g.spacing:g})"
                + (f", from {self.directory}" if self.directory else ""))
        rows = [f"{'split':<11}{'name':<24}{'grid':<16}{'points':>9}{'atoms':>7}{'T (K)':>9}"
                f"{'N_e':>9}{'E_F (eV)':>10}"]
        for split, snaps in self.splits.items():
            for s in snaps:
                atoms = len(s.atoms) if s.atoms is not None else "-"
                ef = s.reference.get("fermi_energy_dft")
                rows.append(f"{split:<11}{s.name:<24}{'x'.join(map(str, s.grid_shape)):<16}"
                            f"{s.n_points:>9}{atoms!s:>7}{s.temperature:>9.1f}{s.n_electrons:>9.2f}"
                            + (f"{ef:>10.4f}" if ef is not None else f"{'-':>10}"))
        return "\n".join([head, *rows])

    def __repr__(self) -> str:
        return (f"SnapshotSet(train={self.names('train')}, validation={self.names('validation')}, "
                f"test={self.names('test')})")
