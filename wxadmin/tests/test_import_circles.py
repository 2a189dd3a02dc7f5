"""The project's modules import one another in one direction (issue 21)."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_circles.py"


def load_script():
    spec = importlib.util.spec_from_file_location("import_circles", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_circle_but_the_listed_ones():
    """Every circle (deferred imports included) is listed in ALLOWED with its reason."""
    script = load_script()
    unexpected = [sorted(group) for group in script.circles() if group not in script.ALLOWED]
    assert unexpected == []


def test_the_circle_finder_sees_a_deferred_import_circle(tmp_path, monkeypatch):
    """The finder itself: two modules importing each other, one of them inside a function."""
    package = tmp_path / "circular_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from circular_pkg import second\n")
    (package / "second.py").write_text("def late():\n    from circular_pkg import first\n")
    (package / "third.py").write_text("import circular_pkg.first\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_script().circles(["circular_pkg"]) == [
        frozenset({"circular_pkg.first", "circular_pkg.second"})
    ]
