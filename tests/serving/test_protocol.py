"""The connection protocol reaches ``--workers`` processes: uvicorn pickles its config."""

import pickle

from modelyard.config import Settings
from modelyard.serving.direct import DirectProtocol
from modelyard.serving.protocol import LimitedHttpToolsProtocol
from modelyard.serving.server import protocol_for


def test_the_protocol_with_its_settings_survives_pickling() -> None:
    settings = Settings(header_timeout_seconds=3, body_timeout_seconds=4, max_connections=5)
    factory = pickle.loads(pickle.dumps(protocol_for(settings)))
    assert factory.func is DirectProtocol
    assert factory.keywords == {
        "header_timeout": 3.0,
        "body_timeout": 4.0,
        "max_connections": 5,
    }


def test_with_direct_predictions_off_every_request_goes_through_asgi() -> None:
    factory = protocol_for(Settings(direct_predict=False))
    assert factory.func is LimitedHttpToolsProtocol  # type: ignore[attr-defined]
