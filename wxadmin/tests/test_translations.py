"""The zh-hans catalogues are complete: every user-facing string has a Chinese translation.

makemessages runs on a copy of the project, so strings added to the code but
missing from a catalogue are caught too; and each compiled .mo matches its .po.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in listed.splitlines() if line and (ROOT / line).is_file()]


def catalogues(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts)


def untranslated(po_path: Path) -> list[str]:
    return [
        entry.msgid
        for entry in polib.pofile(str(po_path))
        if not entry.obsolete and (not entry.translated() or "fuzzy" in entry.flags)
    ]


@pytest.mark.slow
def test_every_string_in_the_code_has_a_chinese_translation(tmp_path):
    copy = tmp_path / "project"
    for name in project_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "--ignore=bench",
            "--ignore=.venv",
            "--ignore=test-artifacts",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    missing = {str(po.relative_to(copy)): untranslated(po) for po in catalogues(copy)}
    missing = {path: ids for path, ids in missing.items() if ids}
    assert not missing, f"untranslated or fuzzy entries: {missing}"


@pytest.mark.parametrize("po_path", catalogues(ROOT), ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_matches_its_source(po_path):
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run `make messages`"
    # keyed by context too: one msgid may be translated differently in two contexts
    compiled = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in polib.mofile(str(mo_path))}
    source = {
        (entry.msgctxt, entry.msgid): entry.msgstr
        for entry in polib.pofile(str(po_path))
        if entry.translated() and "fuzzy" not in entry.flags
    }
    assert compiled == source, f"{mo_path} is stale: run `make messages`"
