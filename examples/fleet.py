"""Watch a fleet: PostgreSQL, moto's S3 server, three replicas, two controllers, HAProxy.

    python examples/fleet.py [--keep DIR]

Needs PostgreSQL at ``MODELYARD_FLEET_PG`` (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres: a fresh database is created and
dropped), ``haproxy`` (``make haproxy``) and the dev extra (moto's server).
It runs the scenario tests/integration/test_fleet.py judges and prints what happens: an
alias move, a replica SIGKILLed, the lease-holding controller SIGKILLed mid-canary, the
replica restarted, and the prediction log checked against what the clients were answered.
Every process's log is in the work folder (``--keep`` to look at them afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.fleet import haproxy_reason, scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work folder to keep (logs, haproxy.cfg)")
    args = parser.parse_args()
    reason = haproxy_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    import psycopg

    admin = os.environ.get(
        "MODELYARD_FLEET_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"modelyard_fleet_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as scratch:
            work = args.keep or Path(scratch)
            work.mkdir(parents=True, exist_ok=True)
            seen = scenario(work, f"{admin.rsplit('/', 1)[0]}/{name}")
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(seen, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
