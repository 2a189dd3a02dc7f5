"""WeChat's API in the sandbox, one module per area (tokens, menus, customer_service,
media, custom_messages, quota, ...), each registering its endpoints with ``api_route`` /
``route`` and keeping its own per-account state (``AppState.area_state``).

Every module of this package is imported here when the package is, so a new area is a
new file and nothing else (modules whose names start with ``_`` are left alone). An
area that fails to import fails the sandbox's import: nothing is skipped quietly.
The area's client functions are in ``wechat/api/<area>.py``.
"""

from __future__ import annotations

import importlib
import pkgutil


def _load_areas() -> tuple[str, ...]:
    names = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names


#: The area modules loaded (their names, sorted): their routes are in ``http.ROUTES``.
AREAS = _load_areas()
