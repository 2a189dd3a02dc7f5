"""The sandbox stands beside `wechat` (issue 16): it may import `wechat`, never the reverse,
and it loads its endpoint modules by plain imports."""

import ast
from pathlib import Path

import wechat
import wechat_sandbox


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


def test_the_sandbox_loads_no_module_by_name():
    modules = imported_modules(Path(wechat_sandbox.__file__).parent, skip_tests=True)
    assert modules
    assert {path for path, names in modules.items() if "importlib" in names} == set()


def test_every_endpoint_module_is_registered_on_import():
    sandbox = wechat_sandbox.Sandbox()
    handler, _ = sandbox.routes.match("POST", "/sandbox/simulate/wx0123456789abcdef")
    assert handler is not None and handler.__module__ == "wechat_sandbox.simulate"
    handler, _ = sandbox.routes.match("GET", "/cgi-bin/token")
    assert handler is not None and handler.__module__ == "wechat_sandbox.api"
