"""MALA's own hyperparameter optimisers against ours: same data, same search space, one run.

Three method pairs, MALA's name first: ``naswot`` / ``naswot``, ``oat`` / ``oat`` and
``optuna`` / ``tpe``. Both sides search the same space: ``--layers`` hidden layers (default
2), every layer its own width from ``--widths`` (default 32 64 128) and its own activation
(sigmoid, relu, leakyrelu, tanh) -- 144 networks for the defaults; no training-policy
factor is searched on either side.

Data. One MALA folder (default: the bundled Al sample), split by our rule (names sorted
naturally, last = test, the one before = validation, the rest = train;
:func:`surrogate_hpo.data.snapshot_set.default_split`). MALA's ``DataHandler`` cannot
subsample grid points, so with ``--max-points N`` (default 4000) the script writes a
temporary MALA folder that BOTH sides read: each training snapshot holds N random grid
points (our rule: one ``numpy.random.default_rng(0)`` over the training snapshots in split
order, sorted indices, as ``data.max_train_points_per_snapshot`` picks them) stored as an
``(N, 1, 1, 3 + F)`` / ``(N, 1, 1, nE)`` array with its sidecar's ``grid_dimensions``
changed to ``[N, 1, 1]``; validation and test snapshots are linked unchanged (full grids:
energies need them). ``--max-points 0`` uses the folder as it is (needed for folders whose
metadata is only in ``<name>.pw.out`` files: only ``.info.json`` sidecars are rewritten). Scalers on both sides:
descriptors feature-wise standard, LDOS min-max over all values (MALA's
``feature-wise-standard`` / ``minmax``, the same names), fitted on the training rows. The
script checks that MALA's scaled training rows equal ours (``data_check`` in the json).

MALA side (``mala.HyperOpt`` with ``hyper_opt_method`` = the MALA name, each study in its
own spawned process, stopped after ``--mala-timeout`` s and recorded as timed out):
hyperparameters ``ff_neurons_layer_XX`` and ``layer_activation_XX`` (categorical) for every
layer; ``perform_study()`` timed with ``time.perf_counter`` inside that process; then
``set_optimal_parameters()`` and the chosen network read back from
``params.network.layer_sizes`` / ``layer_activations`` (MALA's OAT sorts and reverses its
hyperparameter list, so names are not positions). MALA 1.4.0's ``Trainer`` passes
``verbose=True`` to ``torch.optim.lr_scheduler.ReduceLROnPlateau``, which the installed
torch rejects; :func:`torch_compat_shims` drops that keyword in MALA's process (recorded
as ``compat_shims``), otherwise every MALA training with that schedule fails.

* ``naswot``: MALA's defaults, except mini-batch 64 (the paper's B; MALA's NASWOT batch is
  ``params.running.mini_batch_size``), ``number_training_per_trial`` = 5 initialisations (as
  ours) and ``trial_ensemble_evaluation`` = ``--mala-naswot-ensemble`` (default
  ``mean_std``: the trial value is mean + std of MALA's loss = -score, i.e. minus our
  mean - std score). ``params.manual_seed`` stays None: MALA's ``Network()`` re-seeds torch
  with it, which would make the 5 initialisations (and their batches) identical; torch is
  seeded once (0) before the study instead. MALA keeps the trial with the LARGEST loss
  (``np.argmax``), i.e. the LOWEST score; the highest-scoring network (argmin of its loss,
  what the paper and our ``method.direction=max`` keep) is recorded too and trained as an
  extra row.
* ``oat``: MALA's orthogonal array (``oapackage``) over the 2L factors, each row trained
  once, range analysis picks the combination (not trained in the search, as ours with
  ``method.confirm=false``). Strength-2 arrays over 3- and 4-level factors need a multiple of
  lcm(16, 12, 9) = 144 rows: the full factorial for L = 2, on both sides. MALA asks
  oapackage to *enumerate* such arrays (``extend_arraylist`` column by column); for
  levels [4, 4, 3, 3] at 144 runs that did not finish its third column in 15 minutes in a
  standalone try, so with the default ``--mala-timeout`` MALA's OAT is recorded as timed
  out while "Generating Suitable Orthogonal Array." (ours builds the array in code).
* ``optuna``: MALA's TPE (``optuna.samplers.TPESampler(seed=manual_seed=0,
  multivariate=True)``, Optuna's default 10 start-up trials), ``--n-trials`` trials, one
  training each.

Training policy of every training on both sides (search and final): ``surrogate_hpo/conf/training/
default.yaml`` with ``training.max_epochs=--epochs``: Adam, lr 1e-3, batch 256, early
stopping patience 5 (threshold 0), ReduceLROnPlateau patience 2 factor 0.5, no weight decay;
in MALA ``running.optimizer/learning_rate/mini_batch_size/max_number_epochs/
early_stopping_epochs/early_stopping_threshold/learning_rate_scheduler/
learning_rate_patience/learning_rate_decay/l2_regularization``. Search objective: the
validation LDOS MSE in scaled units on both sides (MALA's ``validation_metric="ldos"``, its
last epoch; ours ``method.objective=val_loss``, its best epoch) -- ``--objective
val_band_energy_mae`` gives ours its default instead.

Our side (``surrogate-hpo`` CLI subprocesses, :func:`methods.run_method`, local Ray on all
CPUs, 1 CPU per trial): ``data=mala_dir`` on the same folder and split, the same
architecture grid, ``~search_space.training`` (no policy factor), ``training.max_epochs``,
``final_evaluation.seeds=--final-seeds``; ``method=naswot`` (its defaults: T=5, B=64,
k=1e-5, highest mean - std score), ``method=oat method.factors=[width_1, activation_1, ...]
method.repeats=1 method.confirm=false``, ``method=tpe method.n_trials=--n-trials
method.repeats=1`` (5 start-up trials, univariate TPE, seed 0). Each study's
``summary.json`` gives its wall times, chosen network and final test MAEs.

Final MAE on equal terms: every network MALA chose is trained with OUR trainer
(:func:`surrogate_hpo.study.training_trial.train_network`, same policy, same data, 1
thread as our final-evaluation trials) with seeds 0 .. ``--final-seeds``-1, in this process
without Ray, and evaluated on the test snapshot: band-energy and total-free-energy MAE in
meV/atom (:class:`surrogate_hpo.data.energy_metrics.EnergyEvaluator`), mean ± std over
seeds -- the same procedure as our studies' final evaluation (same seeds), so equal
architectures give equal numbers.

Reported per pair: wall time of MALA's ``perform_study()`` and of our search (the study's
``search_wall_seconds``, Ray Tune start-up of the trials included) and their ratio
MALA/ours, plus the end-to-end times (MALA's data loading + study; our whole CLI
subprocess minus its final evaluation: Python, Hydra, data, Ray start-up and search); both
chosen networks; each side's own best value (MALA: its trial loss; ours: best objective,
or for NASWOT the best mean - std score, k=1e-5 -- not comparable to MALA's k=1e-4 loss);
both final MAEs;
MALA's warnings/errors (a failing method is recorded and the others go on). Writes
``<out>.json`` (machine, command line, versions, every number), ``<out>.md`` (tables,
machine, rerun command) and ``<out>.png`` (wall time per pair; final MAE with error bars).
MALA's console output goes to ``<work-dir>/mala/<method>.log``, our studies to
``<work-dir>/ours/``.

Run: ``python3 benchmarks/mala_hpo.py`` (defaults: bundled sample, 12 trials, 10 epochs,
4000 points per training snapshot, 5 final seeds, MALA studies limited to 300 s each);
``--n-trials 4 --epochs 2 --final-seeds 2 --out /tmp/mala_hpo_try/mala_hpo`` for a try (our
OAT still trains 144 networks, 2 epochs: about 15 minutes on 2 busy cores).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from bench_machine import machine_info
from methods import run_method

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
CONF_DIR = ROOT / "surrogate_hpo" / "conf"
#: MALA method -> our method searching the same way
PAIRS = {"naswot": "naswot", "oat": "oat", "optuna": "tpe"}
ACTIVATIONS = ("sigmoid", "relu", "leakyrelu", "tanh")
TO_MALA_ACT = {"sigmoid": "Sigmoid", "relu": "ReLU", "leakyrelu": "LeakyReLU", "tanh": "Tanh"}
FROM_MALA_ACT = {v: k for k, v in TO_MALA_ACT.items()}


# --------------------------------------------------------------------------- config and data


def compose_config(overrides: list[str]) -> dict[str, Any]:
    """The study config as ``surrogate-hpo <overrides>`` composes it, as a plain dict."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def _list(values: list[Any]) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def common_overrides(data_dir: Path, split: dict[str, list[str]], args: argparse.Namespace) -> list[str]:
    """Overrides every one of our studies gets: data, split, architecture grid, policy, seeds."""
    return [
        "data=mala_dir", f"data.path={data_dir}",
        f"data.train={_list(split['train'])}", f"data.validation={_list(split['validation'])}",
        f"data.test={_list(split['test'])}",
        f"search_space.architecture.n_layers=[{args.layers}]",
        f"search_space.architecture.width={_list(args.widths)}",
        f"search_space.architecture.activation={_list(ACTIVATIONS)}",
        "~search_space.training",  # no training-policy factor: MALA's studies search none
        f"training.max_epochs={args.epochs}",
        f"final_evaluation.seeds={args.final_seeds}",
    ]


