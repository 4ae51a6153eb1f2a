"""Each pytest-xdist worker keeps to cores of its own (`scripts/test` runs 2 workers on a 2-core machine).

A test's request crosses threads several times: the test client and the app's event loop, FastAPI's thread pool,
SQLite's writer. When those threads may run on any core, each hand-over (Python's GIL, a lock, a queue) may wake
a thread on the other core, and on this 2-core VM that costs more than the work handed over. Measured in one
process, `pytest -p no:xdist tests/app/test_authorization_matrix.py -k own_agency_routes`: 34.3 s and 31.4 s of
CPU free to use both cores, 22.8 s and 21.7 s kept to one (`taskset -c 0`). Two workers keep both cores busy
anyway, so each one, with whatever it starts (its PostgreSQL server, app servers, Chromium), keeps to its share.

The whole suite, same hour (`pytest -n 2 --dist loadgroup`): 663 s free, 626 s kept; 675 s with the browser
tests' worker left free (its Chromium and live server then crowded the other worker's core).
"""

from __future__ import annotations

import os


def share(cores: list[int], worker: int, workers: int) -> set[int]:
    """Worker `worker`'s cores: every `workers`-th core from its own first one (one core each when there are
    more workers than cores)."""
    return set(cores[worker % len(cores) :: workers])


def move_to(cores: set[int]) -> None:
    """Every thread of this process to these cores; threads and processes started later inherit them. A thread
    that ended meanwhile, or a system that refuses (a container's limits), leaves that thread where it was: the
    tests run the same, only slower."""
    for thread in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(thread), cores)
        except OSError:
            continue


def keep_worker_to_its_cores() -> None:
    """In an xdist worker (gw0, gw1, ...), on an OS that sets affinity: the worker to its share of the cores.
    Elsewhere (one process): nothing."""
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and workers.isdigit() and hasattr(os, "sched_setaffinity"):
        move_to(share(sorted(os.sched_getaffinity(0)), int(worker.removeprefix("gw")), int(workers)))
