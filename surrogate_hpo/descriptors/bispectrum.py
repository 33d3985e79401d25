"""Bispectrum (SNAP) descriptors on a real-space grid via LAMMPS ``compute sna/grid``.

The grid is the LDOS grid of Quantum ESPRESSO: point ``(i, j, k)`` sits at the
fractional coordinates ``(i/nx, j/ny, k/nz)`` of the cell.  Settings follow MALA's
``in.bgrid.python``: ``rfac0 = 0.99363``, ``rmin0 = 0``, element radius 0.5 and weight
1 (so the neighbour cutoff equals ``rcutfac`` in Å), no ``bzero``, no quadratic
terms, switching function on (MALA's ``bispectrum_switchflag = 1``).

Several elements (MALA's ``in.bgrid_n<k>.python``): LAMMPS types 1..k are the species in
alphabetical order (as ASE's lammps-data writer and so MALA number them), each with its
own radius and weight (``element_radii``/``element_weights``, default ``radelem``/``wj``).

LAMMPS returns rows x-fastest; they are reordered to ``(nx, ny, nz)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from surrogate_hpo.descriptors.lammps_runtime import create_lammps

__all__ = [
    "BispectrumSettings",
    "DEFAULT_RCUTFAC",
    "DEFAULT_TWOJMAX",
    "compute_bispectrum",
    "n_bispectrum_components",
    "slab_planes",
]

#: MALA's defaults (``Parameters.descriptors.bispectrum_cutoff`` / ``_twojmax``), used in its Al examples.
DEFAULT_RCUTFAC = 4.67637
DEFAULT_TWOJMAX = 10
MAX_TWOJMAX = 20
#: a cutoff sphere larger than this many cell widths means hundreds of periodic images
MAX_CUTOFF_OVER_WIDTH = 4.0


@dataclass(frozen=True)
class BispectrumSettings:
    """Settings of ``compute sna/grid`` (MALA conventions as defaults)."""

    rcutfac: float = DEFAULT_RCUTFAC
    twojmax: int = DEFAULT_TWOJMAX
    rfac0: float = 0.99363
    rmin0: float = 0.0
    radelem: float = 0.5
    wj: float = 1.0
    switchflag: int = 1
    bzeroflag: int = 0
    quadraticflag: int = 0
    #: the species the LAMMPS types stand for, alphabetical (empty: those of each structure)
    species: tuple[str, ...] = ()
    #: per-species weight / radius as ``((symbol, value), ...)``; a species not named gets wj / radelem
    element_weights: tuple[tuple[str, float], ...] = ()
    element_radii: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "species", tuple(sorted(str(e) for e in self.species or ())))
        for name in ("element_weights", "element_radii"):
            value = getattr(self, name) or ()
            pairs = value.items() if isinstance(value, dict) else value
            object.__setattr__(self, name, tuple(sorted((str(k), float(v)) for k, v in pairs)))

    def types_of(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The species of LAMMPS types 1..k for a structure with ``symbols`` (ValueError if
        it holds a species the settings do not)."""
        present = sorted(set(symbols))
        if not self.species:
            return tuple(present)
        unknown = [e for e in present if e not in self.species]
        if unknown:
            raise ValueError(f"the structure holds {unknown}, the descriptor settings only {list(self.species)}")
        return self.species

    def weight_of(self, symbol: str) -> float:
        """Neighbour weight ``wj`` of ``symbol`` (dimensionless)."""
        return dict(self.element_weights).get(symbol, float(self.wj))

    def radius_of(self, symbol: str) -> float:
        """Element radius of ``symbol`` (dimensionless; the cutoff is ``rcutfac * (r_i + r_j)`` Å)."""
        return dict(self.element_radii).get(symbol, float(self.radelem))

    def to_dict(self) -> dict[str, Any]:
        d = {"type": "bispectrum", **asdict(self)}
        d["species"] = list(self.species)
        d["element_weights"] = dict(self.element_weights)
        d["element_radii"] = dict(self.element_radii)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BispectrumSettings":
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "species" in fields:
            fields["species"] = tuple(fields["species"] or ())
        return cls(**fields)


