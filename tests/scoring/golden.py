"""What the scoring tests share: the answer and level codes, and the versions that score as 1.1.0.

The golden cases themselves are `examples:` in the bundled files, run by test_golden_examples.py."""

from __future__ import annotations

from instruments.compiled import CompiledInstrument
from tests.support.bundled import bundled_registry

NO, POSS, CLEAR, UNK = "no_concern", "possible_concern", "clear_concern", "unknown"
INS = "insufficient_information"  # a domain or overall result that cannot conclude; never an indicator level
NEI, DECL, NOT_ASKED = "not_enough_info", "declined", "not_asked"

# The versions that score as 1.1.0: 1.2.0 asks the same questions with the same scoring rules and only
# adds `carry` (how long an answer may be carried forward), and 1.3.0 only adds `screen_again` to next
# steps (when to screen again), so each must give every result 1.1.0 gives.
RULES_OF_1_1_0 = ("1.1.0", "1.2.0", "1.3.0")
_BUNDLED = bundled_registry()


def bundled(instrument_id: str, version: str) -> CompiledInstrument:
    """A bundled instrument version, which must exist."""
    compiled = _BUNDLED.get(instrument_id, version)
    assert compiled is not None, f"{instrument_id} {version} is not bundled"
    return compiled
