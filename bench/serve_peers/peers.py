"""The peers the bench measures, by name: a server (``base``) and the protocol it is spoken
to in (``-bin``: v2 binary tensors over HTTP, ``-grpc``: v2 gRPC, otherwise JSON)."""

from __future__ import annotations

from serve_peers import (
    peer_bentoml,
    peer_litserve,
    peer_mlflow,
    peer_mlserver,
    peer_modelyard,
    peer_naive,
    peer_pytriton,
)
from serve_peers.kinds import PeerKind

KINDS: dict[str, PeerKind] = {
    "naive": peer_naive.KIND,
    "mlflow": peer_mlflow.KIND,
    "mlserver": peer_mlserver.KIND,
    "bentoml": peer_bentoml.KIND,
    "litserve": peer_litserve.KIND,
    "pytriton": peer_pytriton.KIND,
    "modelyard-1w": peer_modelyard.KIND,
    "modelyard-1w-nomon": peer_modelyard.KIND,
    "modelyard-1w-1t": peer_modelyard.KIND,
    "modelyard-2w": peer_modelyard.KIND,
}
YARD = "modelyard-1w"
MONITOR_OFF = "modelyard-1w-nomon"  # measured in the 1-row c=64 cells only
ONE_THREAD = "modelyard-1w-1t"  # one native thread (the default here too: a noise gauge)
TWO_WORKERS = "modelyard-2w"
# Only one modelyard worker count and monitoring setting per form: the others are JSON only.
PROTOCOL_BASES = ("mlserver", "pytriton", YARD)

PEERS: tuple[str, ...] = (
    *KINDS,
    *(f"{base}-{form}" for form in ("bin", "grpc") for base in PROTOCOL_BASES),
)


def base_of(peer: str) -> str:
    """The server a peer runs: ``mlserver-grpc`` is MLServer, spoken to over gRPC."""
    for suffix in ("-bin", "-grpc"):
        if peer.endswith(suffix):
            return peer.removesuffix(suffix)
    return peer


def protocol_of(peer: str) -> str:
    if peer.endswith("-bin"):
        return "bin"
    return "grpc" if peer.endswith("-grpc") else "json"


def kind_of(peer: str) -> PeerKind:
    return KINDS[base_of(peer)]


def is_yard(peer: str) -> bool:
    return base_of(peer).startswith("modelyard")


def measured(peer: str, rows: int, c: int) -> bool:
    """Whether ``peer`` has a (rows, c) cell at all."""
    if peer == "naive":
        return rows == 1
    if peer == MONITOR_OFF:
        return (rows, c) == (1, 64)
    if peer == ONE_THREAD:
        return rows == 1 and c in (1, 64)
    return True
