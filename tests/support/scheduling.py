"""How `scripts/test` shares the tests between pytest-xdist workers (`-n 2 --dist loadgroup`).

Every test is its own unit of work, handed to whichever worker is free, except the browser tests: they all
go to one worker, so the suite starts one live server (which seeds the demo) and one Chromium, not one per
worker. The browser unit is the largest, so xdist hands it out first and the other worker takes everything
else meanwhile.

xdist's own `xdist_group` marks do not work with pytest 9 (xdist renames `item._nodeid`, which pytest no
longer reads), so the grouping is by path here.
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

BROWSER = "tests/browser/"


class BrowserTestsOnOneWorker(LoadScopeScheduling):
    """Load scheduling test by test, with the browser tests as one unit."""

    def _split_scope(self, nodeid: str) -> str:
        return BROWSER if nodeid.startswith(BROWSER) else nodeid


class Scheduling:
    """The plugin that makes `--dist loadgroup` use `BrowserTestsOnOneWorker`."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Producer) -> LoadScopeScheduling | None:
        if config.getvalue("dist") != "loadgroup":
            return None
        return BrowserTestsOnOneWorker(config, log)
