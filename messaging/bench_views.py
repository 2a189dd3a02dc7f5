"""The two baselines of bench/callback_throughput.py, mounted only with WXADMIN_BENCH_VIEWS.

Both are ordinary Django views behind the full middleware stack, written the obvious
way with the project's own `wechat` crypto and parser, so that the benchmark compares
the callback with them on the same gunicorn in the same run (issue 13):

- **crypto-only**: check both signatures, decrypt, parse, a fixed text reply, encrypt;
  nothing is kept;
- **straightforward**: crypto-only plus a Redis `SET NX` on the MsgId and one plain
  ORM INSERT of the message with Django's default (synchronous) commit.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.models import OfficialAccount
from core import redis_clients
from wechat import crypto, replies
from wechat.messages import Message, parse_envelope, parse_message

from . import selectors
from .models import InboundMessage

#: the text both baselines answer (the benchmark's keyword reply, so every reply is checked alike)
BENCH_REPLY = "每天 9:00-21:00 营业，欢迎光临！"

_cryptos: dict[str, crypto.MessageCrypto] = {}


def _open(request: HttpRequest, appid: str) -> tuple[OfficialAccount, crypto.MessageCrypto, Message]:
    account = selectors.callback_account(appid)
    assert account is not None  # the benchmark's account exists
    params = request.GET
    crypto.check_signature(account.server_token, params["signature"], params["timestamp"], params["nonce"])
    message_crypto = _cryptos.get(appid)
    if message_crypto is None:
        message_crypto = _cryptos[appid] = crypto.MessageCrypto(
            account.server_token, account.encoding_aes_key, account.appid
        )
    envelope = parse_envelope(request.body)
    xml = message_crypto.decrypt_message(
        envelope["Encrypt"],
        msg_signature=params["msg_signature"],
        timestamp=params["timestamp"],
        nonce=params["nonce"],
    )
    return account, message_crypto, parse_message(xml)


def _reply(request: HttpRequest, message_crypto: crypto.MessageCrypto, message: Message) -> HttpResponse:
    xml = replies.text_reply(to_user=message.from_user, from_user=message.to_user, content=BENCH_REPLY)
    body = message_crypto.encrypt_reply(
        xml, timestamp=request.GET["timestamp"], nonce=crypto.random_nonce(10)
    )
    return HttpResponse(body, content_type="application/xml; charset=utf-8")


@csrf_exempt
def crypto_only(request: HttpRequest, appid: str) -> HttpResponse:
    _account, message_crypto, message = _open(request, appid)
    return _reply(request, message_crypto, message)


@csrf_exempt
def straightforward(request: HttpRequest, appid: str) -> HttpResponse:
    account, message_crypto, message = _open(request, appid)
    client = redis_clients.client(redis_clients.Purpose.TASKS)
    if client.set(f"wxadmin:bench:straightforward:{account.pk}:{message.dedupe_key}", 1, nx=True, ex=600):
        now = timezone.now()
        InboundMessage.objects.create(
            account=account,
            dedupe_key=message.dedupe_key,
            openid=message.from_user,
            msg_type=message.msg_type,
            content=message.summary,
            msg_id=getattr(message, "msg_id", None),
            sent_at=message.created_at,
            received_at=now,
            raw=message.raw,
        )
    return _reply(request, message_crypto, message)
