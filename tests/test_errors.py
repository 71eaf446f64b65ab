"""Every error the product raises on purpose is a VitrineError from core/errors.py, so the pages and the
command line can catch one type and show its message."""
import ast
import inspect
from pathlib import Path

from core import errors
from core.locations import REPO_ROOT


def test_every_error_class_derives_from_the_one_base():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(classes) > 5
    assert all(issubclass(c, errors.VitrineError) for c in classes)


def test_no_other_module_defines_its_own_exception():
    defined_elsewhere = []
    for path in sorted((REPO_ROOT / "core").rglob("*.py")) + sorted((REPO_ROOT / "pages").rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "").endswith(("Error", "Exception"))
                                                      for b in node.bases):
                defined_elsewhere.append(f"{Path(path).relative_to(REPO_ROOT)}:{node.name}")
    assert defined_elsewhere == []
