"""Pseudonymisation: personal columns replaced at ingestion by a keyed hash (HMAC-SHA256).

The key comes from the environment (never from a file in the repository); the same key gives
the same pseudonym in every run, so hand-offs and workloads can still be analysed, while no
clear personal value reaches any layer of the database, raw included.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from procmine.config import Config
from procmine.errors import ConfigError

PREFIX = "p:"
DIGEST_CHARS = 16  # 64 bits: collisions are negligible for the people of one organisation


@dataclass(frozen=True)
class Pseudonymiser:
    """HMAC-SHA256 with the configured key, in Python and as a DuckDB SQL expression."""

    key: bytes
    columns: frozenset[str]

    def value(self, clear: str | None) -> str | None:
        if clear is None or clear.strip() == "":
            return clear
        digest = hmac.new(self.key, clear.strip().encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:DIGEST_CHARS]

    def sql_params(self) -> dict[str, bytes]:
        """$pm_ipad / $pm_opad for `sql_expression` (RFC 2104 inner and outer padded keys)."""
        block = (hashlib.sha256(self.key).digest() if len(self.key) > 64 else self.key).ljust(64, b"\0")
        return {"pm_ipad": bytes(b ^ 0x36 for b in block),
                "pm_opad": bytes(b ^ 0x5C for b in block)}

    @staticmethod
    def sql_expression(column_sql: str) -> str:
        """SQL for the pseudonym of a VARCHAR expression (NULL and blanks stay as they are)."""
        return (
            f"CASE WHEN {column_sql} IS NULL OR trim({column_sql}) = '' THEN {column_sql} "
            f"ELSE '{PREFIX}' || left(sha256($pm_opad || unhex(sha256($pm_ipad || "
            f"encode(trim({column_sql}))))), {DIGEST_CHARS}) END"
        )


def pseudonymiser(config: Config, extra_columns: tuple[str, ...] = ()) -> Pseudonymiser | None:
    """The configured pseudonymiser, or None when [privacy] enabled = false."""
    settings = config.section("privacy")
    if not settings.get("enabled", False):
        return None
    env = str(settings.get("secret_env", "PROCMINE_PSEUDONYM_KEY"))
    key = os.environ.get(env, "")
    if len(key) < 16:
        raise ConfigError(
            f"[privacy] is enabled but ${env} is not set (or shorter than 16 characters); "
            f"export a secret key, e.g. {env}=$(python3 -c 'import secrets; "
            "print(secrets.token_hex(32))'), and keep it: the same key gives the same pseudonyms"
        )
    columns = frozenset(settings.get("columns", [])) | {c for c in extra_columns if c}
    return Pseudonymiser(key.encode(), columns)
