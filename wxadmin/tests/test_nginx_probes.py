"""Issue 22 §6: the shipped nginx site hides /readyz and /metrics in every spelling Django
answers (wxadmin/health.py matches the path with its trailing slashes stripped)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory

from wxadmin.health import ENDPOINTS

CONF = Path(settings.BASE_DIR) / "deploy" / "nginx" / "wxadmin.conf"
HIDDEN = ("/readyz", "/metrics")


def nginx_404_patterns() -> list[re.Pattern]:
    """The regex locations of the HTTPS server that answer 404 (PCRE, as nginx reads them)."""
    found = re.findall(r"location\s+~\s+(\S+)\s*\{\s*return 404;", CONF.read_text())
    exact = re.findall(r"location\s+=\s+(\S+)\s*\{\s*return 404;", CONF.read_text())
    return [re.compile(p) for p in found] + [re.compile("^" + re.escape(p) + "$") for p in exact]


def spellings(path: str) -> list[str]:
    return [path, path + "/", path + "//", path + "///"]


@pytest.mark.parametrize("path", [s for p in HIDDEN for s in spellings(p)])
def test_nginx_hides_every_spelling_django_answers(path):
    request = RequestFactory().get(path)
    answered = ENDPOINTS.get(request.path_info.rstrip("/") or "/")
    assert answered is not None  # Django would answer it…
    assert any(p.search(path) for p in nginx_404_patterns()), path  # …so nginx must hide it


def test_the_public_pages_still_pass():
    for path in ("/admin/", "/wechat/wx0123/", "/healthz", "/readyzz", "/static/readyz"):
        assert not any(p.search(path) for p in nginx_404_patterns()), path
