"""Ray starting in a background thread while the driver prepares the training data."""

from __future__ import annotations

import logging
import threading
from typing import Any

from threadpoolctl import threadpool_limits

from .config import ClusterConfig
from .ray_runtime import start_ray

__all__ = ["RayStarting"]


def _not_the_sigterm_note(record: logging.LogRecord) -> bool:
    # Ray notes that only the main thread can set its SIGTERM handler; the study sets its own
    return "SIGTERM handler is not set" not in record.getMessage()


class RayStarting:
    """:func:`~.ray_runtime.start_ray` for ``cluster`` in a thread; :meth:`wait` returns the
    cluster's resources (CPU, GPU counts) or raises what the start raised.

    The thread stays alive afterwards: Ray's local processes are started with the Linux
    parent-death signal, which fires when the *thread* that started them ends.

    Until :meth:`wait` or :meth:`cancel` returns, BLAS runs on one thread in this process:
    OpenBLAS stops its thread pool in a fork handler, and a fork in the starting thread
    while the main thread's BLAS call uses that pool hangs the main thread for good.
    """

    def __init__(self, cluster: ClusterConfig) -> None:
        self._blas = threadpool_limits(limits=1, user_api="blas")
        self._done = threading.Event()
        self._release = threading.Event()
        self._started_ray = False
        self._result: dict[str, float] | BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(cluster,), name="ray-start", daemon=True)
        self._thread.start()

    def _run(self, cluster: ClusterConfig) -> None:
        import ray

        logging.getLogger("ray._private.worker").addFilter(_not_the_sigterm_note)
        self._started_ray = not ray.is_initialized()
        try:
            self._result = start_ray(cluster)
        except BaseException as e:  # handed to the main thread by wait()
            self._result = e
        finally:
            self._done.set()
        if self._started_ray and cluster.is_local:
            self._release.wait()

    def wait(self) -> dict[str, Any]:
        """Block until Ray runs; its resources."""
        self._done.wait()
        self._blas.restore_original_limits()
        if isinstance(self._result, BaseException):
            raise self._result
        return dict(self._result or {})

    def cancel(self) -> None:
        """The study stopped before it needed Ray: wait for the start to end, then shut down
        the Ray this start began (a Ray that ran before is left alone)."""
        self._done.wait()
        self._blas.restore_original_limits()
        if self._started_ray:
            import ray

            ray.shutdown()
            self._release.set()
