"""Thread pools sized for segmentation work, for the command line and the app's jobs alike.

BLAS runs on one thread: a run's matrices are small (tens of features, tens of components), where OpenBLAS's
threads cost more than they give. Measured on the 2-core machine, on a 2,240-customer marketing-campaign table with
43 model features: a 10-component full-covariance mixture fits in 0.51 s on one BLAS thread against 1.73 s on two,
and the whole default ``segment run`` takes 27.6 s against 67.8 s. OpenMP (scikit-learn's KMeans, its nearest
neighbours) gets the threads it is given: every core on the command line, one in the app's forked jobs (see
:func:`dashboard.runner.run_job`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def numeric_threads(openmp: int | None = None) -> Iterator[None]:
    """Within it, BLAS uses one thread and OpenMP ``openmp`` threads (default: every core)."""
    with (
        threadpool_limits(limits=1, user_api="blas"),
        threadpool_limits(limits=openmp or os.cpu_count() or 1, user_api="openmp"),
    ):
        yield
