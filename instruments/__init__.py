"""Instruments: declarative definitions, their loader and checks. Imports nothing from the web app."""

from instruments.compiled import CompiledInstrument, content_hash, json_schema
from instruments.loader import InstrumentError, LoadResult, Registry, load
from instruments.source import Problem

__all__ = [
    "CompiledInstrument",
    "InstrumentError",
    "LoadResult",
    "Problem",
    "Registry",
    "content_hash",
    "json_schema",
    "load",
]