def method_overrides(ours: str, args: argparse.Namespace) -> list[str]:
    """The per-method overrides that give our method MALA's budget."""
    if ours == "naswot":
        return ["method.n_inits=5", "method.batch_size=64"]
    if ours == "oat":
        factors = [f"{k}_{i}" for i in range(1, args.layers + 1) for k in ("width", "activation")]
        return [f"method.factors={_list(factors)}", "method.repeats=1", "method.confirm=false",
                f"method.objective={args.objective}"]
    if ours == "tpe":
        return [f"method.n_trials={args.n_trials}", "method.repeats=1", f"method.objective={args.objective}"]
    raise ValueError(ours)


def prepare_folder(src: Path, split: dict[str, list[str]], max_points: int, dest: Path, seed: int = 0
                   ) -> dict[str, Any]:
    """Write the MALA folder both sides read; returns what was done.

    ``max_points <= 0``: nothing is written, ``src`` is used. Otherwise every training
    snapshot keeps ``max_points`` random grid points (one ``default_rng(seed)`` over the
    training snapshots in split order, sorted indices: our ``max_train_points_per_snapshot``
    rule) as ``(N, 1, 1, .)`` arrays; validation and test snapshots are linked unchanged.
    """
    if max_points <= 0:
        return {"folder": str(src), "subsampled": False, "train_points_per_snapshot": "all"}
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    points = {}
    for name in split["train"]:
        x = np.load(src / f"{name}.in.npy", mmap_mode="r")
        y = np.load(src / f"{name}.out.npy", mmap_mode="r")
        n = int(np.prod(x.shape[:3]))
        idx = None if max_points >= n else np.sort(rng.choice(n, size=max_points, replace=False))
        xf, yf = x.reshape(n, x.shape[-1]), y.reshape(n, y.shape[-1])
        xs, ys = (xf, yf) if idx is None else (xf[idx], yf[idx])
        np.save(dest / f"{name}.in.npy", np.ascontiguousarray(xs, dtype=np.float32).reshape(len(xs), 1, 1, -1))
        np.save(dest / f"{name}.out.npy", np.ascontiguousarray(ys, dtype=np.float32).reshape(len(ys), 1, 1, -1))
        points[name] = int(len(xs))
        side = src / f"{name}.info.json"
        if side.is_file():
            info = json.loads(side.read_text())
            info["grid_dimensions"] = [len(xs), 1, 1]
            info["note"] = f"training rows subsampled from {side.parent} by benchmarks/mala_hpo.py (not a real grid)"
            (dest / side.name).write_text(json.dumps(info))
    for name in split["validation"] + split["test"]:
        for p in src.glob(f"{name}.*"):
            link = dest / p.name
            if not link.exists():
                link.symlink_to(p.resolve())
    return {"folder": str(dest), "subsampled": True, "source": str(src), "seed": seed,
            "train_points_per_snapshot": points,
            "how": "random grid points of each training snapshot, written as (N,1,1,.) arrays; "
                   "validation/test snapshots unchanged (full grids)"}


