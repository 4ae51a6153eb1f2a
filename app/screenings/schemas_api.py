"""Instrument summaries for the API."""

from __future__ import annotations

from pydantic import BaseModel

from instruments.compiled import CompiledInstrument


class InstrumentSummary(BaseModel):
    id: str
    version: str
    title: dict[str, str]
    modes: list[str]
    languages: list[str]
    validated: bool
    content_hash: str

    @classmethod
    def of(cls, compiled: CompiledInstrument) -> InstrumentSummary:
        d = compiled.definition
        return cls(
            id=d.id,
            version=d.version,
            title=d.title,
            modes=list(d.modes),
            languages=list(d.languages),
            validated=d.provenance.validated,
            content_hash=compiled.content_hash,
        )
