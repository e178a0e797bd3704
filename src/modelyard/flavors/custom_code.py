"""A custom model's code, run from the bytes the store verified, in a namespace of its own.

Code files are never put on ``sys.path`` and the user's working directory is never searched:
each file is executed from its stored bytes as ``_modelyard_code_<digest>.<module>``, so two
versions with different code never share a module. Every import the code makes goes through
a guard: a module among the code files resolves to its copy in the namespace; anything else
must be the standard library, modelyard or an installed distribution, or the import fails
naming the module (a helper file left out of ``code=`` fails at registration, not later).
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import importlib.metadata
import importlib.util
import sys
import threading
import types
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidInput, NotFound
from modelyard.packages import package_version

CODE_DIR = "code/"
PREFIX = "_modelyard_code_"
_REAL_IMPORT = builtins.__import__
_LOCK = threading.RLock()  # module execution is one at a time, like the import system's


def collect_code(entries: Sequence[str | Path]) -> dict[str, bytes]:
    """``{"code/<file>": bytes}`` from ``.py`` files and package folders (their ``.py`` files)."""
    files: dict[str, bytes] = {}
    for entry in entries:
        path = Path(entry)
        if path.is_dir():
            found = {
                f"{CODE_DIR}{path.name}/{p.relative_to(path).as_posix()}": p
                for p in sorted(path.rglob("*.py"))
                if "__pycache__" not in p.parts
            }
            if f"{CODE_DIR}{path.name}/__init__.py" not in found:
                raise InvalidInput(f"code folder {path} is not a package (no __init__.py)")
        elif path.is_file() and path.suffix == ".py":
            found = {f"{CODE_DIR}{path.name}": path}
        elif not path.exists():
            raise NotFound(f"code file {path}: no such file or folder")
        else:
            raise InvalidInput(f"code file {path}: give .py files or package folders")
        for name, source in found.items():
            if name in files:
                raise InvalidInput(f"two code files would be module {module_name(name)!r}")
            files[name] = source.read_bytes()
    if not files:
        raise InvalidInput("a custom model needs its code: code=[the .py files that define it]")
    return files


def module_name(path: str) -> str:
    """``code/pkg/a.py`` → ``pkg.a``; ``code/pkg/__init__.py`` → ``pkg``."""
    parts = path[len(CODE_DIR) : -len(".py")].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def installed(top: str) -> bool:
    """Whether ``import top`` reaches the standard library, modelyard or an installed
    distribution (never a file that merely sits in the working directory)."""
    return (
        top in sys.stdlib_module_names
        or top in sys.builtin_module_names
        or top == "modelyard"
        or top in _distributions()
    )


def needed_packages(files: Mapping[str, bytes]) -> dict[str, str]:
    """The distributions the code imports, with their installed versions (for provenance);
    an import that is neither a code file nor installed is refused here, at registration."""
    own = {module_name(p).partition(".")[0] for p in files if p.startswith(CODE_DIR)}
    packages: dict[str, str] = {}
    for path, data in sorted(files.items()):
        if not path.startswith(CODE_DIR):
            continue
        try:
            tree = ast.parse(data, filename=path)
        except SyntaxError as exc:
            raise InvalidInput(f"{path}: line {exc.lineno}: {exc.msg}") from None
        for top in sorted(_imported(tree) - own):
            if top in sys.stdlib_module_names or top in sys.builtin_module_names:
                continue
            if not installed(top):
                raise InvalidInput(
                    f"{path} imports {top!r}, which is neither among the code files nor an "
                    "installed package; add it to code= or install it"
                )
            for dist in _distributions().get(top, [top]):
                packages[dist] = package_version(dist)
    return packages


def _imported(tree: ast.AST) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.partition(".")[0])
    return tops


class CodeNamespace:
    """One version's code modules, executed on first use from the verified bytes."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self._sources = {
            module_name(path): (path, data)
            for path, data in files.items()
            if path.startswith(CODE_DIR) and path.endswith(".py")
        }
        digest = hashlib.sha256()
        for _, (path, data) in sorted(self._sources.items()):
            digest.update(f"{path}\0{len(data)}\0".encode())
            digest.update(data)
        self.root = PREFIX + digest.hexdigest()[:20]
        self._tops = {name.partition(".")[0] for name in self._sources}
        self._packages = {n for n, (p, _) in self._sources.items() if p.endswith("/__init__.py")}
        self._builtins: dict[str, Any] = {**builtins.__dict__, "__import__": self._import}

    def logical(self, module: str) -> str | None:
        """The code module name of one of this namespace's modules (None: not one)."""
        return module[len(self.root) + 1 :] if module.startswith(f"{self.root}.") else None

    def find(self, reference: str) -> Any:
        """``module:Qual.name`` → the object, from the namespace's copy of the module."""
        module, _, qualname = reference.partition(":")
        if module not in self._sources:
            raise InvalidInput(
                f"{module!r} is not among the code files ({', '.join(self._sources)})"
            )
        found: Any = self.module(module)
        for part in qualname.split("."):
            found = getattr(found, part, None)
            if found is None:
                raise InvalidInput(f"{reference}: no {part!r} in module {module!r}")
        return found

    def module(self, name: str) -> types.ModuleType:
        full = f"{self.root}.{name}"
        with _LOCK:
            existing = sys.modules.get(full)
            if existing is not None:
                return existing
            if name not in self._sources:
                raise ModuleNotFoundError(f"no module {name!r} among the code files", name=name)
            parent = self.module(name.rpartition(".")[0]) if "." in name else self._root()
            path, data = self._sources[name]
            module = types.ModuleType(full)
            module.__file__ = path
            module.__package__ = full if name in self._packages else full.rpartition(".")[0]
            if name in self._packages:
                module.__path__ = []
            module.__dict__["__builtins__"] = self._builtins
            sys.modules[full] = module
            try:
                exec(compile(data, path, "exec", dont_inherit=True), module.__dict__)
            except BaseException:
                del sys.modules[full]
                raise
            setattr(parent, name.rpartition(".")[2], module)
            return module

    def _root(self) -> types.ModuleType:
        root = sys.modules.get(self.root)
        if root is None:
            root = sys.modules[self.root] = types.ModuleType(self.root)
            root.__path__ = []
        return root

    def _import(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Iterable[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        """The code's ``__import__``: its own modules from the namespace, others only when
        installed."""
        logical = name
        if level:
            package = str((globals or {}).get("__package__") or "")
            relative = importlib.util.resolve_name("." * level + name, package)
            logical = self.logical(relative) or ""
            if not logical:
                raise ImportError(f"relative import {'.' * level}{name} leaves the code files")
        top = logical.partition(".")[0]
        if top in self._tops:
            target = self.module(logical)
            for item in fromlist or ():
                if f"{logical}.{item}" in self._sources:
                    self.module(f"{logical}.{item}")
            return target if fromlist else self.module(top)
        if not installed(top):
            raise ModuleNotFoundError(
                f"module {top!r} is not among the code files or installed packages", name=top
            )
        return _REAL_IMPORT(name, globals, locals, fromlist or (), 0)  # type: ignore[arg-type]
