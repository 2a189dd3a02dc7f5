"""Production's static files storage: WhiteNoise's, without compressing a file twice (issue 21).

`collectstatic` with WhiteNoise's `CompressedManifestStaticFilesStorage` writes a gzip copy (and
a Brotli one when the brotli package is installed) of every one of the ~1,100 static files each
time it runs, whether or not the file changed: with Brotli about 40 s of CPU on every
`make serve` or release (Brotli at its highest quality), gzip alone about 3.5 s.

Here a compressed copy is kept when it must hold the same bytes: its source's name carries the
hash of its content (`base.3f2a9c81b0de.css`: the manifest storage re-saves those files on
every run, with a new modification time but the same bytes), or the source still has the
modification time WhiteNoise gave the copy. Only new or changed files are compressed; the files
written are the same as WhiteNoise's.
"""

from __future__ import annotations

import os
import re
from typing import Any

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

# ManifestFilesMixin's names: `<name>.<first 12 hex digits of the content's MD5>.<ext>`
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}(\.[^./]+)?$")


class ReusingCompressor(Compressor):  # type: ignore[misc]  # whitenoise ships no types
    def compress(self, path: str) -> list[str]:
        suffixes = [s for s, used in ((".br", self.use_brotli), (".gz", self.use_gzip)) if used]
        hashed = HASHED_NAME.search(os.path.basename(path)) is not None

        mtime = os.stat(path).st_mtime
        kept = []
        for suffix in suffixes:
            try:
                copy_mtime = os.stat(path + suffix).st_mtime
            except FileNotFoundError:
                break
            if hashed or abs(copy_mtime - mtime) < 1e-3:
                kept.append(path + suffix)
        if suffixes and len(kept) == len(suffixes):
            return kept
        compressed: list[str] = super().compress(path)
        return compressed


class StaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    def create_compressor(self, **kwargs: Any) -> Compressor:
        return ReusingCompressor(**kwargs)
