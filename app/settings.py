"""Settings: one class, read from the environment (prefix TELLONCE_) through a cached getter."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_BASE_URL = "http://127.0.0.1:8000"  # `tellonce serve`'s default host and port


def served_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches a server listening on host:port with (0.0.0.0 and ::
    listen everywhere, this machine included)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104 (mapped away)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


class Settings(BaseSettings):
    """Everything a deployment configures."""

    model_config = SettingsConfigDict(env_prefix="TELLONCE_", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = Field(default=None, description="default: SQLite file in data_dir")
    key_file: Path | None = Field(default=None, description="default: data_dir/keys.json")
    encryption_keys: str | None = Field(
        default=None, description="'kid:base64key,...' (first is current) plus index key; overrides key_file"
    )
    index_key: str | None = Field(default=None, description="base64 key for blind indexes; with encryption_keys")
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    api_token_hours: int = 8
    # Sign-in limits (see app/accounts/service.py): a browser that signed in to an account before
    # (its signed device cookie) is limited only by its own count; the others per account and
    # address pair, and, more loosely, per account and per address.
    login_attempts_per_device: int = Field(default=5, ge=1, description="per account, per known browser")
    login_attempts_per_account_address: int = Field(default=5, ge=1, description="per account, per address")
    login_attempts_per_account: int = Field(default=20, ge=1, description="per account, browsers not known to it")
    login_attempts_per_address: int = Field(default=100, ge=1, description="per address, browsers not known")
    login_window_minutes: int = 15
    device_cookie_days: int = Field(default=365, ge=1, description="how long a browser stays known to an account")
    # argon2id costs: the library's defaults (t=3, 64 MiB, p=4) and never less in production; tests
    # lower them so the suite runs quickly.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=1024)
    # Each hash holds memory_kib of memory while it runs: at most this many at once per process
    # (2 suits a 2-core server: 2 x 64 MiB); a request that waits longer than
    # password_hash_wait_seconds for a slot is answered 503 with Retry-After.
    password_hash_slots: int = Field(default=2, ge=1)
    password_hash_wait_seconds: float = Field(default=5.0, ge=0)
    trust_proxy_headers: bool = False
    youth_access_hours: int = 72
    youth_idle_minutes: int = 15
    resume_attempts_per_link: int = 5
    resume_attempts_per_address: int = 20
    resume_window_minutes: int = Field(default=15, ge=1)
    quick_exit_url: str = "https://www.google.com/"
    base_url: str | None = Field(
        default=None,
        description="the public address every link points at (https in production); "
        "default: the address `tellonce serve` listens on",
    )
    # Not for operators: `tellonce serve` sets TELLONCE_SERVED_URL to the address it listens on before the
    # server starts, so that its workers (separate processes) build links with it when base_url is unset.
    served_url: str | None = None
    referral_stale_days: int = Field(default=14, ge=1, description="a live referral with no change this long is listed")
    demo_cohort_people: int = Field(
        default=800, ge=0, le=5000, description="synthetic people the demo adds for the performance report (0: none)"
    )
    demo_checkins: bool = Field(
        default=True,
        description="a fresh demo also adds two years of synthetic check-ins at Riverbend and Harbor, so the "
        "aggregate report shows charts (false: none)",
    )
    denial_alert_per_day: int = Field(
        default=20, ge=1, description="denied reads by one user in 24 hours above which the admins' page flags them"
    )
    pg_bin_dir: Path | None = Field(
        default=None, description="folder of pg_dump/pg_restore for backups; default: PATH, then /usr/lib/postgresql"
    )
    # Request bodies: the largest legitimate ones are FHIR uploads (a youth's Bundle of QuestionnaireResponses,
    # a Questionnaire); every form and API body is a few kilobytes.
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, description="larger request bodies answer 413")
    max_import_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="the limit for FHIR import routes")
    max_json_depth: int = Field(default=64, ge=8, description="JSON nested deeper than this answers 422")

    workers: int = Field(default=1, ge=1, description="worker processes of `tellonce serve` (--workers)")
    # Per process: threads that run requests' blocking work, and so how many requests are let in at once
    # (the others wait their turn in the event loop; see app/admission.py).
    threads: int = Field(default=40, ge=2, description="threads per process, and requests let in at once")
    # Database connections, per app server process (a worker of `tellonce serve --workers N` is one
    # process): PostgreSQL keeps db_pool_size connections open and opens up to db_max_overflow more
    # at busy moments; a request that finds all of them in use waits up to db_pool_timeout seconds.
    # Mind the server's max_connections: workers x servers x (pool size + overflow), plus a few.
    db_pool_size: int = Field(default=5, ge=1, description="connections kept open per process")
    db_max_overflow: int = Field(default=5, ge=0, description="extra connections per process at busy moments")
    db_pool_timeout: float = Field(default=30.0, gt=0, description="seconds a request waits for a free connection")
    db_pool_recycle_seconds: int = Field(
        default=1800, ge=-1, description="PostgreSQL connections are replaced after this long (-1: never)"
    )
    db_pool_pre_ping: bool = Field(
        default=False, description="test each PostgreSQL connection before use (one round trip per request)"
    )
    db_prepare_threshold: int = Field(
        default=5,
        ge=0,
        description="PostgreSQL prepares a statement after this many uses on a connection "
        "(0: never, for PgBouncer in transaction mode without max_prepared_statements)",
    )

    @model_validator(mode="after")
    def _production_needs_explicit_database(self) -> Settings:
        if self.environment == "production" and self.database_url is None and not self.data_dir.is_absolute():
            raise ValueError("in production, set TELLONCE_DATABASE_URL or an absolute TELLONCE_DATA_DIR")
        return self

    @model_validator(mode="after")
    def _production_hashes_at_full_strength(self) -> Settings:
        if self.environment == "production" and (
            self.password_hash_time_cost < 3 or self.password_hash_memory_kib < 65536
        ):
            raise ValueError(
                "in production, TELLONCE_PASSWORD_HASH_TIME_COST must be at least 3 and "
                "TELLONCE_PASSWORD_HASH_MEMORY_KIB at least 65536 (argon2id's defaults)"
            )
        return self

    def public_base_url(self) -> str:
        """The address every link points at, without a trailing `/`: TELLONCE_BASE_URL, else the address
        `tellonce serve` was started on, else the default local one."""
        return (self.base_url or self.served_url or LOCAL_BASE_URL).rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tellonce.sqlite3').resolve()}"

    @property
    def resolved_key_file(self) -> Path:
        """Where the encryption keys are kept when not given in the environment."""
        return self.key_file or self.data_dir / "keys.json"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure (and __Host- prefixed) outside local development and tests."""
        return self.environment == "production"


@lru_cache
def get_settings() -> Settings:
    """The settings of this process; tests clear the cache to override them."""
    return Settings()