def n_bispectrum_components(twojmax: int) -> int:
    """Number of bispectrum components LAMMPS computes for ``twojmax`` (91 for 10)."""
    _check_twojmax(twojmax)
    count = 0
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                if j >= j1:
                    count += 1
    return count


def _check_twojmax(twojmax: Any) -> int:
    if isinstance(twojmax, bool) or int(twojmax) != twojmax:
        raise ValueError(f"twojmax must be an integer, got {twojmax!r}")
    twojmax = int(twojmax)
    if not 0 <= twojmax <= MAX_TWOJMAX:
        raise ValueError(
            f"twojmax must be in [0, {MAX_TWOJMAX}] (MALA uses 10 for Al), got {twojmax}"
        )
    return twojmax


def _check_grid(grid_shape: Sequence[int]) -> tuple[int, int, int]:
    try:
        shape = tuple(int(n) for n in grid_shape)
    except TypeError as exc:
        raise ValueError(f"grid_shape must be 3 positive integers, got {grid_shape!r}") from exc
    if len(shape) != 3 or any(n < 1 for n in shape) or any(int(n) != n for n in grid_shape):
        raise ValueError(f"grid_shape must be 3 positive integers, got {grid_shape!r}")
    return shape  # type: ignore[return-value]


def _f(x: float) -> str:
    """Full-precision float literal for a LAMMPS command."""
    return repr(float(x))


