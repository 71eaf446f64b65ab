"""Every error the product raises on purpose is a VitrineError from core/errors.py, so the pages and the
command line can catch one type and show its message."""
import ast
import builtins
import inspect

from core import errors
from core.locations import REPO_ROOT


def test_every_error_class_derives_from_the_one_base():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(classes) > 5
    assert all(issubclass(c, errors.VitrineError) for c in classes)


# Names a class derives from to be an error: core/errors.py's classes and Python's own exceptions.
ERROR_BASES = {name for module in (errors, builtins) for name, value in vars(module).items()
               if isinstance(value, type) and issubclass(value, BaseException)}


def _base_name(base: ast.expr, aliases: dict[str, str]) -> str:
    """A base class's own name however it is written: ``errors.VitrineError``, ``VitrineError`` imported
    under another name, or ``Generic[...]``."""
    if isinstance(base, ast.Subscript):
        return _base_name(base.value, aliases)
    if isinstance(base, ast.Attribute):
        return base.attr
    return aliases.get(base.id, base.id) if isinstance(base, ast.Name) else ""


def _error_classes(source: str) -> list[str]:
    """The classes a module defines that derive from an exception (directly or through its own classes)."""
    tree = ast.parse(source)
    aliases = {alias.asname: alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.asname}
    found = []
    for node in ast.walk(tree):  # in source order: a module's own base class comes before its subclasses
        if isinstance(node, ast.ClassDef) and any(
                name in ERROR_BASES or name in found or name.endswith(("Error", "Exception"))
                for name in (_base_name(base, aliases) for base in node.bases)):
            found.append(node.name)
    return found


def test_no_other_module_defines_its_own_exception():
    sources = sorted((REPO_ROOT / "core").rglob("*.py")) + sorted((REPO_ROOT / "pages").rglob("*.py"))
    defined_elsewhere = [f"{path.relative_to(REPO_ROOT)}:{name}" for path in sources + [REPO_ROOT / "streamlit_app.py"]
                         if path != REPO_ROOT / "core" / "errors.py"
                         for name in _error_classes(path.read_text(encoding="utf-8"))]
    assert defined_elsewhere == []


def test_the_check_finds_an_error_class_however_its_base_is_written():
    source = """
from core import errors
from core.errors import VitrineError as Base, ScenarioUnavailableError
class Dotted(errors.VitrineError): ...
class Aliased(Base): ...
class Named(ScenarioUnavailableError): ...
class Builtin(KeyError): ...
class Local(Dotted): ...
class NotAnError(dict): ...
"""
    assert _error_classes(source) == ["Dotted", "Aliased", "Named", "Builtin", "Local"]
