"""The sandbox stands beside `wechat` (issue 16): it may import `wechat`, never the reverse.
Its endpoint modules are imported plainly, except the WeChat areas (issue 21): every module
of `wechat_sandbox/areas/` is found and imported when that package is, in that one place,
with nothing swallowed, so a new area is a new file."""

import ast
import pkgutil
import sys
from pathlib import Path

import wechat
import wechat_sandbox
from wechat_sandbox import areas


def imported_modules(package_dir: Path, skip_tests: bool = False) -> dict[str, set[str]]:
    """Every module each file under `package_dir` imports (absolute names as written)."""
    found: dict[str, set[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        if skip_tests and "tests" in path.relative_to(package_dir).parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(path)] = names
    return found


def test_wechat_never_imports_the_sandbox():
    modules = imported_modules(Path(wechat.__file__).parent)
    assert modules  # the walk found the package
    offenders = {
        path: sorted(name for name in names if name.split(".")[0] == "wechat_sandbox")
        for path, names in modules.items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_areas_package_loads_modules_by_name_and_it_swallows_nothing():
    package = Path(wechat_sandbox.__file__).parent
    modules = imported_modules(package, skip_tests=True)
    assert modules
    assert {path for path, names in modules.items() if "importlib" in names} == {
        str(package / "areas" / "__init__.py")
    }
    tree = ast.parse((package / "areas" / "__init__.py").read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Try)]


def test_every_endpoint_module_is_registered_on_import():
    sandbox = wechat_sandbox.Sandbox()
    handler, _ = sandbox.routes.match("POST", "/sandbox/simulate/wx0123456789abcdef")
    assert handler is not None and handler.__module__ == "wechat_sandbox.simulate"
    handler, _ = sandbox.routes.match("GET", "/sandbox/state")
    assert handler is not None and handler.__module__ == "wechat_sandbox.control"
    handler, _ = sandbox.routes.match("GET", "/cgi-bin/token")
    assert handler is not None and handler.__module__ == "wechat_sandbox.areas.tokens"
    handler, _ = sandbox.routes.match("POST", "/cgi-bin/menu/create")
    assert handler is not None and handler.__module__ == "wechat_sandbox.areas.menus"


def test_every_file_in_areas_is_an_area_with_endpoints():
    found = {m.name for m in pkgutil.iter_modules(areas.__path__) if not m.name.startswith("_")}
    assert (
        set(areas.AREAS)
        == found
        >= {"tokens", "menus", "customer_service", "media", "custom_messages", "quota"}
    )
    sandbox = wechat_sandbox.Sandbox()
    handlers = list(sandbox.routes._exact.values()) + [h for _, _, h in sandbox.routes._patterns]
    with_routes = {
        h.__module__.rpartition(".")[2] for h in handlers if h.__module__.startswith(areas.__name__)
    }
    assert with_routes == found
    assert all(f"{areas.__name__}.{name}" in sys.modules for name in found)


def test_an_area_keeps_its_own_state_and_adds_it_to_the_state_endpoint(monkeypatch):
    from wechat_sandbox import core

    sandbox = wechat_sandbox.Sandbox(apps={"wx0123456789abcdef": {"secret": "s"}})
    app = sandbox.app("wx0123456789abcdef")
    app.area_state("example", list).append("made on first use")
    sandbox.register_app("wx0123456789abcdef", "s2")  # updating an account keeps runtime state
    assert app.area_state("example", list) == ["made on first use"]
    monkeypatch.setitem(core.STATE_SECTIONS, "example", lambda app: app.area_state("example", list))
    state = sandbox.state("wx0123456789abcdef")
    assert state["example"] == ["made on first use"]
    state["example"].append("a copy")
    assert app.area_state("example", list) == ["made on first use"]


def test_a_second_handler_for_one_endpoint_is_refused_at_registration():
    """Two areas answering one (method, path) would leave one silently dead (it happened to
    ``user/tag/get``): the route table refuses the second, naming both, whether the path is
    exact or has parameters, and for the shared table (``@route``/``api_route`` at import)
    as for one sandbox's own endpoints."""
    import pytest

    from wechat_sandbox.endpoints import api_route
    from wechat_sandbox.http import ROUTES, DuplicateRoute, RouteTable, route

    def first(sb, request):
        return {}

    def second(sb, request):
        return {}

    table = RouteTable()
    table.add("POST", "/cgi-bin/x", first)
    with pytest.raises(DuplicateRoute, match=r"first.*second"):
        table.add(("GET", "POST"), "/cgi-bin/x", second)
    assert table.match("POST", "/cgi-bin/x")[0] is first
    assert table.match("GET", "/cgi-bin/x")[0] is second  # the method before the clash was free
    table.add("GET", "/cgi-bin/p/<appid>", first)
    with pytest.raises(DuplicateRoute):
        table.add("GET", "/cgi-bin/p/<appid>", second)
    table.add("POST", "/cgi-bin/x", second, replace=True)  # a deliberate stand-in
    assert table.match("POST", "/cgi-bin/x")[0] is second

    before = ROUTES.copy()
    with pytest.raises(DuplicateRoute, match="menus"):
        route("POST", "/cgi-bin/menu/create")(second)  # an area module that would re-register it
    with pytest.raises(DuplicateRoute):
        api_route("POST", "/cgi-bin/user/tag/get")(lambda sb, request, app: {})
    assert ROUTES._exact == before._exact and ROUTES._patterns == before._patterns

    sandbox = wechat_sandbox.Sandbox()
    with pytest.raises(DuplicateRoute):
        sandbox.add_route("POST", "/cgi-bin/menu/create", second)
    sandbox.add_route("POST", "/cgi-bin/menu/create", second, replace=True)
    assert sandbox.routes.match("POST", "/cgi-bin/menu/create")[0] is second
