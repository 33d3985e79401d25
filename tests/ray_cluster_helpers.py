"""A private Ray cluster for one test (``ray.cluster_utils.Cluster``), with the session's
local Ray (conftest's ``ray_local``) shut down meanwhile and put back afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def private_cluster(head: dict, workers: list[dict] | None = None) -> Iterator:
    """Yield ``(cluster, [worker nodes])``: a head with ``head`` args plus one node per ``workers`` entry."""
    import ray
    from ray.cluster_utils import Cluster

    local_was_up = ray.is_initialized()
    if local_was_up:  # a test's own cluster needs the driver's Ray slot
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"include_dashboard": False, **head})
    try:
        nodes = [cluster.add_node(**w) for w in workers or []]
        cluster.wait_for_nodes()
        yield cluster, nodes
    finally:
        ray.shutdown()
        cluster.shutdown()
        if local_was_up:
            # `ray_local` is session-scoped: later tests get the fixture it already yielded
            # without it running again, so put its local Ray back as it was
            ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
