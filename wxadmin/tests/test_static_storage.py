"""wxadmin/storage.py: production's collectstatic compresses a file once, not on every run
(issue 21: with Brotli installed, ~40 s of CPU on each `make serve`, release and production
stack test; gzip alone, ~2 s). Runs with or without the brotli package."""

import gzip
import os

import pytest
from django.contrib.staticfiles import finders, storage
from django.core.management import call_command
from django.utils.functional import empty

from wxadmin.storage import ReusingCompressor


@pytest.fixture
def collect(settings, tmp_path, monkeypatch):
    source, root = tmp_path / "source", tmp_path / "static"
    (source / "site").mkdir(parents=True)
    (source / "site" / "base.css").write_text("body { background: url('dot.png'); }\n" * 50)
    (source / "site" / "dot.png").write_bytes(b"\x89PNG not really")
    (source / "site" / "app.js").write_text("console.log('hello');\n" * 100)
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "wxadmin.storage.StaticFilesStorage"},
    }
    compressed = []
    for method in ("compress_gzip", "compress_brotli"):  # each compression, whichever is used
        original = getattr(ReusingCompressor, method)

        def counted(data: bytes, original=original) -> bytes:
            compressed.append(data)
            return original(data)

        monkeypatch.setattr(ReusingCompressor, method, staticmethod(counted))

    def run() -> int:
        finders.get_finder.cache_clear()
        storage.staticfiles_storage._wrapped = empty  # the settings' storage, afresh
        compressed.clear()
        call_command("collectstatic", interactive=False, verbosity=0)
        return len(compressed)

    yield source, root, run
    finders.get_finder.cache_clear()
    storage.staticfiles_storage._wrapped = empty


try:  # WhiteNoise writes .br copies only when the brotli package is installed
    import brotli
except ImportError:
    brotli = None


def _compressed_copies(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix in (".br", ".gz"))


def test_a_second_run_compresses_nothing_and_leaves_the_same_files(collect):
    _source, root, run = collect
    assert run() >= 4  # base.css, app.js and their hashed names (the PNG is not compressed)
    copies = _compressed_copies(root)
    assert any(name.startswith("site/base.") and name.endswith(".css.gz") for name in copies)
    before = {name: (root / name).read_bytes() for name in copies}
    assert run() == 0
    assert {name: (root / name).read_bytes() for name in _compressed_copies(root)} == before


def test_a_changed_file_is_compressed_again_under_both_names(collect):
    source, root, run = collect
    run()
    css = source / "site" / "base.css"
    css.write_text("body { color: red; background: url('dot.png'); }\n" * 50)
    os.utime(css, (css.stat().st_atime, css.stat().st_mtime + 5))
    assert run() >= 2  # base.css and its new hashed name; app.js is left alone
    served = (root / "site" / "base.css").read_bytes()
    assert b"color: red" in served
    assert gzip.decompress((root / "site" / "base.css.gz").read_bytes()) == served
    hashed = storage.staticfiles_storage.stored_name("site/base.css")
    assert gzip.decompress((root / (hashed + ".gz")).read_bytes()) == (root / hashed).read_bytes()
    if brotli is not None:
        assert brotli.decompress((root / "site" / "base.css.br").read_bytes()) == served
        assert brotli.decompress((root / (hashed + ".br")).read_bytes()) == (root / hashed).read_bytes()
