"""MALA snapshots as Parquet shards for streaming with Ray Data.

Layout of a shard folder ``<out>``::

    <out>/manifest.json                      written last: its presence means "complete"
    <out>/train/<snapshot>-<k>.parquet       k = 00000, 00001, ... (at most rows_per_shard rows)
    <out>/validation/<snapshot>-<k>.parquet
    <out>/test/<snapshot>-<k>.parquet

One row per grid point, in the snapshot's C order (x slowest, z fastest, as
``descriptors.reshape(-1, F)``). Columns:

* ``descriptors``: Arrow fixed-shape tensor ``(F,)`` float32, UNSCALED (as in ``<name>.in.npy``
  without the 3 coordinate columns);
* ``ldos``: Arrow fixed-shape tensor ``(nE,)`` float32, UNSCALED, 1/(eV·Å³);
* ``snapshot``: string, the snapshot name;
* ``point``: int32, the flat grid index of the row.

Values are stored unscaled so one shard set serves any scaling; the manifest carries the
scalers fitted on the TRAINING split (:func:`surrogate_hpo.data.scalers.fit_scalers`), which
:mod:`surrogate_hpo.data.streaming` applies inside the Ray Data pipeline. Each split folder
holds only that split's shards, so ``ray.data.read_parquet(<out>/train)`` reads the training
rows. Every file is written to a temporary name in its folder and moved into place with
``os.replace``, so a crash never leaves a half-written shard under a final name.
"""

from __future__ import annotations

import json
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..physics.energy_grid import EnergyGrid
from ..util.atomic import atomic_open, atomic_write_bytes
from ..util.folders import links_inside
from .batches import flatten_grid
from .errors import DataError
from .fingerprint import files_fingerprint
from .scalers import Scaler, fit_scalers
from .snapshot import ARRAY_ROLES, Snapshot
from .snapshot_set import SPLITS, SnapshotSet

__all__ = ["FORMAT_VERSION", "MANIFEST_NAME", "DEFAULT_ROWS_PER_SHARD", "DEFAULT_ROW_GROUP_ROWS",
           "ShardManifest", "check_outside", "write_shards", "read_manifest", "manifest_scalers", "shard_table"]

FORMAT_NAME = "surrogate_hpo.shards"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
#: 131072 rows x (91 + 84) float32 is about 92 MB per shard: one Ray Data block each.
DEFAULT_ROWS_PER_SHARD = 131072
#: Parquet row group size (rows); Ray Data may split a file's read along row groups.
DEFAULT_ROW_GROUP_ROWS = 65536
#: Parquet codecs pyarrow writes (None: uncompressed)
COMPRESSIONS = (None, "snappy", "gzip", "brotli", "lz4", "zstd")


def _tensor_array(a: np.ndarray):
    """Arrow fixed-shape tensor array of a C-contiguous float32 ``(rows, n)`` array (no copy)."""
    import pyarrow as pa

    return pa.FixedShapeTensorArray.from_numpy_ndarray(np.ascontiguousarray(a, dtype=np.float32))


def shard_table(name: str, x: np.ndarray, y: np.ndarray, first_point: int):
    """Arrow table of rows ``first_point ...`` of snapshot ``name`` (x: (rows, F), y: (rows, nE))."""
    import pyarrow as pa

    n = len(x)
    return pa.table({
        "descriptors": _tensor_array(x),
        "ldos": _tensor_array(y),
        "snapshot": pa.array([name] * n, type=pa.string()) if n else pa.array([], type=pa.string()),
        "point": pa.array(np.arange(first_point, first_point + n, dtype=np.int32)),
    })


def _atomic_write_table(path: Path, table, row_group_rows: int, compression: str | None) -> None:
    import pyarrow.parquet as pq

    with atomic_open(path) as fh:
        pq.write_table(table, fh, row_group_size=row_group_rows, compression=compression or "none")


def snapshot_fingerprint(s: Snapshot) -> str | None:
    """Fingerprint of a snapshot's files (None for a snapshot not loaded from files)."""
    if s.path is None:
        return None
    return files_fingerprint([(f.name[len(s.name):], f) for role, f in s.files.items() if role in ARRAY_ROLES])


def _atoms_dict(s: Snapshot) -> dict | None:
    if s.atoms is None:
        return None
    return {"symbols": list(s.atoms.get_chemical_symbols()), "positions": s.atoms.positions.tolist(),
            "cell": s.atoms.cell.array.tolist(), "pbc": [bool(p) for p in s.atoms.pbc]}


