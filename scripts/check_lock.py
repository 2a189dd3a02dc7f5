"""Fail when a lock file no longer pins what requirements*.txt ask for (run by `make install`).

requirements.txt and requirements-dev.txt name the direct dependencies; requirements.lock and
requirements-dev.lock (written by `make lock`) pin them and everything they pull in. Editing a
.txt without `make lock` would otherwise install the old versions without a word.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
PAIRS = [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of each `name==version` line, following `-r other.txt`."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
        elif match := PIN.match(line):
            found[normalise(match[1])] = match[2]
    return found


def problems() -> list[str]:
    out = []
    for wanted_file, lock_file in PAIRS:
        locked = pins(ROOT / lock_file)
        for name, version in sorted(pins(ROOT / wanted_file).items()):
            if locked.get(name) != version:
                got = locked.get(name, "nothing")
                out.append(f"{wanted_file} asks for {name}=={version}, {lock_file} pins {got}")
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    out += [
        f"requirements.lock pins {name}=={version}, requirements-dev.lock {dev.get(name, 'nothing')}"
        for name, version in sorted(runtime.items())
        if dev.get(name) != version
    ]
    return out


if __name__ == "__main__":
    if found := problems():
        sys.exit("\n".join([*found, "The lock files are stale: run `make lock`."]))
