"""The test workers' cores (tests/support/cores.py): each worker a share of its own, and whatever it starts stays
in that share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cores import share

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("cores", "workers"), [(2, 2), (4, 2), (8, 3), (2, 3), (1, 2), (6, 6)])
def test_every_worker_gets_cores_and_no_core_is_left_out(cores: int, workers: int) -> None:
    found = [share(list(range(cores)), worker, workers) for worker in range(workers)]
    assert all(found), found  # every worker runs somewhere
    assert set().union(*found) == set(range(cores)) if workers <= cores else all(len(s) == 1 for s in found)
    if workers <= cores:  # as many workers as cores or fewer: no two share a core
        assert sum(len(s) for s in found) == cores, found


def test_threads_and_processes_started_after_the_move_stay_on_the_workers_cores() -> None:
    first = min(os.sched_getaffinity(0))
    script = f"""
import os, subprocess, sys, threading
from tests.support.cores import move_to
done = threading.Event()
earlier = threading.Thread(target=done.wait)  # a thread started before the move moves too
earlier.start()
move_to({{{first}}})
seen = []
later = threading.Thread(target=lambda: seen.append(sorted(os.sched_getaffinity(0))))
later.start(); later.join()
child = subprocess.run([sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
                       capture_output=True, text=True, check=True)
print(sorted(os.sched_getaffinity(earlier.native_id)), seen[0], child.stdout.strip())
done.set()
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [f"[{first}]"] * 3, out.stdout + out.stderr
