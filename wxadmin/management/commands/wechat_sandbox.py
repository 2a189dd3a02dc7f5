"""`manage.py wechat_sandbox`: serve the offline WeChat API (wechat_sandbox) on loopback."""

from __future__ import annotations

import os
import re

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils.translation import gettext as _

from wechat_sandbox import Sandbox

_APP_SPEC = re.compile(r"^(wx[0-9a-f]{16}):(\S+)\Z")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def account_options(account, *, callback_port: int | str) -> dict:
    """What the sandbox needs to know about one OfficialAccount (its callback is ours)."""
    return {
        "secret": str(account.appsecret),
        "token": str(account.server_token),
        "encoding_aes_key": str(account.encoding_aes_key),
        "message_mode": account.message_mode,
        "callback_url": f"http://127.0.0.1:{callback_port}/wechat/{account.appid}/",
        "original_id": account.original_id,
        "wechat_id": account.wechat_id or None,
        "certified": account.is_certified(),
        "kf_enabled": account.kf_enabled,
    }


def database_resolver(callback_port):
    """Look up AppIDs the sandbox does not know yet (accounts created after it started)."""

    def resolve(appid: str) -> dict | None:
        from accounts.fields import UndecryptableValue
        from accounts.models import OfficialAccount

        close_old_connections()
        try:
            account = OfficialAccount.objects.filter(appid=appid).first()
            return account_options(account, callback_port=callback_port) if account else None
        except UndecryptableValue:
            return None
        finally:
            close_old_connections()

    return resolve


class Command(BaseCommand):
    help = "Serve the offline WeChat API sandbox (tokens, menus, customer service) on loopback."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--app",
            action="append",
            default=[],
            metavar="APPID:SECRET",
            help="register an account (repeatable)",
        )
        parser.add_argument(
            "--from-db",
            action="store_true",
            help="register every official account of the project's database, "
            "with its credentials, message mode and callback URL",
        )
        parser.add_argument(
            "--callback-port",
            default=os.environ.get("PORT", "8000"),
            help="port of the Django server receiving callbacks (default $PORT or 8000)",
        )
        parser.add_argument(
            "--callback-base",
            default=None,
            help="where simulated users may be sent besides each account's "
            "registered callback (default http://127.0.0.1:CALLBACK_PORT)",
        )
        parser.add_argument(
            "--fail-rate", type=float, default=0.0, help="fraction of API calls answered with -1 system error"
        )
        parser.add_argument("--latency-ms", type=int, default=0, help="delay of every API call")
        parser.add_argument(
            "--token-ttl", type=int, default=7200, help="expires_in of new access tokens, in seconds"
        )
        parser.add_argument(
            "--overlap-seconds",
            type=int,
            default=300,
            help="how long a superseded classic token keeps working",
        )
        parser.add_argument(
            "--quota",
            action="append",
            default=[],
            metavar="API=N",
            help="daily quota of an API path, e.g. /cgi-bin/menu/create=100",
        )
        parser.add_argument(
            "--force-error",
            action="append",
            default=[],
            metavar="API:ERRCODE[:TIMES]",
            help="answer the next TIMES calls of API (or *) with ERRCODE (-1, 45009, drop, http502...)",
        )
        parser.add_argument(
            "--no-reply-window",
            action="store_true",
            help="let message/custom/send ignore the 48-hour reply window",
        )

    def _register_from_db(self, sandbox: Sandbox, callback_port) -> None:
        """Every account whose credentials can be read; the others are named and skipped."""
        from accounts.fields import UndecryptableValue
        from accounts.models import OfficialAccount

        for pk, appid in OfficialAccount.objects.values_list("pk", "appid"):
            try:
                account = OfficialAccount.objects.get(pk=pk)
            except UndecryptableValue:
                self.stderr.write(
                    self.style.WARNING(
                        f"{appid}: credentials cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
                        "not registered in the sandbox."
                    )
                )
                continue
            options_ = account_options(account, callback_port=callback_port)
            sandbox.register_app(account.appid, options_.pop("secret"), **options_)
            sandbox.mark_resolved(account.appid)  # followed from here on (see Sandbox.app)
        close_old_connections()

    def handle(self, *args, **options):
        if not 0.0 <= options["fail_rate"] <= 1.0:
            raise CommandError(_("--fail-rate must be between 0 and 1."))
        quotas = {}
        for spec in options["quota"]:
            api, sep, number = spec.partition("=")
            if not sep or not api.startswith("/") or not number.isdigit():
                raise CommandError(_("--quota must look like /cgi-bin/menu/create=100, not %s") % spec)
            quotas[api] = int(number)
        sandbox = Sandbox(
            token_ttl=options["token_ttl"],
            overlap_seconds=options["overlap_seconds"],
            quotas=quotas,
            fail_rate=options["fail_rate"],
            latency_ms=options["latency_ms"],
            enforce_reply_window=not options["no_reply_window"],
            resolve_app=database_resolver(options["callback_port"]) if options["from_db"] else None,
            callback_base=options["callback_base"] or f"http://127.0.0.1:{options['callback_port']}",
        )
        for spec in options["app"]:
            found = _APP_SPEC.match(spec)
            if not found:
                raise CommandError(
                    _("--app must look like wx0123456789abcdef:SECRET, not %s") % spec.split(":")[0]
                )
            sandbox.register_app(found.group(1), found.group(2))
        if options["from_db"]:
            self._register_from_db(sandbox, options["callback_port"])
        for spec in options["force_error"]:
            api, _sep, rest = spec.partition(":")
            code, _sep, times = rest.partition(":")
            errcode = code if code in ("drop", "http502") else int(code)
            sandbox.force_error(api or "*", errcode, times=int(times or 1))
        if options["host"] not in _LOOPBACK:
            self.stderr.write(
                self.style.WARNING("The sandbox is meant for loopback; it is now reachable from the network.")
            )

        def ready(base_url: str) -> None:
            self.stdout.write(
                f"WeChat sandbox on {base_url} with {len(sandbox.appids)} account(s); "
                "state at /sandbox/state/<appid>. Ctrl-C stops it."
            )
            self.stdout.flush()

        try:
            sandbox.serve_forever(options["host"], options["port"], on_ready=ready)
        except KeyboardInterrupt:
            pass
