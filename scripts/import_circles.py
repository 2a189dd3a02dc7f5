"""Import circles among the project's modules (issue 21): `python scripts/import_circles.py`.

A circle is a set of modules that import one another, directly or through others, counting
deferred (function-level) imports and leaving out `if TYPE_CHECKING:` ones and tests. Circles are
what import-linter's layer contract cannot see: they sit inside one package. Each one found is
printed; `wxadmin/tests/test_import_circles.py` fails on any circle not in `ALLOWED`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("wxadmin", "core", "wechat", "wechat_sandbox", "accounts", "menus", "certification", "messaging")

#: Known circles, each with its reason. Shrink it; never grow it without one.
ALLOWED: dict[frozenset[str], str] = {
    frozenset({"menus.services", "menus.tasks"}): (
        "the publication services queue `tasks.publish_version` (a deferred import) and the task "
        "calls the services back; splitting the worker-side publication out of services.py waits "
        "for the queueing rework of issue 23"
    ),
    frozenset({"messaging.conversations.delivery", "messaging.conversations.tasks"}): (
        "the reply sweep (issue 23) queues `tasks.outbound_deliver_task` again from delivery.py, "
        "which the task runs; the sweep belongs in a module of its own that tasks.py does not import"
    ),
    frozenset({"notifications.services", "notifications.tasks"}): (
        "a send's services queue `tasks.run_send` (a deferred import) and the task calls the "
        "services back, as in menus"
    ),
    frozenset({"content.mass.services", "content.mass.tasks"}): (
        "a mass send's services queue `tasks.run_mass_send` (a deferred import, `enqueue`) and the "
        "task calls `run_send` back, as in menus and notifications"
    ),
}


def installed_packages() -> list[str]:
    """The project's packages, and any app added since (a top-level folder with apps.py)."""
    found = set(PACKAGES) | {path.parent.name for path in ROOT.glob("*/apps.py")}
    return sorted(found)


def circles(packages: list[str] | None = None) -> list[frozenset[str]]:
    """Every strongly connected group of more than one module, tests and migrations left out."""
    graph = grimp.build_graph(*(packages or installed_packages()), exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if ".tests" not in m and ".migrations" not in m)
    known = set(modules)
    edges = {m: sorted(n for n in graph.find_modules_directly_imported_by(m) if n in known) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for module in modules:
        if module not in index:
            visit(module)
    return found


def main() -> int:
    sys.path.insert(0, str(ROOT))
    found = circles()
    unexpected = [group for group in found if group not in ALLOWED]
    print(f"import circles: {len(found)} ({len(unexpected)} not allowed)")
    for group in found:
        reason = ALLOWED.get(group, "NOT ALLOWED")
        print(f"  {' ↔ '.join(sorted(group))}: {reason}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main())