def _clear_previous(out: Path, overwrite: bool) -> None:
    """Refuse (or, with ``overwrite``, clean) a folder that already holds shards, and one that
    holds symbolic links (shards are written, and old ones deleted, only inside it)."""
    links = links_inside(out)
    if links:
        raise DataError(f"{out} holds symbolic links ({', '.join(map(str, links))}); shards are written only inside "
                        "their folder: remove the links or choose another output folder")
    old = [p for split in SPLITS for p in sorted((out / split).glob("*.parquet"))]
    manifest = out / MANIFEST_NAME
    if not (old or manifest.exists()):
        return
    if not overwrite:
        raise DataError(f"{out} already holds shards ({len(old)} .parquet files"
                        f"{', manifest.json' if manifest.exists() else ''}). Choose another output "
                        "folder or pass overwrite=True (config: overwrite=true).")
    if manifest.exists():  # first: a half-rewritten folder must not look complete
        manifest.unlink()
    for p in old:
        p.unlink()


def _check_write_settings(**settings: Any) -> None:
    """Row counts are whole numbers >= 1 and the codec one pyarrow writes (ConfigError)."""
    for key in ("rows_per_shard", "row_group_rows"):
        value = settings[key]
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{key}={value!r} must be a whole number >= 1, e.g. {key}=65536")
    if settings["compression"] not in COMPRESSIONS:
        raise ConfigError(f"compression={settings['compression']!r}: choose one of null, "
                          f"{', '.join(str(v) for v in COMPRESSIONS if v)}")


def write_shards(
    source: SnapshotSet | str | Path,
    out_dir: str | Path,
    *,
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
    input_scaling: str = "feature-wise-standard",
    output_scaling: str = "minmax",
    train: Sequence[str] | None = None,
    validation: Sequence[str] | None = None,
    test: Sequence[str] | None = None,
    row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    compression: str | None = None,
    overwrite: bool = False,
    **load_options: Any,
) -> Path:
    """Convert a snapshot set (or a MALA folder) into Parquet shards; return ``out_dir``.

    Args:
        source: a :class:`SnapshotSet` or a folder of MALA snapshots (split with
            ``train``/``validation``/``test`` name lists or the default split; ``load_options``
            such as ``energy_grid``, ``temperature``, ``n_electrons``, ``voxel`` are passed to
            :meth:`SnapshotSet.from_directory`).
        out_dir: the shard folder (created).
        rows_per_shard: most rows per Parquet file.
        input_scaling, output_scaling: scaler kinds fitted on the training split and stored
            in the manifest (the shards hold unscaled values).
        row_group_rows: Parquet row group size.
        compression: Parquet codec (None: uncompressed; float data barely compress and
            decompression costs CPU that streaming needs).
        overwrite: replace the shards of an existing shard folder.
    """
    _check_write_settings(rows_per_shard=rows_per_shard, row_group_rows=row_group_rows, compression=compression)
    if isinstance(source, SnapshotSet):
        if train is not None or validation is not None or test is not None or load_options:
            raise DataError("split lists and load options apply only when source is a folder; "
                            "a SnapshotSet is already split.")
        sset = source
    else:
        check_outside(Path(source), Path(out_dir))
        sset = SnapshotSet.from_directory(source, train=train, validation=validation, test=test,
                                          **load_options)
    rows_per_shard = int(rows_per_shard)
    row_group_rows = min(int(row_group_rows), rows_per_shard)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out, overwrite)
    x_scaler, y_scaler = fit_scalers(sset, input_scaling, output_scaling)

    snapshots: dict[str, Any] = {}
    for split, snaps in sset.splits.items():
        (out / split).mkdir(exist_ok=True)
        for s in snaps:
            x, y = flatten_grid(s.descriptors), flatten_grid(s.ldos)
            shards = []
            for k, start in enumerate(range(0, s.n_points, rows_per_shard)):
                stop = min(start + rows_per_shard, s.n_points)
                rel = f"{split}/{s.name}-{k:05d}.parquet"
                table = shard_table(s.name, x[start:stop], y[start:stop], start)
                _atomic_write_table(out / rel, table, row_group_rows, compression)
                shards.append({"file": rel, "rows": stop - start, "first_point": start})
            snapshots[s.name] = {
                "split": split,
                "grid_shape": list(s.grid_shape),
                "n_rows": s.n_points,
                "shards": shards,
                "energy_grid": s.energy_grid.to_dict(),
                "temperature": float(s.temperature),
                "n_electrons": float(s.n_electrons) if s.n_electrons is not None else None,
                "voxel": np.asarray(s.voxel).tolist() if s.voxel is not None else None,
                "reference": dict(s.reference),
                "atoms": _atoms_dict(s),
                "fingerprint": snapshot_fingerprint(s),
            }
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": str(sset.directory) if sset.directory is not None else None,
        "n_features": sset.n_features,
        "n_energies": sset.n_energies,
        "energy_grid": sset.energy_grid.to_dict(),
        "rows_per_shard": rows_per_shard,
        "row_group_rows": row_group_rows,
        "columns": {"descriptors": {"dtype": "float32", "shape": [sset.n_features], "scaled": False},
                    "ldos": {"dtype": "float32", "shape": [sset.n_energies], "scaled": False,
                             "units": "1/(eV*Angstrom^3)"},
                    "snapshot": {"dtype": "string"}, "point": {"dtype": "int32"}},
        "splits": {split: [s.name for s in snaps] for split, snaps in sset.splits.items()},
        "snapshots": snapshots,
        "scalers": {"fitted_on": "train", "input": x_scaler.to_dict(), "output": y_scaler.to_dict()},
    }
    atomic_write_bytes(out / MANIFEST_NAME, json.dumps(manifest, indent=1).encode())
    return out


