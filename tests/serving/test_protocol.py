"""The connection protocol reaches ``--workers`` processes: uvicorn pickles its config."""

import pickle

from modelyard.config import Settings
from modelyard.serving.protocol import LimitedHttpToolsProtocol, protocol_for


def test_the_protocol_with_its_settings_survives_pickling() -> None:
    settings = Settings(header_timeout_seconds=3, body_timeout_seconds=4, max_connections=5)
    factory = pickle.loads(pickle.dumps(protocol_for(settings)))
    assert factory.func is LimitedHttpToolsProtocol  # type: ignore[attr-defined]
    assert factory.keywords == {  # type: ignore[attr-defined]
        "header_timeout": 3.0,
        "body_timeout": 4.0,
        "max_connections": 5,
    }
