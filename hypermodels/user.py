"""A user's own code: the function or HyperModel `--model` and `--hypermodel` name.

`FILE.py:NAME` imports a file by its path, `package.module:NAME` a module on the Python
path; every process of a search imports it again by the same name. An object handed to
`tuning.tune` from a notebook cell has no file to import: it is registered here under a
name, and only the process that holds it can train it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

# Objects handed over in this process, by the name they go by (`notebook:NAME`).
REGISTERED: dict[str, object] = {}
NOTEBOOK = "notebook"


def is_spec(text: str) -> bool:
    """Whether `text` names user code (`FILE.py:NAME` or `package.module:NAME`)."""
    target, sep, name = text.rpartition(":")
    return bool(sep and target and name)


def load(spec: str) -> tuple[object, dict]:
    """The object `spec` names, and where it came from: its spec, file and the file's sha256.

    Raises:
        ValueError: in one line: the spec is malformed, the file or module or name does not
            exist, or importing it raised.
    """
    if spec in REGISTERED:
        return REGISTERED[spec], {"spec": spec, "file": None, "sha256": None}
    target, sep, name = spec.rpartition(":")
    if not (sep and target and name):
        raise ValueError(f"{spec}: expected FILE.py:NAME or package.module:NAME")
    if target == NOTEBOOK:
        raise ValueError(
            f"{spec} was defined in a notebook of another session; pass the same object to "
            "tuning.tune again to resume"
        )
    module, path = (
        import_file(spec, Path(target)) if target.endswith(".py") else import_module(spec, target)
    )
    try:
        found = getattr(module, name)
    except AttributeError:
        raise ValueError(f"{spec}: {path} defines no {name}") from None
    return found, {"spec": spec, "file": str(path), "sha256": file_digest(path)}


def import_file(spec: str, path: Path) -> tuple[object, Path]:
    """Import a Python file by its path, under a module name made from its digest."""
    if not path.is_file():
        raise ValueError(f"{spec}: no file {path}")
    name = f"user_model_{file_digest(path)[:16]}"
    if name in sys.modules:  # the same bytes imported before in this process
        return sys.modules[name], path
    found = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module
    try:
        found.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise ValueError(f"{spec}: importing {path} raised {one_line(e)}") from None
    return module, path


def import_module(spec: str, target: str) -> tuple[object, Path]:
    """Import a module on the Python path; its file is what a resume checks."""
    try:
        module = importlib.import_module(target)
    except ModuleNotFoundError as e:
        raise ValueError(f"{spec}: no module {e.name} on the Python path") from None
    except Exception as e:
        raise ValueError(f"{spec}: importing {target} raised {one_line(e)}") from None
    return module, Path(module.__file__)


def register(obj: object) -> str:
    """The spec an object passed from Python goes by: its module's, if others can import it.

    An object defined in a script or a notebook cell (`__main__`) has no module another
    process could import; it is registered as `notebook:NAME` in this process instead.
    """
    name = getattr(obj, "__qualname__", None) or type(obj).__name__
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    importable = (
        module is not None
        and module.__name__ != "__main__"
        and getattr(module, "__file__", None)
        and "." not in name
        and getattr(module, name, None) is obj
    )
    if importable:
        return f"{module.__name__}:{name}"
    spec = f"{NOTEBOOK}:{name}"
    REGISTERED[spec] = obj
    return spec


def in_this_process_only(spec: str | None) -> bool:
    """Whether the code `spec` names exists only in this process (defined in a notebook)."""
    return spec is not None and spec.startswith(f"{NOTEBOOK}:")


def file_digest(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(error: BaseException) -> str:
    """`NameError: name 'x' is not defined`: an exception as one line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