# --------------------------------------------------------------------------- MALA side


def mala_parameters(method: str, policy: dict[str, Any], args: argparse.Namespace):
    """``mala.Parameters`` for one MALA study: scalers, network, training policy, HPO settings."""
    import mala

    p = mala.Parameters()
    p.verbosity = 0
    p.device = "cpu"
    p.data.input_rescaling_type = "feature-wise-standard"
    p.data.output_rescaling_type = "minmax"
    p.network.nn_type = "feed-forward"
    p.network.layer_activations_include_output_layer = False  # linear output layer, as ours
    r = p.running
    r.optimizer = {"adam": "Adam", "sgd": "SGD"}[str(policy["optimizer"]).lower()]
    r.learning_rate = float(policy["learning_rate"])
    r.mini_batch_size = int(policy["batch_size"])
    r.max_number_epochs = int(policy["max_epochs"])
    r.early_stopping_epochs = int(policy["early_stopping_patience"] or 0)
    r.early_stopping_threshold = 0.0  # ours: val < best * (1 - early_stopping_min_delta), delta 0
    r.learning_rate_scheduler = "ReduceLROnPlateau" if policy.get("lr_decay_patience") is not None else None
    r.learning_rate_patience = int(policy.get("lr_decay_patience") or 0)
    r.learning_rate_decay = float(policy["lr_decay_factor"])
    r.l2_regularization = float(policy.get("weight_decay", 0.0))
    h = p.hyperparameters
    h.hyper_opt_method = method
    h.n_trials = int(args.n_trials)
    h.number_training_per_trial = 1
    h.checkpoints_each_trial = 0
    if method == "naswot":
        r.mini_batch_size = 64            # NASWOT batch B (MALA takes running.mini_batch_size)
        h.number_training_per_trial = 5   # initialisations per candidate, T
        h.trial_ensemble_evaluation = args.mala_naswot_ensemble
        p.manual_seed = None              # a seed would make the 5 initialisations identical
    else:
        p.manual_seed = 0                 # seeds the TPE sampler and each training
    return p


def mala_data_handler(params, folder: Path, split: dict[str, list[str]]):
    """MALA's DataHandler with the training ("tr") and validation ("va") snapshots, prepared."""
    import mala

    dh = mala.DataHandler(params)
    for kind, names in (("tr", split["train"]), ("va", split["validation"])):
        for name in names:
            dh.add_snapshot(f"{name}.in.npy", str(folder), f"{name}.out.npy", str(folder), kind)
    dh.prepare_data()
    return dh


def add_search_space(hopt, layers: int, widths: list[int]) -> None:
    """``ff_neurons_layer_XX`` (widths) and ``layer_activation_XX`` for every hidden layer."""
    for i in range(layers):
        hopt.add_hyperparameter("categorical", f"ff_neurons_layer_{i:02d}", choices=list(widths))
    for i in range(layers):
        hopt.add_hyperparameter("categorical", f"layer_activation_{i:02d}",
                                choices=[TO_MALA_ACT[a] for a in ACTIVATIONS])


def architecture_from_params(params) -> dict[str, Any]:
    """The hidden layers MALA configured (after ``set_optimal_parameters``), in our naming."""
    widths = [int(w) for w in params.network.layer_sizes[1:-1]]
    acts = params.network.layer_activations
    acts = [acts] * len(widths) if isinstance(acts, str) else list(acts)
    return {"widths": widths, "activations": [FROM_MALA_ACT.get(a, str(a).lower()) for a in acts]}


def architecture_from_fixed_trial(trial_params: dict[str, Any]) -> dict[str, Any]:
    """Architecture of one of MALA's NASWOT FixedTrials (names in layer order)."""
    widths = [int(trial_params[k]) for k in sorted(trial_params) if k.startswith("ff_neurons_layer")]
    acts = [FROM_MALA_ACT[trial_params[k]] for k in sorted(trial_params) if k.startswith("layer_activation")]
    return {"widths": widths, "activations": acts}