# --------------------------------------------------------------------------- reading


@dataclass
class ShardManifest:
    """A shard folder's ``manifest.json``, checked against its files."""

    directory: Path
    raw: dict

    @property
    def n_features(self) -> int:
        return int(self.raw["n_features"])

    @property
    def n_energies(self) -> int:
        return int(self.raw["n_energies"])

    @property
    def energy_grid(self):

        return EnergyGrid.from_dict(self.raw["energy_grid"])

    @property
    def x_scaler(self) -> Scaler:
        """Input scaler fitted on the training split."""
        return Scaler.from_dict(self.raw["scalers"]["input"])

    @property
    def y_scaler(self) -> Scaler:
        """Output (LDOS) scaler fitted on the training split."""
        return Scaler.from_dict(self.raw["scalers"]["output"])

    def names(self, split: str) -> list[str]:
        self._check_split(split)
        return list(self.raw["splits"][split])

    def files(self, split: str) -> list[Path]:
        """Absolute shard paths of ``split``, snapshot by snapshot in manifest order."""
        return [self.directory / sh["file"] for n in self.names(split)
                for sh in self.raw["snapshots"][n]["shards"]]

    def n_rows(self, split: str) -> int:
        return sum(int(self.raw["snapshots"][n]["n_rows"]) for n in self.names(split))

    def split_dir(self, split: str) -> Path:
        self._check_split(split)
        return self.directory / split

    def _check_split(self, split: str) -> None:
        if split not in self.raw["splits"]:
            raise DataError(f"{self.directory}: no split {split!r}; splits: {sorted(self.raw['splits'])}.")


def _check_files(m: ShardManifest) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = m.directory / MANIFEST_NAME
    hint = "Re-create the shards (surrogate-hpo-shards ... overwrite=true)."
    for split in m.raw["splits"]:
        listed = {str(p) for p in m.files(split)}
        on_disk = {str(p) for p in (m.directory / split).glob("*.parquet")}
        extra = sorted(on_disk - listed)
        if extra:
            raise DataError(f"{m.directory / split}: {len(extra)} .parquet file(s) not in {where} "
                            f"(e.g. {Path(extra[0]).name}); ray.data.read_parquet would read them "
                            f"too. Remove them or {hint[0].lower() + hint[1:]}")
        for name in m.names(split):
            meta = m.raw["snapshots"][name]
            if sum(int(sh["rows"]) for sh in meta["shards"]) != int(meta["n_rows"]):
                raise DataError(f"{where}: snapshot {name!r} lists shards whose rows do not add up "
                                f"to its n_rows={meta['n_rows']}. {hint}")
            for sh in meta["shards"]:
                path = m.directory / sh["file"]
                if not path.is_file():
                    raise DataError(f"{path}: shard listed in {where} is missing. {hint}")
                try:
                    pf = pq.ParquetFile(path)
                except Exception as exc:
                    raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc}). "
                                    f"{hint}") from exc
                rows = pf.metadata.num_rows
                if rows != int(sh["rows"]):
                    raise DataError(f"{path}: holds {rows} rows, {where} says {sh['rows']}. {hint}")
                schema = pf.schema_arrow
                for col, width in (("descriptors", m.n_features), ("ldos", m.n_energies)):
                    if col not in schema.names:
                        raise DataError(f"{path}: no column {col!r} (columns: {schema.names}). {hint}")
                    t = schema.field(col).type
                    shape = list(getattr(t, "shape", []) or [])
                    if not isinstance(t, pa.FixedShapeTensorType) or shape != [width]:
                        raise DataError(f"{path}: column {col!r} has type {t}, expected a fixed-shape "
                                        f"tensor of shape [{width}] (manifest). {hint}")


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _check_structure(raw: dict, path: Path, d: Path) -> None:
    """Types and values of the manifest's fields (DataError naming the first bad one)."""
    def bad(what: str) -> DataError:
        return DataError(f"{path}: {what}. Re-create the shards (surrogate-hpo-shards ... overwrite=true).")

    for key in ("n_features", "n_energies"):
        if not _is_count(raw[key]) or raw[key] < 1:
            raise bad(f"\"{key}\" must be a positive integer, got {raw[key]!r}")
    try:
        EnergyGrid.from_dict(raw["energy_grid"])
        Scaler.from_dict(raw["scalers"]["input"])
        Scaler.from_dict(raw["scalers"]["output"])
    except Exception as exc:  # noqa: BLE001 - any malformed entry is the same user problem
        raise bad(f"malformed energy_grid or scalers ({type(exc).__name__}: {exc})") from None
    splits, snaps = raw["splits"], raw["snapshots"]
    if not isinstance(splits, dict) or not all(isinstance(v, list) and all(isinstance(n, str) for n in v)
                                               for v in splits.values()):
        raise bad("\"splits\" must map split names to lists of snapshot names")
    if not isinstance(snaps, dict):
        raise bad("\"snapshots\" must map snapshot names to their entries")
    root = d.resolve()
    for name, entry in snaps.items():
        if not isinstance(entry, dict) or not _is_count(entry.get("n_rows")) or not isinstance(entry.get("shards"),
                                                                                                list):
            raise bad(f"snapshot {name!r}: needs \"n_rows\" (a count) and \"shards\" (a list)")
        for sh in entry["shards"]:
            if not (isinstance(sh, dict) and isinstance(sh.get("file"), str) and _is_count(sh.get("rows"))
                    and _is_count(sh.get("first_point", 0))):
                raise bad(f"snapshot {name!r}: a shard entry needs \"file\" and \"rows\", got {sh!r}")
            if not (d / sh["file"]).resolve().is_relative_to(root):
                raise bad(f"snapshot {name!r}: shard file {sh['file']!r} lies outside the shard folder")


