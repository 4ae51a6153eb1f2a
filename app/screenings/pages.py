"""Practitioner pages: dashboard, youth, the screening form and the result."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
