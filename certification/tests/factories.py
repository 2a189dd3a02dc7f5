"""Helpers that build certification orders at a given step through the real services."""

import datetime
import functools
import itertools

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory
from certification.models import ItemKind, Order, OrderStatus, ReviewCompany
from certification.services.application_data import order_update_data
from certification.services.checklist import document_upload
from certification.services.creation import order_create
from certification.services.steps import (
    order_accept_naming_rules,
    order_accept_service_agreement,
    order_choose_invoice,
    order_complete_data,
)
from certification.services.submission import order_pay

PDF = b"%PDF-1.4\n% test document\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf(name="scan.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


SEED_MIGRATION = ("certification", "0002_seed_review_companies")


@functools.cache
def _seed_migration():
    """The seed migration's RunPython code and the historical apps it runs on (loaded
    and rendered once: that takes a moment)."""
    from django.db import connection
    from django.db.migrations import RunPython
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    operations = loader.get_migration(*SEED_MIGRATION).operations
    assert all(isinstance(operation, RunPython) for operation in operations)
    return loader.project_state(SEED_MIGRATION, at_end=False).apps, [op.code for op in operations]


def apply_seed_migration() -> None:
    """Apply the R-CERT-15 data migration once more, as `migrate` applies it (its own
    code on the historical models of its place in the graph). A transactional test
    elsewhere flushes every table of the reused test database, seeded rows included;
    the migration is idempotent."""
    apps, codes = _seed_migration()
    for code in codes:
        # What `RunPython.database_forwards` runs (without a schema editor, which
        # SQLite refuses inside the test's transaction).
        code(apps, None)


def review_company() -> ReviewCompany:
    """The first seeded company (seeded again if a transactional test flushed the table)."""
    if not ReviewCompany.objects.exists():
        apply_seed_migration()
    return ReviewCompany.objects.order_by("pk").first()


def make_account(*, staff=(), entity=None, **kwargs):
    entity = entity or EntityFactory()
    kwargs.setdefault("name", f"{entity.short_name or entity.full_name}服务号")
    return OfficialAccountFactory(entity=entity, assigned_staff=list(staff), **kwargs)


def fill_documents(order, *, by):
    for document in order.documents.all():
        if document.required and not document.is_present:
            if document.kind == ItemKind.FILE:
                name = "video.mp4" if document.code == "artist_video" else f"{document.code}.pdf"
                document_upload(document=document, by=by, uploaded=pdf(name))
            else:
                document_upload(document=document, by=by, value="填写的值")


_payments = itertools.count(1)


def transaction_id() -> str:
    """A fresh, well-formed 28-digit WeChat Pay transaction ID (微信支付订单号)."""
    return f"42000012342026{next(_payments):014d}"


STEPS = [
    OrderStatus.DRAFT,
    OrderStatus.AGREEMENTS_ACCEPTED,
    OrderStatus.DATA_FILLED,
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.IN_REVIEW,
]


def make_order(
    *,
    account=None,
    kind="initial",
    by=None,
    until=OrderStatus.DRAFT,
    invoice_type="vat_ordinary",
    now=None,
    **data,
) -> Order:
    """An order walked through the real services up to the `until` step."""
    by = by or UserFactory(groups=["Finance"])
    account = account or make_account(staff=[by])
    now = now or timezone.now()
    order = order_create(account=account, kind=kind, by=by, now=now, early_ok=True)
    target = STEPS.index(until)
    if target >= 1:
        order_accept_service_agreement(order=order, by=by, now=now)
        order_accept_naming_rules(order=order, by=by, now=now)
    if target >= 2:
        order.refresh_from_db()
        order.operator_name = data.pop("operator_name", "李四")
        for field, value in data.items():
            setattr(order, field, value)
        order_update_data(order=order, by=by, changed=["operator_name"])
        fill_documents(order, by=by)
        order_complete_data(order=order, by=by, now=now)
    if target >= 3:
        order_choose_invoice(
            order=order, by=by, invoice_type=invoice_type, mailing_address="深圳市南山区科技园 1 号", now=now
        )
    if target >= 4:
        order_pay(
            order=order,
            by=by,
            transaction_id=transaction_id(),
            paid_at=now - datetime.timedelta(minutes=5),
            review_company=review_company(),
            now=now,
        )
    order.refresh_from_db()
    return order