def check_outside(source: Path, out: Path) -> None:
    """DataError when the shard folder ``out`` is the snapshot folder ``source`` or inside it."""
    src, dst = source.expanduser().resolve(), out.expanduser().resolve()
    if dst == src or src in dst.parents:
        raise DataError(f"output={out} is inside the snapshot folder {source}: shards and snapshots would mix; "
                        f"choose a folder outside it, e.g. output={src}_shards")


def read_manifest(directory: str | Path, *, check_files: bool = True) -> ShardManifest:
    """Read and check ``<directory>/manifest.json``.

    With ``check_files`` every listed shard must exist with the listed row count and
    tensor shapes (Parquet footers only; no data is read), and no unlisted ``.parquet``
    file may sit in a split folder. Raises :class:`DataError` naming the problem.
    """
    d = Path(directory)
    path = d / MANIFEST_NAME
    if not path.is_file():
        if d.is_dir() and any(d.glob("*.in.*")):
            raise DataError(f"{d} holds MALA snapshots, not shards: write their shards with "
                            f"surrogate-hpo-shards source={d} output={d}_shards, then give data.shards={d}_shards")
        what = "does not exist" if not d.exists() else "has no manifest.json"
        raise DataError(f"{d}: {what}; not a (complete) shard folder. Write shards with "
                        f"surrogate-hpo-shards source=<MALA folder> output={d}.")
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}). Re-create the shards.") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise DataError(f"{path}: not a surrogate_hpo shard manifest (format={raw.get('format') if isinstance(raw, dict) else None!r}).")
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise DataError(f"{path}: shard format version {version}, this surrogate_hpo reads version "
                        f"{FORMAT_VERSION}. Re-create the shards with this version "
                        "(surrogate-hpo-shards ... overwrite=true).")
    missing = [k for k in ("n_features", "n_energies", "energy_grid", "splits", "snapshots", "scalers")
               if k not in raw]
    if missing:
        raise DataError(f"{path}: manifest lacks {missing}. Re-create the shards.")
    _check_structure(raw, path, d)
    unknown = [n for names in raw["splits"].values() for n in names if n not in raw["snapshots"]]
    if unknown:
        raise DataError(f"{path}: splits name snapshots {unknown} that have no entry in \"snapshots\".")
    m = ShardManifest(directory=d, raw=raw)
    if check_files:
        _check_files(m)
    return m


def manifest_scalers(directory: str | Path | ShardManifest) -> tuple[Scaler, Scaler]:
    """``(x_scaler, y_scaler)`` stored in a shard folder's manifest."""
    m = directory if isinstance(directory, ShardManifest) else read_manifest(directory, check_files=False)
    return m.x_scaler, m.y_scaler
