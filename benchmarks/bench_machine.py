"""The machine a benchmark ran on, recorded with its numbers (one schema for every script)."""

from __future__ import annotations

import os
import platform
import time
from typing import Any


def machine_info() -> dict[str, Any]:
    """Node, CPUs, platform, library versions, load average and date (UTC)."""
    info: dict[str, Any] = {
        "node": platform.node(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "load_average_1_5_15min": list(os.getloadavg()),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    import numpy

    info["numpy"] = numpy.__version__
    try:
        import torch

        info.update(torch=torch.__version__, torch_threads_default=torch.get_num_threads(),
                    gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    except ImportError:
        info["torch"] = None
    return info
