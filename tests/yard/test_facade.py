"""``Yard`` is a facade: each public method is one service's method, documented as such."""

from __future__ import annotations

import inspect
import pydoc
from pathlib import Path

from modelyard import Yard
from modelyard.yard.delegate import delegate

SERVICES = ("registry", "tracking", "traffic", "experiments", "monitor", "admin")


def test_every_facade_method_is_a_service_method(tmp_path: Path) -> None:
    with Yard(tmp_path / "home") as yard:
        delegated = {name: attr for name, attr in vars(Yard).items() if isinstance(attr, delegate)}
        assert len(delegated) > 60
        for name, attr in delegated.items():
            assert attr.service in SERVICES, name
            service = getattr(yard, attr.service)
            assert getattr(type(service), name) is attr.method, name
            assert inspect.signature(getattr(yard, name)) == inspect.signature(
                getattr(service, name)
            ), name
        assert yard.list_models() == []  # a call goes through to the service


def test_help_on_the_facade_shows_each_method_and_its_docstring() -> None:
    text = pydoc.render_doc(Yard, renderer=pydoc.plaintext)
    assert "the registry service's register" in text
    assert "Save ``model`` as the next version" in text
