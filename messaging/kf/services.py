"""Requests that change the customer-service team (R-KF-01, R-KF-02): checked here, stored
as a KfOperation, and run against the API by `kf.tasks.kf_operation_run` after the commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from core.domain_errors import DomainError
from core.queueing import enqueue_on_commit
from messaging.models import (
    KF_ACCOUNT_MAX_LENGTH,
    KF_ACCOUNTS_LIMIT,
    KF_NICKNAME_MAX_LENGTH,
    KfAccount,
    KfAccountStatus,
    KfOperation,
    KfOperationAction,
    KfOperationStatus,
    validate_kf_prefix,
)
from messaging.uploads import sniff_upload

from .tasks import kf_operation_run

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from core.typing import Actor


class KfError(DomainError, ValidationError):
    """A customer-service request that breaks a rule; the message says which and why."""


def kf_account_name(*, account: OfficialAccount, prefix: str) -> str:
    """R-KF-02: `prefix@wechatid`; the account needs a WeChat ID, the prefix ≤ 10 [A-Za-z0-9_]."""
    if not account.wechat_id:
        raise KfError(
            {
                "prefix": _(
                    "Set the official account's WeChat ID first: customer-service "
                    "accounts are named prefix@WeChat ID."
                )
            }
        )
    try:
        validate_kf_prefix(prefix)
    except ValidationError as exc:
        raise KfError({"prefix": exc.messages})
    name = f"{prefix}@{account.wechat_id}"
    if len(name) > KF_ACCOUNT_MAX_LENGTH:
        raise KfError(
            {
                "prefix": _("“%(name)s” is longer than %(max)d characters.")
                % {"name": name, "max": KF_ACCOUNT_MAX_LENGTH}
            }
        )
    return name


def _check_nickname(nickname: str) -> str:
    nickname = (nickname or "").strip()
    if not nickname:
        raise KfError({"nickname": _("Enter a nickname.")})
    if len(nickname) > KF_NICKNAME_MAX_LENGTH:
        raise KfError(
            {"nickname": _("The nickname is at most %(max)d characters.") % {"max": KF_NICKNAME_MAX_LENGTH}}
        )
    return nickname


def _enqueue(operation: KfOperation) -> None:
    """Queue the operation after the commit (core.queueing: a broker fault is logged and
    the operation stays pending, as written)."""
    enqueue_on_commit(kf_operation_run, operation.pk)


def kf_account_check_new(*, account: OfficialAccount, prefix: str, nickname: str) -> tuple[str, str]:
    """R-KF-01/R-KF-02: may this account get a customer-service account `prefix@wechatid`?

    Returns the full name and the cleaned nickname, or raises KfError naming the
    field: the plug-in must be enabled (certified service accounts only), the
    prefix ≤ 10 of [A-Za-z0-9_], the name unused, at most 100 accounts.
    """
    if not (account.kf_enabled and account.is_service and account.is_certified()):
        # R-KF-01 / R-POST-04: a lapsed certification stops new agents even before the
        # nightly sweep has switched the plug-in off.
        raise KfError(
            {
                "account": _(
                    "Enable the customer-service plug-in of this account first "
                    "(certified service accounts only)."
                )
            }
        )
    name = kf_account_name(account=account, prefix=prefix)
    nickname = _check_nickname(nickname)
    existing = KfAccount.objects.filter(account=account)
    if existing.filter(kf_account__iexact=name).exists():
        raise KfError({"prefix": _("“%(name)s” already exists.") % {"name": name}})
    if existing.count() >= KF_ACCOUNTS_LIMIT:
        raise KfError(
            {
                "prefix": _("An official account can have at most %(max)d customer-service accounts.")
                % {"max": KF_ACCOUNTS_LIMIT}
            }
        )
    return name, nickname


@transaction.atomic
def kf_account_add(*, account: OfficialAccount, prefix: str, nickname: str, by: Actor = None) -> KfOperation:
    """R-KF-02: request a new customer-service account; the API call runs in a task.

    The checks of kf_account_check_new run under a lock on the official account, so
    two concurrent requests cannot both take the 100th place.
    """
    OfficialAccount.objects.select_for_update().filter(pk=account.pk).first()
    name, nickname = kf_account_check_new(account=account, prefix=prefix, nickname=nickname)
    kf = KfAccount.objects.create(
        account=account, kf_account=name, nickname=nickname, status=KfAccountStatus.PENDING
    )
    operation = KfOperation.objects.create(
        account=account,
        kf=kf,
        kf_account=name,
        action=KfOperationAction.ADD,
        nickname=nickname,
        requested_by=by,
    )
    _enqueue(operation)
    return operation


def kf_check_added(kf: KfAccount) -> None:
    """R-KF-02: WeChat knows only accounts whose addition succeeded; changing another would
    answer 65401, so it is refused here with the reason."""
    if kf.status in (KfAccountStatus.FAILED, KfAccountStatus.PENDING):
        raise KfError(
            {
                "kf_account": _(
                    "“%(name)s” is not in WeChat yet (its addition is "
                    "pending or failed): retry adding it first."
                )
                % {"name": kf.kf_account}
            }
        )


@transaction.atomic
def kf_account_update(*, kf: KfAccount, nickname: str, by: Actor = None) -> KfOperation:
    """Request a nickname change (R-KF-02); applied locally once the API accepts it."""
    kf_check_added(kf)
    nickname = _check_nickname(nickname)
    operation = KfOperation.objects.create(
        account=kf.account,
        kf=kf,
        kf_account=kf.kf_account,
        action=KfOperationAction.UPDATE,
        nickname=nickname,
        requested_by=by,
    )
    _enqueue(operation)
    return operation


@transaction.atomic
def kf_account_delete(*, kf: KfAccount, by: Actor = None) -> KfOperation | None:
    """Request deletion; the row goes once the API confirms. An account whose addition
    failed was never in WeChat: its row goes at once and nothing is sent."""
    if kf.status == KfAccountStatus.FAILED:
        KfAccount.objects.filter(pk=kf.pk).delete()
        return None
    KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.DELETING)
    operation = KfOperation.objects.create(
        account=kf.account, kf=kf, kf_account=kf.kf_account, action=KfOperationAction.DELETE, requested_by=by
    )
    _enqueue(operation)
    return operation


AVATAR_MAX_BYTES = 2 * 1024 * 1024
#: What an avatar's first bytes must be (issue 9: checked by content, never by name).
AVATAR_SIGNATURES = {b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}


def kf_avatar_check(upload: UploadedFile[bytes]) -> str:
    """A KF avatar is a JPG or PNG of at most 2 MB, judged by its bytes: HTML renamed
    `.png` is refused. Returns the extension the content says (for the stored name)."""
    size = getattr(upload, "size", None)
    if size is None or size > AVATAR_MAX_BYTES:
        raise KfError({"avatar": _("The avatar is larger than 2 MB.")})
    extension = sniff_upload(upload, AVATAR_SIGNATURES)
    if extension is not None:
        return extension
    raise KfError({"avatar": _("The avatar must be a JPG or PNG image.")})


@transaction.atomic
def kf_account_upload_avatar(*, kf: KfAccount, upload: UploadedFile[bytes], by: Actor = None) -> KfOperation:
    """Request an avatar upload (jpg/png by content, ≤ 2 MiB; WeChat recommends 640×640 jpg)."""
    extension = kf_avatar_check(upload)
    kf_check_added(kf)
    operation = KfOperation(
        account=kf.account, kf=kf, kf_account=kf.kf_account, action=KfOperationAction.AVATAR, requested_by=by
    )
    operation.avatar.save(f"avatar{extension}", upload, save=False)
    operation.save()
    _enqueue(operation)
    return operation


@transaction.atomic
def kf_operation_retry(*, operation: KfOperation, by: Actor = None) -> KfOperation:
    """R-KF-02: run a failed operation again as a new one (the failed one stays on record).

    Retrying a failed addition puts its account back to "being added"; an operation
    whose account row is gone, or one that did not fail, is refused.
    """
    if operation.status != KfOperationStatus.FAILED:
        raise KfError(_("Only failed operations can be retried."))
    # pk=None (a sync has no account row) is valid Django and finds nothing; the stubs refuse None.
    kf = KfAccount.objects.select_for_update().filter(pk=operation.kf_id).first()  # type: ignore[misc]
    if operation.action != KfOperationAction.SYNC and kf is None:
        raise KfError(
            _("“%(name)s” no longer exists here; add it again instead.") % {"name": operation.kf_account}
        )
    under_way = KfOperation.objects.filter(
        account=operation.account, kf=kf, action=operation.action, status=KfOperationStatus.PENDING
    )
    if under_way.exists():
        raise KfError(
            _("“%(name)s”: the same operation is already under way.")
            % {"name": operation.kf_account or operation.account}
        )
    # Below, kf is None only for a sync (refused above otherwise).
    if operation.action == KfOperationAction.ADD:
        assert kf is not None
        if kf.status != KfAccountStatus.FAILED:
            raise KfError(_("“%(name)s” was added since; nothing to retry.") % {"name": operation.kf_account})
        KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.PENDING, last_error="")
    elif operation.action == KfOperationAction.DELETE:
        assert kf is not None
        KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.DELETING)
    elif operation.action != KfOperationAction.SYNC:
        assert kf is not None
        kf_check_added(kf)
    retry = KfOperation.objects.create(
        account=operation.account,
        kf=kf,
        kf_account=operation.kf_account,
        action=operation.action,
        nickname=operation.nickname,
        avatar=operation.avatar.name,
        requested_by=by,
    )
    _enqueue(retry)
    return retry


@transaction.atomic
def kf_accounts_request_sync(*, account: OfficialAccount, by: Actor = None) -> KfOperation:
    """Request a refresh of the team, online status and waiting queue from WeChat."""
    operation = KfOperation.objects.create(account=account, action=KfOperationAction.SYNC, requested_by=by)
    _enqueue(operation)
    return operation
