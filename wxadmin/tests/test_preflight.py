"""`make serve` refuses to start, naming every missing required variable, before starting anything."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "SECRET_KEY": "k3J9-x0Qv_7mZp2LrT8sWy4BnHc6DfGa1EeUi5OoNjKlMqRsVtXz",
    "ALLOWED_HOSTS": "wxadmin.example.com",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0=",
}


def serve(env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in REQUIRED and not k.startswith("DJANGO_")}
    return subprocess.run(
        ["bash", "scripts/serve.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "METRICS_DIR": str(tmp_path / "m"), **env},
    )


def test_serve_names_every_missing_variable_and_starts_nothing(tmp_path):
    result = serve({"ALLOWED_HOSTS": REQUIRED["ALLOWED_HOSTS"]}, tmp_path)
    assert result.returncode == 2
    assert "missing required variable: SECRET_KEY" in result.stderr
    assert "missing required variable: FIELD_ENCRYPTION_KEYS" in result.stderr
    assert "ALLOWED_HOSTS" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists()  # stopped before preparing or starting anything


def test_preflight_reports_a_bad_value_without_a_traceback(tmp_path):
    result = serve({**REQUIRED, "CONN_MAX_AGE": "sixty"}, tmp_path)
    assert result.returncode == 2
    assert "invalid setting (ValueError)" in result.stderr and "sixty" in result.stderr
    assert "Traceback" not in result.stderr
