"""Uploaded files judged by their content (issue 9: never by their name)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile


def sniff_upload(upload: UploadedFile[bytes], signatures: dict[bytes, str]) -> str | None:
    """What `signatures` says of the upload's first bytes (never its name), or None."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return next((value for signature, value in signatures.items() if head.startswith(signature)), None)
