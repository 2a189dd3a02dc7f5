"""Issue 23, point 4: one queueing mechanism. Every `.delay` / `.apply_async` /
`.send_task` in the code is listed by an AST scan — a call, and also a bare attribute
reference (`functools.partial(task.delay, …)`, `on_commit(task.delay)`) or a
`getattr(task, "delay")` — and only core/queueing.py may have one (everything else calls
`enqueue_on_commit` / `enqueue_now`). A broker that is down is reported on the ticket,
never raised at the caller."""

import ast
from pathlib import Path

import pytest

from core.queueing import QUEUE_DOWN_MESSAGE, QueueUnavailable, enqueue_now

ROOT = Path(__file__).resolve().parents[2]
QUEUE_METHODS = {"delay", "apply_async", "send_task"}
#: the one place allowed to hand work to the broker
ALLOWED = {Path("core/queueing.py")}
SKIP_PARTS = {".venv", "tests", "migrations", "node_modules", "bench", "testing"}


def queue_call_sites() -> list[tuple[Path, int, str]]:
    found = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if SKIP_PARTS & set(relative.parts) or relative.name == "conftest.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.extend(queue_references(tree, relative))
    return found


def queue_references(tree: ast.AST, relative: Path) -> list[tuple[Path, int, str]]:
    """Every `x.delay` / `x.apply_async` / `x.send_task` attribute (called or not) and
    every `getattr(x, "delay")`-style lookup in one module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in QUEUE_METHODS:
            found.append((relative, node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in QUEUE_METHODS
        ):
            found.append((relative, node.lineno, str(node.args[1].value)))
    return found


def test_the_scan_finds_call_sites():
    """The scan can fail: it sees the mechanism's own call."""
    assert any(path == Path("core/queueing.py") for path, _line, _attr in queue_call_sites())


@pytest.mark.parametrize(
    "source",
    [
        "task.delay(1)",
        "transaction.on_commit(functools.partial(task.delay, 1))",
        "transaction.on_commit(task.apply_async)",
        "queue = task.delay",
        "getattr(task, 'send_task')('x')",
    ],
)
def test_the_scan_sees_calls_and_bare_references(source):
    """A reference queues as surely as a call once something calls it (issue 23, point 4)."""
    assert queue_references(ast.parse(source), Path("x.py")), source


def test_the_scan_leaves_other_attributes_alone():
    assert not queue_references(ast.parse("sb.latency_ms = 100; time.sleep(delay)"), Path("x.py"))


def test_every_queue_call_goes_through_core_queueing():
    bypassing = [f"{path}:{line} .{attr}" for path, line, attr in queue_call_sites() if path not in ALLOWED]
    assert not bypassing, (
        "queue work with core.queueing.enqueue_on_commit / enqueue_now (row first, after the "
        f"commit, a broker fault said in words): {bypassing}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_is_reported_not_raised(settings):
    from core.testing.faults import free_port, point_broker_at
    from wxadmin.tasks import heartbeat

    original = point_broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        ticket = enqueue_now(heartbeat)
    finally:
        point_broker_at(original)
    assert ticket.failed and "Error" in ticket.error
    with pytest.raises(QueueUnavailable) as caught:
        ticket.raise_if_failed()
    assert caught.value.user_message == str(QUEUE_DOWN_MESSAGE)
