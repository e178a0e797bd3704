"""Hand-made ``.skops`` archives, as an attacker makes them: a real ``skops.io.dumps``
output whose ``schema.json`` gains a node naming a function."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

# exec()s its first argument: the function the first crafted file was made with.
RUNSTRING = "numpy.testing._private.utils.runstring"

Node = dict[str, Any]


def json_node(value: object) -> Node:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def _list(items: list[Node], loader: str = "ListNode", cls: str = "list") -> Node:
    return {"__class__": cls, "__module__": "builtins", "__loader__": loader, "content": items}


def empty_dict_node() -> Node:
    return {
        "__class__": "dict",
        "__module__": "builtins",
        "__loader__": "DictNode",
        "content": {},
        "key_types": _list([]),
    }


def named_node(qualified: str, loader: str, *args: Node) -> Node:
    """A node of kind ``loader`` naming ``module.name``; a reduce node calls it with args."""
    module, _, name = qualified.rpartition(".")
    node: Node = {"__class__": name, "__module__": module, "__loader__": loader}
    if loader == "ConstructorFromReduceNode":
        node["content"] = _list(list(args), "TupleNode", "tuple")
    return node


def touch_code(marker: Path) -> str:
    return f"import pathlib; pathlib.Path({str(marker)!r}).touch()"


def touching(marker: Path) -> Node:
    """A reduce node that, if skops ever built it, would create ``marker``."""
    return named_node(
        RUNSTRING, "ConstructorFromReduceNode", json_node(touch_code(marker)), empty_dict_node()
    )


def planted(
    data: bytes, node: Node, *, attribute: str = "verbose", as_key_type: bool = False
) -> bytes:
    """``data`` (a dump of an estimator) with ``node`` as the value of one of its attributes,
    or as the first key type of its attribute dict (skops calls key types on the keys)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    attributes = schema["content"]
    if as_key_type:
        attributes["key_types"]["content"][0] = node
    else:
        attributes["content"][attribute] = node
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(
                name, json.dumps(schema) if name == "schema.json" else source.read(name)
            )
    return out.getvalue()
