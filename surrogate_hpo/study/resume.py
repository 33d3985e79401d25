"""Study folders and resume: which folder a study writes, whether ``resume=`` may continue it,
and how a stage is handed back the trials it already finished.

How resume works (also in ``docs/design.md``):

* ``study.json`` is written once, when a study starts: format tag, config, the config's
  fingerprint (the keys that define the study) and the data's (sampled file hashes).
  ``status.json`` records each run (start, end, how it ended).
* ``resume=true`` takes the newest folder of ``output_root/study_name`` with a valid
  ``study.json``; ``resume=<dir>`` that folder. A folder without one is refused; a changed
  config or data set stops with the differing keys; a finished study is reported, not run.
* Nothing pickled is read back: each stage rebuilds its state from its trials table
  (``<stage>_trials.parquet``). Grid stages run only the rows that are missing; searcher
  stages get :class:`ReplaySearcher` (deterministic searchers replay their suggestions
  and are told the stored results) or seed their own history (Optuna's ``add_trial``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray.tune.search import Searcher

from .. import __version__
from ..errors import ConfigError
from ..util.atomic import read_json, write_json
from ..util.folders import links_inside

__all__ = ["MARKER", "STATUS", "StudyFolder", "ReplaySearcher", "TableResumedSearcher", "config_fingerprint", "config_differences",
           "open_study_folder"]

MARKER = "study.json"
STATUS = "status.json"
FORMAT = "surrogate_hpo.study/1"

#: config keys that do not change what a study computes (a resume may change them)
NON_DEFINING = ("study_name", "output_root", "resume", "cluster", "data.path", "data.streaming",
                "data.streaming_threshold_gb", "data.shards", "data.prefetch_batches", "data.mix_shards",
                "data.shuffle_buffer", "training.device", "method.candidates_per_trial", "method.device")


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: obj}


#: The data digests a study records, and what differs when one does not match.
DATA_FINGERPRINTS = {"data": "the snapshot files (descriptor and LDOS arrays)",
                     "metadata": "the snapshots' metadata files (.info.json sidecars, pw.x outputs)"}


def defining_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The flattened keys of ``cfg`` that define the study (see :data:`NON_DEFINING`)."""
    flat = _flatten(cfg)
    return {k: v for k, v in sorted(flat.items())
            if not any(k == n or k.startswith(n + ".") for n in NON_DEFINING)}


def config_fingerprint(cfg: Mapping[str, Any]) -> str:
    """SHA-256 of the defining keys of ``cfg``."""
    return hashlib.sha256(json.dumps(defining_config(cfg), sort_keys=True, default=str).encode()).hexdigest()


def config_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for every defining key that differs."""
    a, b = defining_config(old), defining_config(new)
    return [f"{k}: {a.get(k, '(absent)')!r} -> {b.get(k, '(absent)')!r}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


@dataclass
class StudyFolder:
    """The folder of one study and its two bookkeeping files."""

    path: Path
    resuming: bool
    marker: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> dict[str, Any]:
        p = self.path / STATUS
        return read_json(p) if p.is_file() else {"status": "new", "runs": []}

    @property
    def finished(self) -> bool:
        return self.status.get("status") == "finished"

    def begin(self, cfg: Mapping[str, Any], data_fingerprints: Mapping[str, str]) -> None:
        """Write ``study.json`` (a new study) and record the start of this run.

        ``data_fingerprints``: ``{"data": <arrays' digest>, "metadata": <metadata files' digest>}``.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.resuming:
            self.marker = {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "package_version": __version__, "config": dict(cfg),
                           "fingerprint": {"config": config_fingerprint(cfg), **data_fingerprints}}
            write_json(self.path / MARKER, self.marker)
        status = self.status
        status["status"] = "running"
        status.setdefault("runs", []).append({"started": time.time(), "resumed": self.resuming})
        write_json(self.path / STATUS, status)

    def check_no_links(self) -> None:
        """ConfigError when the folder holds a symbolic link: a study writes only inside its folder."""
        links = links_inside(self.path) if self.path.is_dir() else []
        if links:
            raise ConfigError(f"{self.path} holds symbolic links ({', '.join(map(str, links))}); a study writes only "
                              "inside its own folder: remove the links, or start a new study without resume")

    def end(self, how: str) -> None:
        """Record the end of this run: ``finished``, ``interrupted`` or ``failed``."""
        status = self.status
        status["status"] = how
        if status.get("runs"):
            status["runs"][-1]["ended"] = time.time()
            status["runs"][-1]["how"] = how
        write_json(self.path / STATUS, status)

    def check_same_study(self, cfg: Mapping[str, Any], data_fingerprints: Mapping[str, str] | None) -> None:
        """ConfigError listing what differs when ``cfg`` (or the data) is not this study's.

        A digest the study did not record (a study begun before metadata were fingerprinted)
        is not compared.
        """
        old = self.marker.get("config", {})
        diffs = config_differences(old, cfg)
        recorded = self.marker.get("fingerprint", {})
        for key, what in DATA_FINGERPRINTS.items():
            if data_fingerprints is not None and recorded.get(key) not in (None, data_fingerprints.get(key)):
                diffs.append(f"the data: {what} differ from the ones the study started with")
        if diffs:
            raise ConfigError(f"resume={self.path}: this is not the same study; differences:\n  "
                              + "\n  ".join(diffs)
                              + "\nResume with the study's own settings (they are in its study.json), or start a "
                              "new study without resume")


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        marker = read_json(path / MARKER)
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("format") != FORMAT or not isinstance(marker.get("config"), dict):
        return None
    return marker


