"""Plots drawn on one background thread: the path at once, the file after finish_plots, a
failed plot as a warning."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from surrogate_hpo.study.background_plots import draw_later, finish_plots
from surrogate_hpo.study.plots import plot_final_errors


def test_plots_are_drawn_on_one_other_thread_and_waited_for(tmp_path):
    threads = []
    gate = threading.Event()

    def slow_plot(frame, path):
        gate.wait(10)
        threads.append(threading.current_thread().name)
        return plot_final_errors(frame, path)

    frame = pd.DataFrame({"seed": [0, 1], "test_band_energy_mae_mev_per_atom": [3.0, 4.0]})
    paths = [draw_later(slow_plot, tmp_path / f"p{i}.png", frame) for i in range(2)]
    assert paths == [tmp_path / "p0.png", tmp_path / "p1.png"]
    assert not any(p.exists() for p in paths)  # the caller went on before the drawing
    gate.set()
    assert finish_plots() == []
    assert all(p.stat().st_size > 1000 for p in paths)
    assert len(set(threads)) == 1 and threads[0] != threading.current_thread().name


def test_a_failed_plot_is_a_warning_not_an_error(tmp_path):
    bad = pd.DataFrame({"seed": np.arange(2)})  # no error columns to draw
    draw_later(lambda frame, path: frame["missing"], tmp_path / "x.png", bad)
    (warning,) = finish_plots()
    assert warning.startswith("plot x.png was not written (KeyError")
    assert finish_plots() == []
