"""The study config as the CLI composes it, for tests (Hydra compose API)."""

from __future__ import annotations

from pathlib import Path

CONF_DIR = str(Path(__file__).resolve().parents[1] / "surrogate_hpo" / "conf")


def compose_config(overrides: list[str]) -> dict:
    """The study config as `surrogate-hpo <overrides>` would see it, as a plain dict."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def data_config(overrides: list[str] = (), **changes):
    """The typed ``data`` group as the CLI would build it, with ``changes`` applied."""
    import dataclasses

    from surrogate_hpo.data.config import DataConfig
    from surrogate_hpo.util.typed_config import parse

    cfg = parse(DataConfig, compose_config(["data=mala_dir", "data.path=/unused", *overrides])["data"], "data")
    return dataclasses.replace(cfg, **changes)
