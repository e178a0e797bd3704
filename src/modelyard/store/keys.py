"""API keys: created once (the secret is shown then and never stored), listed, revoked."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelyard.domain.keys import ApiKey, check_rate, check_scopes
from modelyard.domain.names import check_name
from modelyard.domain.values import check_text
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.store import audit
from modelyard.store.db import Database
from modelyard.store.schema import ApiKeyRow, utcnow

PREFIX = "myk_"


def secret_digest(secret: str) -> str:
    # Secrets carry 256 random bits, so a plain hash is enough: there is nothing to guess.
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_secret(key_id: str) -> str:
    """A new secret for ``key_id`` (new keys, and keys re-issued by a restore)."""
    return f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        scopes: list[str],
        endpoint: str | None,
        description: str,
        actor: str,
        rate_limit: float | None = None,
        rate_burst: int | None = None,
    ) -> tuple[ApiKey, str]:
        granted = check_scopes(scopes)
        if endpoint is not None:
            check_name(endpoint, "endpoint name")
        check_text(description, "description", 1000)
        check_rate(rate_limit, rate_burst)
        key_id = secrets.token_hex(6)
        secret = mint_secret(key_id)

        def work(session: Session) -> ApiKey:
            row = ApiKeyRow(
                id=key_id,
                secret_sha256=secret_digest(secret),
                scopes=list(granted),
                endpoint=endpoint,
                description=description,
                created_at=utcnow(),
                created_by=actor,
                rate_limit=None if rate_limit is None else float(rate_limit),
                rate_burst=rate_burst,
            )
            session.add(row)
            audit.record(
                session,
                actor,
                "key.create",
                f"key:{key_id}",
                {
                    "scopes": list(granted),
                    "endpoint": endpoint,
                    "rate_limit": row.rate_limit,
                    "rate_burst": rate_burst,
                },
            )
            session.flush()
            return _to_entity(row)

        return self.db.write(work), secret

    def list(self) -> list[ApiKey]:
        return self.db.read(
            lambda session: [
                _to_entity(r)
                for r in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))
            ]
        )

    def revoke(self, key_id: str, actor: str) -> ApiKey:
        if not isinstance(key_id, str) or not key_id.isalnum() or len(key_id) > 16:
            raise InvalidInput(f"invalid key id {key_id!r}")

        def work(session: Session) -> ApiKey:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"key {key_id!r} not found")
            if row.revoked_at is not None:
                raise Conflict(f"key {key_id!r} is already revoked")
            row.revoked_at = utcnow()
            audit.record(session, actor, "key.revoke", f"key:{key_id}", {})
            return _to_entity(row)

        return self.db.write(work)

    def authenticate(self, secret: str) -> ApiKey | None:
        """The key a presented secret belongs to, if any (revoked keys included)."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        digest = secret_digest(secret)
        return self.db.read(
            lambda session: _maybe(
                session.scalar(select(ApiKeyRow).where(ApiKeyRow.secret_sha256 == digest))
            )
        )


def _maybe(row: ApiKeyRow | None) -> ApiKey | None:
    return _to_entity(row) if row is not None else None


def _to_entity(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id,
        tuple(row.scopes),
        row.endpoint,
        row.description,
        row.created_at,
        row.created_by,
        row.revoked_at,
        row.rate_limit,
        row.rate_burst,
    )