def open_study_folder(resume: bool | str, output_root: str, study_name: str, run_dir: Path) -> StudyFolder:
    """The folder this run writes: ``run_dir`` (new), or the study ``resume`` names."""
    if resume is False or resume is None:
        return StudyFolder(Path(run_dir), resuming=False)
    if resume is True:
        parent = Path(output_root) / study_name
        candidates = sorted(p for p in parent.glob("*") if p.is_dir() and p.resolve() != Path(run_dir).resolve())
        valid = [(p, m) for p in candidates if (m := _read_marker(p)) is not None]
        if not valid:
            raise ConfigError(f"resume=true but no study named {study_name!r} under {parent}; run without resume, "
                              "or give resume=<study folder>")
        path, marker = valid[-1]
        return StudyFolder(path, resuming=True, marker=marker)
    path = Path(str(resume)).expanduser()
    marker = _read_marker(path)
    if marker is None:
        raise ConfigError(f"resume={path}: not a surrogate_hpo study folder (no valid {MARKER}); "
                          "give the folder a study printed when it started")
    return StudyFolder(path, resuming=True, marker=marker)


class TableResumedSearcher(Searcher):
    """A searcher whose state on resume comes from the study's trials tables, not from a
    pickle: Tune's ``save``/``restore`` of searcher state do nothing (and say nothing)."""

    def save(self, checkpoint_path: str) -> None:
        return None

    def restore(self, checkpoint_path: str) -> None:
        return None


class ReplaySearcher(TableResumedSearcher):
    """A deterministic searcher handed back the trials a study already finished.

    At construction the wrapped searcher is asked for suggestions; each one whose key
    (``key_of(config)``) is among ``finished`` is completed at once with the stored result,
    the others are kept and handed to Tune first. Direct search and orthogonal arrays
    suggest the same configurations again for the same results, so a resumed stage goes on
    exactly where it stopped.
    """

    def __init__(self, inner: Searcher, finished: Mapping[Hashable, dict[str, Any]],
                 key_of: Callable[[Mapping[str, Any]], Hashable]) -> None:
        super().__init__(metric=inner.metric, mode=inner.mode)
        self.inner = inner
        self.key_of = key_of
        self.queue: list[tuple[str, dict[str, Any]]] = []
        self.alias: dict[str, str] = {}
        self.n_replayed = 0
        left = dict(finished)
        i = 0
        while left:
            rid = f"replay-{i}"
            i += 1
            cfg = inner.suggest(rid)
            if cfg is None or cfg == Searcher.FINISHED:
                break
            stored = left.pop(key_of(cfg), None)
            if stored is None:
                self.queue.append((rid, cfg))
            else:
                inner.on_trial_complete(rid, stored)
                self.n_replayed += 1

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.queue:
            rid, cfg = self.queue.pop(0)
            self.alias[trial_id] = rid
            return cfg
        return self.inner.suggest(trial_id)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.inner.on_trial_result(self.alias.get(trial_id, trial_id), result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        self.inner.on_trial_complete(self.alias.pop(trial_id, trial_id), result, error)

    def __getattr__(self, name: str) -> Any:  # max_trials(), report(), ... of the wrapped searcher
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
