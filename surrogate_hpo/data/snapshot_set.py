"""Snapshots of a data directory split by snapshot into train / validation / test."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..physics.energy_grid import EnergyGrid
from .errors import DataError
from .fingerprint import files_fingerprint
from .snapshot import (
    ARRAY_ROLES,
    METADATA_ROLES,
    Snapshot,
    is_snapshot_array,
    load_snapshot,
)

__all__ = ["Discovery", "SnapshotSet", "discover", "discover_snapshots", "default_split", "SPLITS"]

SPLITS = ("train", "validation", "test")


def _natural_key(name: str) -> list:
    """Sort key that puts ``snap2`` before ``snap10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


@dataclass
class Discovery:
    """Snapshot names of a folder, and the files that are not snapshots (with the reason)."""

    names: list[str]
    left_out: dict[str, str] = field(default_factory=dict)

    def note(self) -> str | None:
        """One line on the files left out, or None."""
        if not self.left_out:
            return None
        items = sorted(self.left_out.items())
        shown = ", ".join(f"{f} ({why})" for f, why in items[:6])
        more = f" and {len(items) - 6} more" if len(items) > 6 else ""
        return f"left out (not snapshots of this data): {shown}{more}"


_ARRAY_SUFFIXES = (".npy", ".h5", ".bp", ".npz")