def describe(arch: dict[str, Any] | None) -> str:
    if not arch:
        return "n/a"
    return " -> ".join(f"{w} {a}" for w, a in zip(arch["widths"], arch["activations"]))


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def mala_details(method: str, hopt, best_value: Any) -> dict[str, Any]:
    """What MALA's optimiser knows after the study, per method."""
    out: dict[str, Any] = {"best_value": _finite(best_value)}
    if method == "naswot":
        losses = np.asarray(hopt._trial_losses, dtype=float)
        trials = hopt._trial_list
        finite = np.where(np.isfinite(losses), losses, np.nan)
        hi = int(np.nanargmin(finite))  # smallest loss = highest score
        out.update({
            "n_candidates": int(len(losses)),
            "n_nonfinite_losses": int(np.sum(~np.isfinite(losses))),
            "best_value_meaning": f"MALA's NASWOT loss (-score, ensemble '{hopt.params.hyperparameters.trial_ensemble_evaluation}'"
                                  " over the inits) of the kept trial: the LARGEST loss (np.argmax)",
            "kept_index": int(hopt.best_trial_index[0]),
            "highest_score_index": hi,
            "highest_score_loss": float(losses[hi]),
            "highest_score_architecture": architecture_from_fixed_trial(trials[hi].params),
            "losses": [float(v) for v in losses],
            "architectures": [describe(architecture_from_fixed_trial(t.params)) for t in trials],
        })
    elif method == "oat":
        losses = np.asarray(hopt._trial_losses, dtype=float)
        names = [p.name for p in hopt.params.hyperparameters.hlist]
        out.update({
            "n_rows": int(len(losses)),
            "n_nonfinite_losses": int(np.sum(~np.isfinite(losses))),
            "best_value_meaning": "smallest validation LDOS loss of a row (MALA's pick is the range-analysis "
                                  "combination, not trained in the search)",
            "best_value": _finite(np.nanmin(np.where(np.isfinite(losses), losses, np.nan))) if len(losses) else None,
            "factor_order": names,
            "factor_levels": [int(v) for v in hopt._factor_levels],
            "optimal_levels": [int(v) for v in hopt._optimal_params],
            "importance_ascending": [names[i] for i in hopt._importance],
            "row_losses": [float(v) for v in losses],
        })
    elif method == "optuna":
        import optuna

        trials = hopt.study.get_trials()
        out.update({
            "best_value_meaning": "smallest validation LDOS loss (last epoch, scaled) over the trials",
            "n_trials": len(trials),
            "n_complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials),
            "best_trial_number": hopt.study.best_trial.number,
            "trial_values": [_finite(t.value) for t in trials],
            "trial_params": [t.params for t in trials],
            "sampler": "TPESampler(seed=params.manual_seed, multivariate=params.hyperparameters.use_multivariate)",
            "multivariate": bool(hopt.params.hyperparameters.use_multivariate),
        })
    return out


def data_check(dh, ours) -> dict[str, Any]:
    """MALA's scaled training/validation rows against ours (same rows, same scalers?)."""
    import torch

    def rows(dataset) -> tuple[np.ndarray, np.ndarray]:
        x, y = dataset.tensors if hasattr(dataset, "tensors") else (dataset[:][0], dataset[:][1])
        return torch.as_tensor(x).numpy(), torch.as_tensor(y).numpy()

    try:
        mx, my = rows(dh.training_data_sets[0])
        vx, vy = rows(dh.validation_data_sets[0])
        out = {"mala_train_rows": int(mx.shape[0]), "ours_train_rows": int(ours.train_x.shape[0]),
               "mala_validation_rows": int(vx.shape[0]), "ours_validation_rows": int(ours.val_x.shape[0]),
               "mala_inputs": int(dh.input_dimension), "ours_inputs": int(ours.n_features),
               "mala_outputs": int(dh.output_dimension), "ours_outputs": int(ours.n_energies)}
        if mx.shape == ours.train_x.shape and vx.shape == ours.val_x.shape:
            out.update({
                "max_abs_diff_scaled_train_inputs": float(np.max(np.abs(mx - ours.train_x))),
                "max_abs_diff_scaled_train_ldos": float(np.max(np.abs(my - ours.train_y))),
                "max_abs_diff_scaled_validation_inputs": float(np.max(np.abs(vx - ours.val_x))),
                "max_abs_diff_scaled_validation_ldos": float(np.max(np.abs(vy - ours.val_y))),
            })
        return out
    except Exception as exc:  # a check only
        return {"error": f"{type(exc).__name__}: {exc}"}


def torch_compat_shims() -> list[str]:
    """Make MALA 1.4.0 run on the installed torch; returns what was patched (this process only).

    MALA's ``Trainer`` builds ``torch.optim.lr_scheduler.ReduceLROnPlateau(..., verbose=True)``;
    torch 2.7+ no longer accepts ``verbose`` (TypeError), so every MALA training with the
    ``ReduceLROnPlateau`` schedule fails. The shim drops that keyword; nothing else changes.
    """
    import inspect

    import torch

    rlrop = torch.optim.lr_scheduler.ReduceLROnPlateau
    if "verbose" in inspect.signature(rlrop.__init__).parameters:
        return []

    class ReduceLROnPlateauNoVerbose(rlrop):
        def __init__(self, *a: Any, verbose: Any = None, **kw: Any) -> None:
            super().__init__(*a, **kw)

    torch.optim.lr_scheduler.ReduceLROnPlateau = ReduceLROnPlateauNoVerbose
    return [f"torch {torch.__version__}: ReduceLROnPlateau has no 'verbose' argument, which MALA's Trainer passes; "
            "MALA ran with a subclass that drops it (in MALA's process only)"]


