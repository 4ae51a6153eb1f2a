"""Instruments: declarative definitions, their loader and checks. Imports nothing from the web app."""

from instruments.compiled import CompiledInstrument, content_hash, json_schema
from instruments.loader import InstrumentError, Registry, load_file, load_or_raise, load_registry, load_text
from instruments.source import Problem

__all__ = [
    "CompiledInstrument",
    "InstrumentError",
    "Problem",
    "Registry",
    "content_hash",
    "json_schema",
    "load_file",
    "load_or_raise",
    "load_registry",
    "load_text",
]
