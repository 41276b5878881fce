"""Configuration: environment variables (documented in the README) over defaults.

Every command and the server read the same variables, so a CLI command acts on the database of
the gateway that is running beside it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIX = "PISHKHAN_"


def _float(value: str | float) -> float:
    return float(value)


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


# name -> (default, parser, meaning). The README's table is checked against this by a test.
SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "DATA_DIR": ("var", str, "Directory for the embedded database and generated key files."),
    "DATABASE_URL": (
        None,
        str,
        "SQLAlchemy URL; default `sqlite:///<DATA_DIR>/pishkhan.db`. "
        "Use `postgresql+psycopg://…` for several workers or hosts.",
    ),
    "SIGNING_KEY_FILE": (
        None,
        str,
        "Ed25519 private key (PEM, PKCS#8) signing receipts and tree "
        "heads; default `<DATA_DIR>/signing-key.pem`, created 0600 "
        "on first start.",
    ),
    "PSEUDONYM_KEY_FILE": (
        None,
        str,
        "32-byte secret for the HMAC pseudonyms of national codes "
        "and mobiles; default `<DATA_DIR>/pseudonym.key`, created "
        "0600 on first start.",
    ),
    "ENCRYPTION_KEY_FILE": (
        None,
        str,
        "32-byte AES-256-GCM key sealing the citizen's national code and mobile with each "
        "transaction (revealed only to a regulator, with a logged reason); default "
        "`<DATA_DIR>/encryption.key`, created 0600 on first start.",
    ),
    "SESSION_KEY_FILE": (
        None,
        str,
        "Secret signing the console's session cookies; default `<DATA_DIR>/session.key`, "
        "created 0600 on first start.",
    ),
    "CREDENTIAL_VALID_DAYS": (
        365,
        int,
        "Days an office or supervisor credential issued by `issue-key` stays valid (0: until "
        "revoked); an expired one is refused as `unauthorized` and recorded.",
    ),
    "SECURE_COOKIES": (
        False,
        lambda v: str(v).lower() in ("1", "true", "yes"),
        "Mark the console's cookie Secure (set it when TLS terminates in front of the gateway).",
    ),
    "CONTRACTS_DIR": (
        "contracts",
        str,
        "Where WSDLs, schemas and tariff schedules live (the sample tariff that `demo` loads).",
    ),
    "DISABLED_PLUGINS": ("", str, "Comma-separated plugin (entry-point) names not to load."),
    "LOG_LEVEL": ("INFO", str, "Log level of the JSON logs on stderr."),
    "TARIFF_CACHE_SECONDS": (
        5.0,
        _float,
        "How long a worker reuses the tariff schedules it read "
        "(a newly loaded schedule is seen after at most this).",
    ),
    "IDEMPOTENCY_WAIT_SECONDS": (
        30.0,
        _float,
        "How long a duplicate request waits for the first "
        "one with the same Idempotency-Key to finish.",
    ),
    "MAX_BODY_BYTES": (65536, int, "Largest request body accepted."),
    "MAX_IN_FLIGHT": (
        24,
        int,
        "Transactions one worker process runs at once; beyond it a request waits at most "
        "`PISHKHAN_ADMISSION_WAIT_MS` and is refused with `overloaded` (503, `Retry-After`).",
    ),
    "GROUP_COMMIT": (
        True,
        _bool,
        "Record the outcomes of concurrent transactions in shared database transactions (one "
        "commit and fsync for all of them); each is still answered only after its commit.",
    ),
    "COUNTER_CACHE": (
        True,
        _bool,
        "Keep who is at the counter (credential, office, operator) in each worker while the "
        "registry is unchanged; any change to offices, credentials or operators (a database "
        "trigger bumps a version read on every request) is seen on the next request.",
    ),
    "ADMISSION_WAIT_MS": (20, int, "How long a transaction may wait for a free slot."),
    "BREAKER_FAILURES": (5, int, "Consecutive agency failures that open its circuit breaker."),
    "BREAKER_RESET_SECONDS": (30.0, _float, "How long an open breaker fails fast before a trial."),
    "REGIONS_FILE": (
        None,
        str,
        "The regulator's nine regions and their provinces (TOML, like the packaged "
        "`data/regions.toml`, a sample grouping): what a `region:<1..9>` supervisor oversees.",
    ),
    "BREAKER_DIR": (
        None,
        str,
        "Where each agency's breaker state is kept, shared by every worker on the host; default "
        "`<DATA_DIR>/breakers` (local disk; a tmpfs is fine).",
    ),
    "INTERRUPTED_AFTER_SECONDS": (
        120.0,
        _float,
        "An attempt in flight (an intent) this old was interrupted by a crash: `reconcile` "
        "records it as unknown and settles it. Keep it above the longest agency timeout.",
    ),
    "SEAL_INTERVAL_SECONDS": (
        1.0,
        _float,
        "How often each worker's sealer folds new log entries into the Merkle tree and signs a "
        "tree head (0: only on demand).",
    ),
    "SEAL_BATCH": (
        5000,
        int,
        "Most entries one seal folds in (bounds how long it holds the SQLite writer).",
    ),
    "LOG_ORIGIN": (
        "pishkhan.example/log",
        str,
        "The log's name in its C2SP checkpoints (their origin line) and its note key name: "
        "unique to this deployment, e.g. `pishkhan.example.ir/log`.",
    ),
    "WITNESSES": (
        "",
        str,
        "The witnesses the gateway asks to cosign each checkpoint (C2SP `tlog-witness`): "
        "comma-separated `URL VKEY` pairs, the witness's submission prefix and its cosignature "
        "verifier key (`pishkhan-gateway witness serve` prints it).",
    ),
    "WITNESS_QUORUM": (
        0,
        int,
        "How many witnesses must cosign a checkpoint for it to count as witnessed (0: a majority "
        "of `PISHKHAN_WITNESSES`). Below it `/v1/health` reports `witnessing: degraded`.",
    ),
    "TRUSTED_PROXIES": (
        0,
        int,
        "How many front proxies (nginx) set `X-Forwarded-For` before the gateway: the client "
        "address that per-address limits count is then the one they saw (werkzeug's ProxyFix). "
        "0: the connection's own address.",
    ),
    "APPOINTMENT_LIMIT": (
        "20/minute;100/day",
        str,
        "Appointment requests, confirmations and cancellations one client address may send.",
    ),
    "FEEDBACK_LIMIT": (
        "10/minute;50/day",
        str,
        "Ratings and complaints one client address may send from receipts' pages.",
    ),
    "AUTH_FAILURE_LIMIT": (
        "20/minute",
        str,
        "Failed authentications (bad credential, unregistered operator) one client address may "
        "make before it is refused with `too_many_failures` (429).",
    ),
    "RATE_LIMIT_STORAGE": (
        "memory://",
        str,
        "Where failed authentications and office/operator rate limits are counted: "
        "`memory://` per process, or a shared `redis://…` / `memcached://…` for all workers "
        "and hosts.",
    ),
    "REFUSAL_LOG_WINDOW_SECONDS": (
        10.0,
        float,
        "Over-quota refusals of one office: the first in each window is recorded, the rest only "
        "answered and counted (`pishkhan_unrecorded_refusals_total`); 0 records every one.",
    ),
    "OFFICE_RATE_LIMIT": (
        "600/minute",
        str,
        "Transactions one office may submit (`limits` notation, e.g. `600/minute;20000/day`); "
        "beyond it `rate_limited` (429, `Retry-After`), recorded.",
    ),
    "OPERATOR_RATE_LIMIT": (
        "120/minute",
        str,
        "Transactions one operator (at one office) may submit; beyond it `rate_limited`.",
    ),
    "IDENTITY_CACHE_SECONDS": (
        60.0,
        _float,
        "How long a worker reuses a Civil Registry match or a mobile-ownership answer "
        "(0: ask every time). Refusals are never cached.",
    ),
    "OTP_TTL_SECONDS": (120, int, "How long a one-time code (identity level 3) stays valid."),
    "OTP_MAX_ATTEMPTS": (3, int, "Wrong tries after which a one-time code is dead."),
    "OTP_SENDS_PER_WINDOW": (3, int, "One-time codes one mobile may be sent per window."),
    "OTP_WINDOW_SECONDS": (600, int, "The window of `PISHKHAN_OTP_SENDS_PER_WINDOW`."),
    "INQUIRY_RETRIES": (
        2,
        int,
        "Retries (with jittered backoff) of an inquiry after a transport "
        "failure; payments and requests are never retried.",
    ),
}
AGENCY_NOTE = (
    "`PISHKHAN_AGENCY_<NAME>_URL`, `PISHKHAN_AGENCY_<NAME>_TIMEOUT` (seconds): where "
    "agency `<name>` lives and how long one call may take; default: the plugin's "
    "declaration."
)


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read every ``PISHKHAN_*`` setting (keys without the prefix); ``complete`` fills the rest."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for name, (default, parse, _meaning) in SETTINGS.items():
        raw = env.get(PREFIX + name)
        config[name] = parse(raw) if raw not in (None, "") else default
    config["AGENCIES"] = agency_settings(env)
    return config


def agency_settings(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``PISHKHAN_AGENCY_POSTBANK_URL=…`` → ``{"postbank": {"url": "…"}}``."""
    agencies: dict[str, dict[str, str]] = {}
    marker = PREFIX + "AGENCY_"
    for key, value in env.items():
        if not key.startswith(marker):
            continue
        rest = key[len(marker) :]
        name, _, setting = rest.rpartition("_")
        if name and setting:
            agencies.setdefault(name.lower(), {})[setting.lower()] = value
    return agencies


def complete(config: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults that depend on other settings (paths under ``DATA_DIR``)."""
    for name, (default, _parse, _meaning) in SETTINGS.items():
        config.setdefault(name, default)
    config.setdefault("AGENCIES", {})
    data = Path(config["DATA_DIR"])
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{data / 'pishkhan.db'}"
    if not config.get("SIGNING_KEY_FILE"):
        config["SIGNING_KEY_FILE"] = str(data / "signing-key.pem")
    if not config.get("PSEUDONYM_KEY_FILE"):
        config["PSEUDONYM_KEY_FILE"] = str(data / "pseudonym.key")
    if not config.get("SESSION_KEY_FILE"):
        config["SESSION_KEY_FILE"] = str(data / "session.key")
    if not config.get("BREAKER_DIR"):
        config["BREAKER_DIR"] = str(data / "breakers")
    if not config.get("ENCRYPTION_KEY_FILE"):
        config["ENCRYPTION_KEY_FILE"] = str(data / "encryption.key")
    return config