def discover(directory: str | Path, *, require_descriptors: bool = True) -> Discovery:
    """Snapshots of ``directory``: every name with ``<name>.out.npy`` (LDOS) and, when
    ``require_descriptors``, ``<name>.in.npy``; naturally sorted.

    A ``<name>.out.npy`` whose ``<name>.in.npy`` is missing, a folder or a broken link is
    an error (DataError naming it): it looks like a snapshot and must not vanish silently.
    Descriptors without an LDOS (e.g. MALA's ``<name>_ACE.in.npy``) and other arrays
    (``.dens.npy``, ``.dos.npy``, openPMD ``.h5``) are left out and listed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: data directory not found. Set data.path=<directory with "
                        "<name>.in.npy / <name>.out.npy files>.")
    try:
        entries = sorted(directory.iterdir())
    except OSError as e:
        raise DataError(f"{directory}: cannot list the folder ({e})") from None
    ins = {p.name[: -len(".in.npy")]: p for p in entries if p.name.endswith(".in.npy")}
    outs = {p.name[: -len(".out.npy")]: p for p in entries if p.name.endswith(".out.npy")}
    for p in entries:  # MALA's openPMD files (HDF5) and folders (ADIOS2) stand in for the .npy ones
        for suffix, table in ((".in.h5", ins), (".out.h5", outs), (".in.bp", ins), (".out.bp", outs)):
            if p.name.endswith(suffix) and p.name[: -len(suffix)] not in table:
                table[p.name[: -len(suffix)]] = p
    bad = {p.name: ("a folder" if p.is_dir() else "a broken link or loop") for p in [*ins.values(), *outs.values()]
           if not is_snapshot_array(p)}
    if bad:
        raise DataError(f"{directory}: " + "; ".join(f"{n} is {why}" for n, why in sorted(bad.items()))
                        + "; a snapshot's arrays must be files: replace or remove them")
    left_out: dict[str, str] = {}
    names = []
    for name in outs:
        if name in ins or not require_descriptors:
            names.append(name)
        else:
            raise DataError(f"snapshot {name!r} in {directory}: {outs[name].name} (LDOS) has no {name}.in.npy "
                            "(descriptors); add the descriptors or move the LDOS out of the folder")
    for name, p in ins.items():
        if name not in outs:
            left_out[p.name] = "descriptors without an LDOS"
    used = {p.name for n in names for p in (ins.get(n), outs.get(n)) if p is not None}
    for p in entries:
        if p.name not in used and p.name not in left_out and p.name.endswith(_ARRAY_SUFFIXES):
            left_out[p.name] = "not a .in.npy/.out.npy pair"
    return Discovery(sorted(names, key=_natural_key), left_out)


def discover_snapshots(directory: str | Path) -> list[str]:
    """Names of the snapshots in ``directory`` (see :func:`discover`), naturally sorted."""
    return discover(directory).names


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
        #: files of the folder that are not used, with the reason (see :func:`discover`)
        self.left_out: dict[str, str] = {}
        self._fingerprint: str | None = None  # computed when first asked for
        self._metadata_fingerprint: str | None = None
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
        valence_charges: Mapping[str, float] | None = None,
        mmap: bool = True,
        require_descriptors: bool = True,
        contains_xyz: bool | None = None,
    ) -> "SnapshotSet":
        """Load the snapshots of ``path`` and split them.

        Default split (see :func:`default_split`): names sorted naturally; with n >= 3 the
        last is test, the one before validation, the rest train. Explicit name lists
        override. ``energy_grid`` (eV), ``temperature`` (K), ``n_electrons`` and ``voxel``
        (3x3 Å) override the metadata of every snapshot (see :func:`load_snapshot`); a
        snapshot's pw.x output is found next to its arrays (``<name>.pw.out``, ...).
        ``contains_xyz``: whether the descriptor files start with 3 coordinate columns (None:
        told from the columns).
        """
        directory = Path(path)
        found = discover(directory, require_descriptors=require_descriptors)
        if not found.names:
            raise DataError(f"{directory}: no snapshots found (a snapshot is a pair <name>.in.npy (descriptors) + "
                            f"<name>.out.npy (LDOS)){'; ' + found.note() if found.note() else ''}.")
        split = default_split(found.names, train=train, validation=validation, test=test)
        loaded = {
            s: [load_snapshot(directory / n, energy_grid=energy_grid, temperature=temperature,
                              n_electrons=n_electrons, voxel=voxel, valence_charges=valence_charges, mmap=mmap,
                              require_descriptors=require_descriptors, contains_xyz=contains_xyz)
                for n in split[s]]
            for s in SPLITS
        }
        unused = [n for n in found.names if not any(n in v for v in split.values())]
        out = cls(loaded["train"], loaded["validation"], loaded["test"], directory=directory)
        out.left_out = dict(found.left_out)
        out.left_out.update({f"{n}.in/.out.npy": "not in data.train/validation/test" for n in unused})
        return out

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
        notes = [n for n in (self.left_out_note(), self.replaced_note()) if n]
        return "\n".join([head, *rows, *notes])

    def replaced_note(self) -> str | None:
        """One line per config key that replaced a value the snapshots' own files state (None if none)."""
        by_key: dict[str, list[str]] = {}
        for s in self.all:
            for key, stated in s.replaced.items():
                by_key.setdefault(key, []).append(f"{s.name} ({stated})")
        if not by_key:
            return None
        return "\n".join(f"note: data.{key} replaces what the files of {len(v)} snapshot(s) state: "
                         f"{', '.join(v[:4])}{' ...' if len(v) > 4 else ''}; to keep their own, set it only in "
                         "the sidecars of the snapshots that lack it" for key, v in sorted(by_key.items()))

    def left_out_note(self) -> str | None:
        """One line on the folder's files that are not used (None if every file is)."""
        return Discovery([], self.left_out).note()

    def fingerprint(self) -> str:
        """Digest of the snapshots' arrays (descriptors and LDOS, ``.npy`` or openPMD), split by
        split (:mod:`.fingerprint`), as they were when first asked for (the study's record of
        what it read)."""
        if self._fingerprint is None:
            self._fingerprint = self._files_fingerprint(ARRAY_ROLES)
        return self._fingerprint

    def metadata_fingerprint(self) -> str:
        """Digest of the metadata files the snapshots were read with (sidecars, pw.x outputs)."""
        if self._metadata_fingerprint is None:
            self._metadata_fingerprint = self._files_fingerprint(METADATA_ROLES)
        return self._metadata_fingerprint

    def _files_fingerprint(self, roles: tuple[str, ...]) -> str:
        return files_fingerprint([(f"{split}/{f.name}", f) for split, snaps in self.splits.items()
                                  for s in snaps for role, f in s.files.items() if role in roles])

    def __repr__(self) -> str:
        return (f"SnapshotSet(train={self.names('train')}, validation={self.names('validation')}, "
                f"test={self.names('test')})")
