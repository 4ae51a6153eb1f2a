"""API: data exports for a recipient agency, streamed (CSV plain or for Excel, SPSS, Stata, JSON, NDJSON, FHIR),
and the codebook of their columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from app.crypto import KeyRing
from app.db import SessionDep, get_engine
from app.deps import ApiUserDep, KeysDep, RegistryDep
from app.errors import ExportFailed, InvalidInput, NotFound, responses
from app.exports import codebook, stats_files, tabular
from app.exports.plan import Plan
from app.fields import Id, IsoDate
from app.models_sharing import Purpose
from instruments.loader import Registry

router = APIRouter(tags=["exports"])
CHUNK = 64 * 1024
Format = Literal["csv", "csv-excel", "sav", "dta", "json", "ndjson", "fhir-bundle", "fhir-ndjson"]
FORMAT_HELP = (
    "csv: UTF-8 without a byte-order mark; csv-excel: the same CSV with a byte-order mark, so Excel reads its "
    "accents; sav (SPSS) and dta (Stata): with variable and value labels, held in memory while written, so "
    "limited in size; json, ndjson, fhir-bundle, fhir-ndjson"
)
STREAM_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/x-spss-sav": {"schema": {"type": "string", "format": "binary"}},
    "application/x-stata-dta": {"schema": {"type": "string", "format": "binary"}},
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    "application/x-ndjson": {"schema": {"type": "string"}},
    "application/fhir+json": {"schema": {"type": "object"}},
    "application/fhir+ndjson": {"schema": {"type": "string"}},
}


def chunked(pieces: Iterable[str], size: int = CHUNK) -> Iterator[str]:
    """Join small pieces into chunks of about `size` characters (fewer, larger writes)."""
    buffer: list[str] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)


def filename(planned: Plan, extension: str) -> str:
    """A neutral file name: the dates only."""
    req = planned.request
    return f"tellonce-export-{req.date_from.isoformat()}-{req.date_to.isoformat()}.{extension}"


def download_headers(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def streamed(planned: Plan, fmt: str, keys: KeyRing, registry: Registry) -> Response:
    """The export as a download. CSV, JSON and FHIR stream in their own database session: the request's is closed
    once the response starts, and each batch's ledger entries are committed before the batch is sent. A .sav or
    .dta file is written whole (`whole_file`) before the response starts, so a failure is an error status with a
    message; its labels are in the language being rendered now."""
    media_type, extension = tabular.FORMATS[fmt]
    headers = download_headers(filename(planned, extension))
    if fmt in stats_files.FORMATS:
        return Response(whole_file(planned, fmt, keys, registry), media_type=media_type, headers=headers)

    def body() -> Iterator[str]:
        with Session(get_engine(), expire_on_commit=False) as db:
            yield from chunked(tabular.stream(db, keys, registry, planned, fmt))

    return StreamingResponse(body(), media_type=media_type, headers=headers)


def whole_file(planned: Plan, fmt: str, keys: KeyRing, registry: Registry) -> bytes:
    """A .sav or .dta export's bytes, written (in memory, or a private temporary file) before any is sent.

    Its ledger entries (and the audit event) are committed only once the file is written: a file that fails is
    neither sent nor recorded, and one that is sent has its entries. In a session of its own, like the streams.
    The price: the entries are one transaction held while the file is built (bounded by `stats_files.MAX_CELLS`),
    so on SQLite other writes wait for it (up to its busy timeout).
    """
    with Session(get_engine(), expire_on_commit=False) as db, stats_files.scratch(fmt) as path:
        try:
            tabular.write_file(db, keys, registry, planned, fmt, path, commit=False)
            content = path.read_bytes()
            db.commit()
        except BaseException:
            db.rollback()
            raise
    return content


def codebook_download(planned: Plan, fmt: str = "csv") -> Response:
    """The codebook as a download: for Excel (with a byte-order mark) when the export is."""
    excel = fmt == "csv-excel"
    name = filename(planned, "codebook.excel.csv" if excel else "codebook.csv")
    text = codebook.codebook_csv(planned, excel=excel)
    return Response(text, media_type="text/csv; charset=utf-8", headers=download_headers(name))


def categories_of(values: list[str]) -> list[str]:
    """Categories given repeated or comma-separated."""
    return [c.strip() for value in values for c in value.split(",") if c.strip()]


Recipient = Annotated[Id, Query(description="The recipient agency's id (your own agency's id for an internal export)")]
From = Annotated[IsoDate, Query(alias="from", description="First completion date, inclusive (YYYY-MM-DD)")]
To = Annotated[IsoDate, Query(alias="to", description="Last completion date, inclusive (YYYY-MM-DD)")]
Categories = Annotated[
    list[Annotated[str, Query(max_length=200)]],
    Query(
        max_length=20, description="result_summary (always required), item_answers, notes; repeated or comma-separated"
    ),
]


@router.get(
    "/exports",
    response_class=StreamingResponse,
    responses={200: {"content": STREAM_CONTENT}, **responses(InvalidInput, NotFound, ExportFailed)},
)
def export(
    db: SessionDep,
    keys: KeysDep,
    registry: RegistryDep,
    user: ApiUserDep,
    recipient: Recipient,
    date_from: From,
    date_to: To,
    format: Annotated[Format, Query(description=FORMAT_HELP)] = "csv",
    categories: Categories = ["result_summary"],  # noqa: B006 (FastAPI copies query defaults)
    purpose: Purpose = Purpose.care_coordination,
) -> Response:
    """Your agency's completed screenings for a recipient, filtered by consent, streamed, written to the ledger."""
    planned = tabular.prepare(
        db, registry, user, recipient, date_from, date_to, categories_of(categories), purpose.value
    )
    return streamed(planned, format, keys, registry)


@router.get(
    "/exports/codebook",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **responses(InvalidInput, NotFound)},
)
def export_codebook(
    db: SessionDep,
    registry: RegistryDep,
    user: ApiUserDep,
    recipient: Recipient,
    date_from: From,
    date_to: To,
    categories: Categories = ["result_summary"],  # noqa: B006
    purpose: Purpose = Purpose.care_coordination,
    format: Annotated[Format, Query(description="The export's format: csv-excel gives the codebook for Excel")] = "csv",
) -> Response:
    """The codebook of the export with the same terms: every column (and .sav/.dta variable) and every code."""
    planned = tabular.prepare(
        db, registry, user, recipient, date_from, date_to, categories_of(categories), purpose.value
    )
    return codebook_download(planned, format)
