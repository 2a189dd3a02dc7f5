"""Private downloads: certification documents are served only to permitted staff."""

import mimetypes

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from accounts.scoping import require_account_access

from .models import Order, OrderDocument


def _serve(request, field_file, account, filename: str):
    if not request.user.has_perm("certification.view_order"):
        raise PermissionDenied
    require_account_access(request.user, account)
    if not field_file:
        raise Http404
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_member_required
def document_download(request, pk: int):
    """A checklist file, for staff who may view orders of the document's account."""
    document = get_object_or_404(OrderDocument.objects.select_related("order__account"), pk=pk)
    name = document.original_name or (document.file.name or "").rsplit("/", 1)[-1]
    return _serve(request, document.file, document.order.account, name)


@staff_member_required
def deposit_download(request, pk: int):
    """R-CERT-03: the micro-deposit receipt, same permission as the order."""
    order = get_object_or_404(Order.objects.select_related("account"), pk=pk)
    name = (order.deposit_receipt.name or "").rsplit("/", 1)[-1] if order.deposit_receipt else ""
    return _serve(request, order.deposit_receipt, order.account, name)