def _lammps_frame(cell: np.ndarray) -> np.ndarray:
    """The cell rotated into LAMMPS' restricted-triclinic frame (a along x, b in xy)."""
    a, b, c = cell
    ax = np.linalg.norm(a)
    ahat = a / ax
    bx = b @ ahat
    by = np.linalg.norm(np.cross(ahat, b))
    cx = c @ ahat
    cy = (b @ c - bx * cx) / by
    cz2 = c @ c - cx**2 - cy**2
    cz = np.sqrt(max(cz2, 0.0))
    return np.array([[ax, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])


def compute_bispectrum(
    atoms: Any,
    grid_shape: Sequence[int],
    *,
    rcutfac: float = DEFAULT_RCUTFAC,
    twojmax: int = DEFAULT_TWOJMAX,
    settings: BispectrumSettings | None = None,
    dtype: Any = np.float32,
    planes: tuple[int, int] | None = None,
) -> np.ndarray:
    """Bispectrum descriptors of ``atoms`` on a ``grid_shape`` grid of its cell.

    Args:
        atoms: ``ase.Atoms`` with a periodic, right-handed cell (Å); any number of
            elements (types by ``settings.types_of``).
        grid_shape: ``(nx, ny, nz)``; point ``(i, j, k)`` is at fractional ``(i/nx, j/ny, k/nz)``.
        rcutfac: cutoff radius in Å (with MALA's element radius 0.5 the neighbour cutoff
            is exactly ``rcutfac``).
        twojmax: angular order, integer in ``[0, 20]``; 10 gives 91 components.
        settings: full settings; when given, ``rcutfac``/``twojmax`` arguments are ignored.
        dtype: output dtype (float32 as in MALA files).
        planes: ``(k0, k1)``: only the grid planes ``k0 .. k1-1`` along the third cell vector
            (which must be perpendicular to the first two), for grids too large for memory.

    Returns:
        array ``(nx, ny, nz, 3 + F)`` (``nz = k1 - k0`` with ``planes``): columns 0..2
        Cartesian coordinates of the grid point (Å, in the frame of ``atoms.cell``), then
        the F bispectrum components.

    Raises:
        ValueError: bad twojmax, grid, cutoff, cell (not 3-D periodic, left-handed,
            degenerate) or a species the settings do not know.
    """
    if settings is None:
        settings = BispectrumSettings(rcutfac=float(rcutfac), twojmax=int(_check_twojmax(twojmax)))
    twojmax = _check_twojmax(settings.twojmax)
    nx, ny, nz = _check_grid(grid_shape)
    rc = float(settings.rcutfac)
    if not np.isfinite(rc) or rc <= 0:
        raise ValueError(f"rcutfac must be a positive cutoff in Å, got {settings.rcutfac!r}")

    cell = np.asarray(atoms.cell[:], dtype=np.float64)
    if cell.shape != (3, 3) or not np.all(np.asarray(atoms.pbc)):
        raise ValueError("compute_bispectrum needs a fully periodic 3-D cell (atoms.pbc all True)")
    volume = float(np.linalg.det(cell))
    if abs(volume) < 1e-8:
        raise ValueError("the cell is degenerate (zero volume)")
    if volume < 0:
        raise ValueError(
            "left-handed cell; LAMMPS needs a right-handed one (swap two cell vectors)"
        )
    symbols = list(atoms.get_chemical_symbols())
    types = settings.types_of(symbols)
    radii = [settings.radius_of(e) for e in types]
    weights = [settings.weight_of(e) for e in types]
    widths = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    cut = rc * 2.0 * max(radii)
    if cut > MAX_CUTOFF_OVER_WIDTH * widths.min():
        raise ValueError(
            f"cutoff {cut:.3f} Å is more than {MAX_CUTOFF_OVER_WIDTH:g}x the smallest cell "
            f"width {widths.min():.3f} Å; use a larger supercell"
        )
    lcell = _lammps_frame(cell)
    frac = np.asarray(atoms.get_scaled_positions(wrap=True), dtype=np.float64)
    frac = np.mod(frac, 1.0)
    frac[frac >= 1.0 - 1e-12] = 0.0
    pos = frac @ lcell
    type_of = {e: i + 1 for i, e in enumerate(types)}
    kinds = np.array([type_of[e] for e in symbols])
    per_type = " ".join(_f(r) for r in radii) + " " + " ".join(_f(w) for w in weights)
    if planes is None:
        k0, k1 = 0, nz
        arr = _sna_grid(lcell, pos, kinds, len(types), (nx, ny, nz), settings, per_type, cut)
    else:
        k0, k1 = int(planes[0]), int(planes[1])
        if not 0 <= k0 < k1 <= nz:
            raise ValueError(f"planes {planes} must satisfy 0 <= first < last <= {nz}")
        if np.any(np.abs(lcell[2, :2]) > 1e-10):
            raise ValueError("slabs of planes need the third cell vector perpendicular to the first two")
        arr = _slab(lcell, pos, kinds, len(types), (nx, ny, nz), (k0, k1), settings, per_type, cut)
    # coordinates in the frame of atoms.cell (exact fractional positions, not LAMMPS' rotated frame)
    fi = np.stack(
        np.meshgrid(np.arange(nx) / nx, np.arange(ny) / ny, np.arange(k0, k1) / nz, indexing="ij"),
        axis=-1,
    )
    result = np.empty((nx, ny, k1 - k0, arr.shape[-1]), dtype=dtype)
    result[..., :3] = fi @ cell
    result[..., 3:] = arr[..., 3:]
    return result


def slab_planes(grid_shape: Sequence[int], twojmax: int, memory_gb: float) -> int:
    """Planes of the third grid axis per slab so that LAMMPS' float64 array of a slab stays
    under ``memory_gb`` GiB (the whole grid when it fits)."""
    nx, ny, nz = _check_grid(grid_shape)
    per_plane = nx * ny * (3 + n_bispectrum_components(twojmax)) * 8
    return max(1, min(nz, int(memory_gb * 2**30 // per_plane)))


def _slab(lcell: np.ndarray, pos: np.ndarray, kinds: np.ndarray, n_types: int, grid: tuple[int, int, int],
          planes: tuple[int, int], settings: BispectrumSettings, per_type: str, cut: float) -> np.ndarray:
    """Planes ``k0 .. k1-1`` only: a box bounded along z (``f``) around them, padded by the
    cutoff, holding the periodic images of the atoms that fall inside it."""
    nx, ny, nz = grid
    k0, k1 = planes
    cz = float(lcell[2, 2])
    dz = cz / nz
    pad = int(np.ceil(cut / dz)) + 1
    m = (k1 - k0) + 2 * pad
    zlo = (k0 - pad) * dz
    zhi = zlo + m * dz
    reach = int(np.ceil((zhi - zlo) / cz)) + 1
    images = [(pos + [0.0, 0.0, t * cz], kinds) for t in range(-reach, reach + 1)]
    p = np.concatenate([i[0] for i in images])
    k = np.concatenate([i[1] for i in images])
    inside = (p[:, 2] > zlo + 1e-9 * dz) & (p[:, 2] < zhi - 1e-9 * dz)
    box = lcell.copy()
    box[2, 2] = zhi - zlo
    arr = _sna_grid(box, p[inside] - [0.0, 0.0, zlo], k[inside], n_types, (nx, ny, m), settings, per_type, cut,
                    periodic_z=False)
    return arr[:, :, pad:pad + (k1 - k0)]


def _sna_grid(lcell: np.ndarray, pos: np.ndarray, kinds: np.ndarray, n_types: int, grid: tuple[int, int, int],
              settings: BispectrumSettings, per_type: str, cut: float, *, periodic_z: bool = True) -> np.ndarray:
    """LAMMPS ``compute sna/grid`` on the box ``lcell`` (LAMMPS frame, origin 0): ``(nx, ny, nz, 3 + F)``."""
    nx, ny, nz = grid
    twojmax = int(settings.twojmax)
    triclinic = bool(np.any(np.abs(lcell[[1, 2, 2], [0, 0, 1]]) > 1e-10))
    lmp = create_lammps()
    try:
        cmds = ["units metal", "atom_style atomic", f"boundary p p {'p' if periodic_z else 'f'}",
                "atom_modify map array"]
        if triclinic:
            (ax, _, _), (bx, by, _), (cx, cy, cz) = lcell
            cmds.append(
                f"region box prism 0 {_f(ax)} 0 {_f(by)} 0 {_f(cz)} {_f(bx)} {_f(cx)} {_f(cy)} units box"
            )
        else:
            cmds.append(
                f"region box block 0 {_f(lcell[0, 0])} 0 {_f(lcell[1, 1])} 0 {_f(lcell[2, 2])} units box"
            )
        cmds += [f"create_box {n_types} box", "mass * 1.0"]
        for p, t in zip(pos, kinds):
            cmds.append(f"create_atoms {int(t)} single {_f(p[0])} {_f(p[1])} {_f(p[2])} units box remap yes")
        s = settings
        cmds += [
            f"compute bgrid all sna/grid grid {nx} {ny} {nz} {_f(s.rcutfac)} {_f(s.rfac0)} {twojmax} "
            f"{per_type} rmin0 {_f(s.rmin0)} bzeroflag {int(s.bzeroflag)} "
            f"quadraticflag {int(s.quadraticflag)} switchflag {int(s.switchflag)}",
            f"pair_style zero {_f(cut)}",
            "pair_coeff * *",
            "thermo_style custom step pe",
            "run 0",
        ]
        try:
            lmp.commands_list(cmds)
        except Exception as exc:  # LAMMPS raises a generic Exception with its message
            raise RuntimeError(f"LAMMPS sna/grid failed: {exc}") from exc
        if lmp.get_natoms() != len(pos):
            raise RuntimeError(
                f"LAMMPS created {lmp.get_natoms()} atoms instead of {len(pos)} (positions outside the cell?)"
            )
        arr = lmp.numpy.extract_compute("bgrid", 0, 2)  # LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY
        if arr is None:
            raise RuntimeError("LAMMPS returned no sna/grid array")
        arr = np.array(arr, dtype=np.float64, copy=True)
    finally:
        lmp.close()
    n_feat = n_bispectrum_components(twojmax)
    if arr.shape != (nx * ny * nz, 3 + n_feat):
        raise RuntimeError(
            f"unexpected sna/grid array shape {arr.shape}, expected {(nx * ny * nz, 3 + n_feat)}"
        )
    return arr.reshape(nz, ny, nx, 3 + n_feat).transpose(2, 1, 0, 3)
