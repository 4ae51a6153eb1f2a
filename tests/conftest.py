"""Suite-wide hooks: instrument files compiled once per content (tests/support/compiled_once.py), the test
scheduling across pytest-xdist workers (tests/support/scheduling.py), and each worker on its own cores
(tests/support/cores.py)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from tests.support import compiled_once, cores

    compiled_once.install()  # the same file's same bytes are compiled once per process
    cores.keep_worker_to_its_cores()
    if config.pluginmanager.hasplugin("xdist"):
        from tests.support.scheduling import Scheduling

        config.pluginmanager.register(Scheduling(), "tellonce-scheduling")
