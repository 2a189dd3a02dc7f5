"""The systemd units in deploy/systemd pass `systemd-analyze verify`; the gunicorn config loads."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def test_systemd_units_verify(tmp_path):
    """Each unit, with /opt/wxadmin pointing at this checkout, verifies without a warning."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd); the units are unchecked")
    copies = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text().replace("/opt/wxadmin", str(ROOT))
        (tmp_path / unit.name).write_text(text)
        copies.append(str(tmp_path / unit.name))
    assert {Path(c).name for c in copies} >= {
        "wxadmin-web.service",
        "wxadmin-worker.service",
        "wxadmin-beat.service",
        "wxadmin.target",
    }
    result = subprocess.run(
        ["systemd-analyze", "verify", *copies], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    # Lines about units other than ours (the host's own) are not our business.
    ours = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if any(Path(c).name in line or c in line for c in copies)
    ]
    assert result.returncode == 0, result.stdout + result.stderr
    assert not ours, "\n".join(ours)


def test_beat_unit_is_documented_as_one_host_only():
    assert re.search(r"EXACTLY ONE host", (UNITS / "wxadmin-beat.service").read_text())


def test_gunicorn_config_loads_with_the_values_production_relies_on():
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(
        [str(gunicorn), "--print-config", "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "WEB_CONCURRENCY": "3"},
    )
    assert result.returncode == 0, result.stderr
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    assert config["wsgi_app"] == "wxadmin.wsgi:application"
    assert config["workers"] == "3"
    assert (config["worker_class"], config["threads"]) == ("gthread", "4")
    assert config["control_socket_disable"] == "True"  # several gunicorns on one host
    assert config["accesslog"] == "None"  # wxadmin.request logs requests, with request ids
    assert config["chdir"] == str(ROOT)
