"""The instrument loader's compile of a file, remembered by its path and content for the whole test process.

Compiling every bundled definition takes about a second of CPU, and many tests load a registry of their own (the
bundled files and a small one of theirs), so the suite compiled the same bytes hundreds of times. A file is
compiled again whenever its content differs, so a test that edits or breaks a file gets the loader's real answer.
"""

from __future__ import annotations

from pathlib import Path

from instruments import loader
from instruments.compiler import Checked

_compile_file = loader._compile_file
_compiled: dict[tuple[str, bytes], Checked] = {}


def _compile_file_once(path: Path | str, text: str | None = None) -> Checked:
    if text is not None:
        return _compile_file(path, text)
    try:
        key = (str(path), Path(path).read_bytes())
    except OSError:
        return _compile_file(path)  # the loader says what it cannot read
    if key not in _compiled:
        _compiled[key] = _compile_file(path)
    return _compiled[key]


def install() -> None:
    """Use the remembered compile in this process."""
    loader._compile_file = _compile_file_once