def mala_study(method: str, folder: Path, split: dict[str, list[str]], policy: dict[str, Any],
               args: argparse.Namespace, log: Path, data_cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """One MALA study in this process, console output appended to ``log``; never raises.

    ``data_cfg``: also compare MALA's scaled rows with ours (:func:`data_check`).
    """
    import torch

    rec: dict[str, Any] = {"mala_method": method, "log": str(log)}
    cwd = os.getcwd()
    torch.set_num_threads(args.mala_threads)
    rec["torch_threads"] = torch.get_num_threads()
    rec["compat_shims"] = torch_compat_shims()
    stage = "start"
    with open(log, "a", buffering=1) as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            os.chdir(log.parent)  # anything MALA writes lands here
            if method == "oat":
                stage = "import oapackage"
                import oapackage  # noqa: F401  (MALA's OAT needs it; MALA swallows the import error)
            import mala

            params = mala_parameters(method, policy, args)
            stage = "DataHandler.prepare_data"
            t0 = time.perf_counter()
            dh = mala_data_handler(params, folder, split)
            rec["data_seconds"] = time.perf_counter() - t0
            if data_cfg is not None:
                from surrogate_hpo.data.prepared import prepare_data

                rec["data_check"] = data_check(dh, prepare_data(data_cfg, seed=0))
            hopt = mala.HyperOpt(params, dh)
            add_search_space(hopt, args.layers, args.widths)
            if method == "naswot":
                torch.manual_seed(0)  # once: the inits differ, the run repeats
            stage = "perform_study"
            print(f"[mala_hpo] {method}: perform_study() starts", flush=True)
            t0 = time.perf_counter()
            best = hopt.perform_study()
            rec["wall_seconds"] = time.perf_counter() - t0
            print(f"[mala_hpo] {method}: perform_study() done in {rec['wall_seconds']:.1f} s", flush=True)
            stage = "set_optimal_parameters"
            hopt.set_optimal_parameters()
            rec["architecture"] = architecture_from_params(params)
            rec.update(mala_details(method, hopt, best))
        except Exception as exc:
            rec["error"] = f"{type(exc).__name__} in {stage}: {exc}"
            rec["traceback"] = traceback.format_exc()[-3000:]
        finally:
            os.chdir(cwd)
    rec["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})[:30]
    rec["n_warnings"] = len(caught)
    return rec


def _mala_child(conn, kwargs: dict[str, Any]) -> None:
    """Child-process entry: run :func:`mala_study`, send its record back."""
    try:
        rec = mala_study(**kwargs)
    except BaseException as exc:  # noqa: BLE001  (the parent must get an answer)
        rec = {"mala_method": kwargs.get("method"), "error": f"{type(exc).__name__}: {exc}"}
    conn.send(rec)
    conn.close()


def run_mala(method: str, folder: Path, split: dict[str, list[str]], policy: dict[str, Any],
             args: argparse.Namespace, work: Path, data_cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """One MALA study in a fresh (spawned) process, stopped after ``args.mala_timeout`` s; never raises.

    A child process keeps a hanging MALA step (e.g. oapackage building a large array) from
    stopping the benchmark; the timings are taken inside the child.
    """
    import multiprocessing as mp

    work.mkdir(parents=True, exist_ok=True)
    log = work / f"{method}.log"
    log.write_text("")
    print(f"[mala] {method}: running (log {log}, limit {args.mala_timeout:.0f} s)", flush=True)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    kwargs = dict(method=method, folder=folder, split=split, policy=policy, args=args, log=log, data_cfg=data_cfg)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_mala_child, args=(child, kwargs), daemon=True)
    proc.start()
    child.close()
    rec: dict[str, Any] | None = None
    if parent.poll(args.mala_timeout):
        try:
            rec = parent.recv()
        except EOFError:
            rec = None
    elapsed = time.perf_counter() - t0
    if proc.is_alive() and rec is None:
        proc.kill()
    proc.join(timeout=30)
    text = log.read_text(errors="replace")
    if rec is None:
        last = (text.strip().splitlines() or ["(empty log)"])[-1][:120]
        rec = {"mala_method": method, "log": str(log),
               "error": (f"timed out after {elapsed:.0f} s (--mala-timeout {args.mala_timeout:.0f}); last log line: "
                         f"{last!r}" if elapsed >= args.mala_timeout else
                         f"child process ended without a result (exit code {proc.exitcode}); last log line: {last!r}")}
    rec["process_seconds"] = elapsed
    rec["nan_samples_in_log"] = text.count("Got a NaN")
    if "error" in rec:
        rec["log_tail"] = text.splitlines()[-15:]
        print(f"[mala] {method} FAILED: {rec['error']}; log ends: {rec['log_tail'][-3:]}", flush=True)
    else:
        print(f"[mala] {method}: perform_study {rec['wall_seconds']:.1f} s, chose {describe(rec['architecture'])}, "
              f"best value {rec.get('best_value')}", flush=True)
    return rec


# --------------------------------------------------------------------------- our side


def run_ours(method: str, overrides: list[str], root: Path) -> dict[str, Any]:
    """One of our studies as a CLI subprocess (:func:`methods.run_method`), plus its chosen network."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        rec = run_method(method, "default", overrides, root)
    except Exception as exc:  # a failing study must not stop the others
        return {"method": method, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    summary_path = Path(rec["study_dir"]) / "summary.json"
    if "error" not in rec and summary_path.is_file():
        s = json.loads(summary_path.read_text())
        rec["architecture_dict"] = {"widths": s["chosen"]["widths"], "activations": s["chosen"]["activations"]}
        fe = s["final_evaluation"]
        rec["final_per_seed_seeds"] = fe.get("seeds")
    return rec


# --------------------------------------------------------------------------- final evaluation


def final_mae(arch: dict[str, Any], policy: dict[str, Any], data, evaluator, seeds: list[int]) -> dict[str, Any]:
    """Train ``arch`` with our trainer for every seed; test MAEs in meV/atom (mean ± std)."""
    from surrogate_hpo.study.training_trial import predict_ldos, train_network

    per = []
    t0 = time.perf_counter()
    for s in seeds:
        fit = train_network(arch, policy, data, seed=s, threads=1)
        row = {"seed": s, "epochs": int(fit.result.epochs_run), "diverged": bool(fit.result.diverged),
               "train_seconds": fit.seconds, "val_band_energy_mae": _finite(fit.val_band_energy_mae)}
        if not fit.result.diverged:
            e = evaluator.errors(lambda snap: predict_ldos(fit.network, data, snap, device=fit.device))
            row["band_energy_mae"] = e["band_energy_mae_mev_per_atom"]
            row["total_free_energy_mae"] = e.get("total_free_energy_mae_mev_per_atom")
        per.append(row)

    def spread(key: str) -> dict[str, Any]:
        v = [r[key] for r in per if r.get(key) is not None and math.isfinite(r[key])]
        return ({"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)} if v
                else {"mean": None, "std": None, "n": 0})

    return {"architecture": arch, "seeds": seeds, "per_seed": per, "band_energy_mae": spread("band_energy_mae"),
            "total_free_energy_mae": spread("total_free_energy_mae"), "wall_seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------- report


def _f(x: Any, fmt: str = ".1f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def _pm(d: dict[str, Any] | None) -> str:
    if not d or d.get("mean") is None:
        return "n/a"
    return f"{d['mean']:.2f} ± {d['std']:.2f}"


def pair_rows(mala_runs: dict[str, dict], ours_runs: dict[str, dict], finals: dict[str, dict]) -> list[dict]:
    """One record per method pair: wall times, ratio, networks, MAEs."""
    rows = []
    for m, o in PAIRS.items():
        if m not in mala_runs and o not in ours_runs:
            continue
        mr, orr = mala_runs.get(m, {}), ours_runs.get(o, {})
        fin = finals.get(m) or {}
        row: dict[str, Any] = {
            "pair": f"{m} / {o}", "mala_method": m, "our_method": o,
            "mala_wall_seconds": mr.get("wall_seconds"),
            "mala_end_to_end_seconds": (mr["data_seconds"] + mr["wall_seconds"]) if "wall_seconds" in mr else None,
            "our_search_wall_seconds": orr.get("search_wall_seconds"),
            "our_study_wall_seconds": orr.get("study_wall_seconds"),
            "our_subprocess_wall_seconds": orr.get("subprocess_wall_seconds"),
            "our_end_to_end_seconds": (orr["subprocess_wall_seconds"] - (orr.get("final_eval_wall_seconds") or 0.0))
            if "band_mae_mean" in orr else None,
            "mala_architecture": mr.get("architecture"), "our_architecture": orr.get("architecture_dict"),
            "mala_best_value": mr.get("best_value"),
            "our_best_value": (orr.get("method_details") or {}).get(
                "best_objective", (orr.get("method_details") or {}).get("best_score")),
            "mala_final_band_energy_mae": fin.get("band_energy_mae"),
            "mala_final_total_free_energy_mae": fin.get("total_free_energy_mae"),
            "our_final_band_energy_mae": {"mean": orr["band_mae_mean"], "std": orr["band_mae_std"], "n": orr["band_mae_n"]}
            if "band_mae_mean" in orr else None,
            "our_final_total_free_energy_mae": {"mean": orr["free_energy_mae_mean"], "std": orr["free_energy_mae_std"]}
            if "band_mae_mean" in orr else None,
            "mala_error": mr.get("error"), "our_error": orr.get("error"),
        }
        a, b = row["mala_wall_seconds"], row["our_search_wall_seconds"]
        row["wall_ratio_mala_over_ours"] = a / b if a and b else None
        a, b = row["mala_end_to_end_seconds"], row["our_end_to_end_seconds"]
        row["end_to_end_ratio_mala_over_ours"] = a / b if a and b else None
        row["same_architecture"] = (row["mala_architecture"] == row["our_architecture"]) if row["mala_architecture"] and row["our_architecture"] else None
        rows.append(row)
    return rows


def tables(rows: list[dict], extra: dict[str, dict]) -> list[str]:
    """Markdown tables: time, choice, accuracy (plus MALA NASWOT's highest-score network)."""
    out = ["| MALA / ours | MALA perform_study (s) | our search (s) | ratio MALA/ours | MALA data + study (s) | "
           "our CLI minus final eval (s) | ratio | our whole CLI (s) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['pair']} | {_f(r['mala_wall_seconds'])} | {_f(r['our_search_wall_seconds'])} | "
                   f"{_f(r['wall_ratio_mala_over_ours'], '.2f')} | {_f(r['mala_end_to_end_seconds'])} | "
                   f"{_f(r['our_end_to_end_seconds'])} | {_f(r['end_to_end_ratio_mala_over_ours'], '.2f')} | "
                   f"{_f(r['our_subprocess_wall_seconds'])} |")
    out += ["", "| MALA / ours | MALA's choice | our choice | same | MALA's best value | our best value | "
            "test band-energy MAE, MALA's choice | ours | test total-free-energy MAE, MALA's choice | ours |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mala_choice = describe(r["mala_architecture"]) if not r["mala_error"] else f"FAILED: {r['mala_error'][:80]}"
        our_choice = describe(r["our_architecture"]) if not r["our_error"] else "FAILED"
        out.append(f"| {r['pair']} | {mala_choice} | {our_choice} | {r['same_architecture']} | "
                   f"{_f(r['mala_best_value'], '.4g')} | {_f(r['our_best_value'], '.4g')} | "
                   f"{_pm(r['mala_final_band_energy_mae'])} | "
                   f"{_pm(r['our_final_band_energy_mae'])} | {_pm(r['mala_final_total_free_energy_mae'])} | "
                   f"{_pm(r['our_final_total_free_energy_mae'])} |")
    for name, fin in extra.items():
        out.append(f"| {name} | {describe(fin['architecture'])} | | | {_f(fin.get('mala_loss'), '.4g')} | | "
                   f"{_pm(fin['band_energy_mae'])} | | {_pm(fin['total_free_energy_mae'])} | |")
    return out


def plot(rows: list[dict], png: Path, title: str) -> None:
    """Wall time per pair (MALA study vs our search, log scale) and final test MAEs with error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    x = np.arange(len(rows))
    w = 0.38
    labels = [r["pair"] for r in rows]
    t_m = [r["mala_wall_seconds"] or 0 for r in rows]
    t_o = [r["our_search_wall_seconds"] or 0 for r in rows]
    ax = axes[0]
    ax.bar(x - w / 2, t_m, w, label="MALA perform_study()", color="C1")
    ax.bar(x + w / 2, t_o, w, label="ours: search (Ray Tune)", color="C0")
    for i, r in enumerate(rows):
        if r["wall_ratio_mala_over_ours"]:
            ax.annotate(f"x{r['wall_ratio_mala_over_ours']:.1f}", (i, max(t_m[i], t_o[i])), ha="center",
                        textcoords="offset points", xytext=(0, 3), fontsize=9)
    for i, r in enumerate(rows):
        for failed, dx, who in ((r["mala_error"], -w / 2, "MALA"), (r["our_error"], w / 2, "ours")):
            if failed:
                ax.text(i + dx, 0.03, f"{who}: " + ("timed out" if "timed out" in failed else "failed"),
                        rotation=90, ha="center", va="bottom", fontsize=8, color="C3",
                        transform=ax.get_xaxis_transform())
    ax.set_yscale("log")
    ax.set_ylabel("wall time / s")
    ax.set_xticks(x, labels)
    ax.legend(fontsize=8)
    ax.set_title("search wall time (log scale)", fontsize=10)
    for ax, key, name in ((axes[1], "band_energy_mae", "band energy"),
                          (axes[2], "total_free_energy_mae", "total free energy")):
        for side, dx, color, lab in (("mala", -w / 2, "C1", "MALA's choice"), ("our", w / 2, "C0", "our choice")):
            vals = [r.get(f"{side}_final_{key}") or {} for r in rows]
            mean = [v.get("mean") or 0 for v in vals]
            std = [v.get("std") or 0 for v in vals]
            ax.bar(x + dx, mean, w, yerr=std, capsize=3, color=color, label=lab)
            for i, v in enumerate(vals):
                if v.get("mean") is None:
                    ax.text(i + dx, 0.03, "no network", rotation=90, ha="center", va="bottom", fontsize=8,
                            color="C3", transform=ax.get_xaxis_transform())
        ax.set_xticks(x, labels)
        ax.set_ylabel(f"test {name} MAE / meV/atom")
        ax.set_title(f"test {name} MAE (our trainer, mean ± std)", fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def versions() -> dict[str, Any]:
    """Versions of the libraries both sides run on."""
    out: dict[str, Any] = {}
    for mod in ("mala", "torch", "optuna", "oapackage", "ray", "numpy"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except Exception as exc:
            out[mod] = f"not importable ({type(exc).__name__}: {exc})"
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MALA folder of snapshots (default: the bundled sample)")
    ap.add_argument("--methods", nargs="+", default=list(PAIRS), choices=list(PAIRS),
                    help="MALA methods; each runs with its counterpart of ours (optuna <-> tpe)")
    ap.add_argument("--n-trials", type=int, default=12, help="MALA optuna / our tpe trials")
    ap.add_argument("--epochs", type=int, default=10, help="max epochs of every training")
    ap.add_argument("--max-points", type=int, default=4000,
                    help="training grid points per snapshot, both sides (0 = all)")
    ap.add_argument("--layers", type=int, default=2, help="hidden layers (fixed)")
    ap.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--final-seeds", type=int, default=5)
    ap.add_argument("--objective", default="val_loss", choices=["val_loss", "val_band_energy_mae"],
                    help="what OUR training searches minimise (MALA: validation LDOS loss)")
    ap.add_argument("--mala-naswot-ensemble", default="mean_std", choices=["mean_std", "mean"],
                    help="MALA trial_ensemble_evaluation over the 5 NASWOT inits (mean_std = ours' mean - std)")
    ap.add_argument("--mala-threads", type=int, default=os.cpu_count() or 1, help="torch threads for MALA")
    ap.add_argument("--mala-timeout", type=float, default=300.0,
                    help="seconds one MALA study (its own process) may take before it is stopped and recorded")
    ap.add_argument("--work-dir", default=None, help="data copy, MALA logs, our studies (default: new temp dir)")
    ap.add_argument("--out", default=str(RESULTS / "mala_hpo"), help="results path without suffix")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    from surrogate_hpo.data.energy_metrics import EnergyEvaluator
    from surrogate_hpo.data.prepared import prepare_data
    from surrogate_hpo.data.snapshot_set import default_split, discover_snapshots

    t_start = time.perf_counter()
    machine = machine_info()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="mala_hpo_")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.data is None:
        from surrogate_hpo.data.bundled import sample_directory

        src, data_name = Path(sample_directory()), "bundled Al sample"
    else:
        src, data_name = Path(args.data).expanduser().resolve(), str(args.data)
    split = default_split(discover_snapshots(src))
    folder_info = prepare_folder(src, split, args.max_points, work / "data")
    folder = Path(folder_info["folder"])
    print(f"[data] {src} -> {folder}; train {split['train']}, validation {split['validation']}, "
          f"test {split['test']}; training points per snapshot: "
          f"{args.max_points if args.max_points > 0 else 'all'}", flush=True)

    base = common_overrides(folder, split, args)
    cfg = compose_config(base)
    policy = dict(cfg["training"])
    data = prepare_data(cfg["data"], seed=int(cfg.get("seed", 0)))

    mala_runs: dict[str, dict] = {}
    ours_runs: dict[str, dict] = {}
    for i, m in enumerate(args.methods):  # pairs interleaved: both sides see similar machine load
        mala_runs[m] = run_mala(m, folder, split, policy, args, work / "mala", data_cfg=cfg["data"] if i == 0 else None)
        o = PAIRS[m]
        ours_runs[o] = run_ours(o, base + method_overrides(o, args), work / "ours")
        ours_runs[o]["overrides"] = base + method_overrides(o, args)

    seeds = list(range(args.final_seeds))
    evaluator = EnergyEvaluator(data.test, total_energy=True)
    finals: dict[str, dict] = {}
    extra: dict[str, dict] = {}
    for m, rec in mala_runs.items():
        if rec.get("architecture"):
            print(f"[final] MALA {m}'s choice {describe(rec['architecture'])}: {len(seeds)} trainings", flush=True)
            finals[m] = final_mae(rec["architecture"], policy, data, evaluator, seeds)
            print(f"[final]   band {_pm(finals[m]['band_energy_mae'])}, total free energy "
                  f"{_pm(finals[m]['total_free_energy_mae'])} meV/atom", flush=True)
        hs = rec.get("highest_score_architecture")
        if hs:
            name = "MALA naswot, highest score (not MALA's pick)"
            print(f"[final] {name}: {describe(hs)}", flush=True)
            extra[name] = final_mae(hs, policy, data, evaluator, seeds)
            extra[name]["mala_loss"] = rec.get("highest_score_loss")
            print(f"[final]   band {_pm(extra[name]['band_energy_mae'])} meV/atom", flush=True)

    rows = pair_rows(mala_runs, ours_runs, finals)
    cmdline = shlex.join(["python3", "benchmarks/mala_hpo.py", *(sys.argv[1:] if argv is None else argv)])
    total = time.perf_counter() - t_start
    dcheck = next((r["data_check"] for r in mala_runs.values() if "data_check" in r), None)
    result = {
        "machine": {**machine, "load_average_after": list(os.getloadavg())},
        "command_line": cmdline, "versions": versions(), "total_wall_seconds": total,
        "data": {"name": data_name, "source": str(src), "split": split, **folder_info,
                 "scalers": {"inputs": cfg["data"]["input_scaling"], "ldos": cfg["data"]["output_scaling"]},
                 "check_mala_vs_ours": dcheck},
        "settings": {"methods": args.methods, "n_trials": args.n_trials, "epochs": args.epochs,
                     "max_points": args.max_points, "layers": args.layers, "widths": args.widths,
                     "activations": list(ACTIVATIONS), "final_seeds": seeds, "objective_ours": args.objective,
                     "objective_mala": "validation LDOS MSE, scaled (running.validation_metric='ldos'), last epoch",
                     "mala_naswot": {"batch": 64, "inits": 5, "ensemble": args.mala_naswot_ensemble, "k": 1e-4,
                                     "kept": "largest loss = lowest score (np.argmax of the trial losses)"},
                     "ours_naswot": {"batch": 64, "inits": 5, "k": cfg["method"].get("k"), "kept": "highest mean - std"},
                     "mala_threads": args.mala_threads, "training_policy": policy},
        "units": {"wall": "seconds", "mae": "meV/atom on the test snapshot(s), mean and std over seeds"},
        "work_dir": str(work),
        "pairs": rows, "mala": mala_runs, "ours": ours_runs,
        "final_mala_choices": finals, "final_extra": extra,
    }
    outp = Path(args.out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    outp.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    title = (f"MALA {result['versions']['mala']} HPO vs ours, {data_name}: "
             f"{args.layers} layers x widths {args.widths} x 4 activations, {args.n_trials} TPE trials, "
             f"{args.epochs} epochs, {args.max_points or 'all'} points/snapshot")
    if rows:
        plot(rows, outp.with_suffix(".png"), title)
    tab = tables(rows, extra)
    md = [f"# {title}", "", f"Generated by `{cmdline}` on {machine['date_utc']} (total {total:.0f} s).", "",
          "Wall: MALA's `perform_study()` against our study's search part (`search_wall_seconds`), and end to "
          "end (MALA data loading + study; our CLI subprocess minus its final evaluation). Final MAE: every "
          "chosen network trained with our trainer, the same policy, data and seeds "
          f"{seeds}; test snapshot {split['test']}, meV/atom, mean ± std over seeds.", "", *tab, "",
          "## Settings", "",
          f"* data: {data_name} ({src}); split train {split['train']}, validation {split['validation']}, "
          f"test {split['test']}; training points per snapshot: {args.max_points or 'all'} "
          f"({'temporary subsampled folder read by both sides' if folder_info['subsampled'] else 'the folder as it is'})",
          f"* data check (MALA's scaled rows vs ours): `{json.dumps(dcheck)}`",
          f"* training policy (both sides, search and final): `{json.dumps(policy)}`",
          f"* objective: MALA validation LDOS loss (scaled MSE, last epoch); ours `method.objective={args.objective}`",
          f"* MALA NASWOT: batch 64, 5 inits, ensemble `{args.mala_naswot_ensemble}`, k 1e-4, keeps the LARGEST "
          "loss (= lowest score); ours: batch 64, 5 inits, k 1e-5, highest mean - std score",
          "* MALA optuna: TPESampler(seed 0, multivariate, 10 start-up trials); ours tpe: seed 0, univariate, 5",
          f"* OAT: our array has {ours_runs.get('oat', {}).get('counts', {}).get('n_rows', 'n/a')} rows for the "
          f"levels {[len(args.widths), 4] * args.layers} (strength 2; 3- and 4-level factors together need a "
          "multiple of 144 rows); combined best levels taken untrained on both sides",
          f"* MALA studies: each in its own process, limit `--mala-timeout {args.mala_timeout:.0f}` s; torch threads "
          f"{args.mala_threads}; compatibility shims: "
          f"{sorted({x for r in mala_runs.values() for x in r.get('compat_shims', [])}) or 'none'}",
          f"* versions: `{json.dumps(result['versions'])}`", ""]
    errs = [(m, r) for m, r in mala_runs.items() if "error" in r] + [(o, r) for o, r in ours_runs.items() if "error" in r]
    if errs:
        md += ["## Failures", ""] + [f"### {n}\n```\n{r.get('traceback') or r['error']}\n```" for n, r in errs] + [""]
    warn = {m: r["warnings"] for m, r in mala_runs.items() if r.get("warnings")}
    if warn:
        md += ["## MALA warnings", ""] + [f"* {m}: {w}" for m, ws in warn.items() for w in ws] + [""]
    md += ["## Machine", "", "```", json.dumps(result["machine"], indent=1), "```", "",
           "## Rerun", "", "```", f"cd {ROOT.name} && {cmdline}", "```",
           f"MALA logs and our study directories were under `{work}`.", ""]
    outp.with_suffix(".md").write_text("\n".join(md))
    print()
    print("\n".join(tab))
    print(f"\ntotal {total:.0f} s; wrote {outp.with_suffix('.json')}, .md, .png; work dir {work}")
    return result


if __name__ == "__main__":
    main()
