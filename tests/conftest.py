"""Suite-wide hooks: the test scheduling across pytest-xdist workers (tests/support/scheduling.py)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        from tests.support.scheduling import Scheduling

        config.pluginmanager.register(Scheduling(), "tellonce-scheduling")
