"""Endpoints: served names bound to model references; every change audited."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modelyard.domain.endpoints import Endpoint
from modelyard.domain.names import check_name
from modelyard.errors import AlreadyExists, NotFound
from modelyard.store import audit
from modelyard.store.db import Database
from modelyard.store.schema import EndpointRow, LastLoadedRow, utcnow


class EndpointStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, endpoint: Endpoint, actor: str) -> Endpoint:
        def work(session: Session) -> Endpoint:
            if session.scalar(select(EndpointRow.id).where(EndpointRow.name == endpoint.name)):
                raise AlreadyExists(f"endpoint {endpoint.name!r} already exists")
            now = utcnow()
            row = EndpointRow(
                name=endpoint.name,
                spec=endpoint.spec(),
                created_at=now,
                updated_at=now,
                created_by=actor,
            )
            session.add(row)
            audit.record(
                session, actor, "endpoint.create", f"endpoint:{endpoint.name}", endpoint.spec()
            )
            audit.bump_revision(session)
            session.flush()
            return _to_entity(row)

        return self.db.write(work)

    def update(self, endpoint: Endpoint, actor: str, reason: str = "") -> Endpoint:
        return self.db.write(lambda session: write_endpoint(session, endpoint, actor, reason))

    def get(self, name: str) -> Endpoint:
        check_name(name, "endpoint name")
        return self.db.read(lambda session: _to_entity(_get(session, name)))

    def list(self) -> list[Endpoint]:
        return self.db.read(
            lambda session: [
                _to_entity(r)
                for r in session.scalars(select(EndpointRow).order_by(EndpointRow.name))
            ]
        )

    def delete(self, name: str, actor: str, reason: str = "") -> None:
        check_name(name, "endpoint name")

        def work(session: Session) -> None:
            row = _get(session, name, lock=True)
            session.delete(row)
            # What last served it must not come back for a new endpoint of the same name.
            session.execute(delete(LastLoadedRow).where(LastLoadedRow.endpoint == name))
            audit.record(
                session,
                actor,
                "endpoint.delete",
                f"endpoint:{name}",
                {"spec": row.spec, "reason": reason},
            )
            audit.bump_revision(session)

        self.db.write(work)


def write_endpoint(session: Session, endpoint: Endpoint, actor: str, reason: str = "") -> Endpoint:
    """Replace an endpoint's spec inside the caller's transaction (audited; servers notice),
    so a rollout step and its routes commit together."""
    row = _get(session, endpoint.name, lock=True)
    before = row.spec
    row.spec = endpoint.spec()
    row.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "endpoint.update",
        f"endpoint:{endpoint.name}",
        {"from": before, "to": row.spec, "reason": reason},
    )
    audit.bump_revision(session)
    return _to_entity(row)


def read_endpoint(session: Session, name: str, lock: bool = False) -> Endpoint:
    return _to_entity(_get(session, name, lock))


def _get(session: Session, name: str, lock: bool = False) -> EndpointRow:
    query = select(EndpointRow).where(EndpointRow.name == name)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"endpoint {name!r} not found")
    return row


def _to_entity(row: EndpointRow) -> Endpoint:
    return Endpoint.from_spec(
        row.name,
        row.spec,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
    )
