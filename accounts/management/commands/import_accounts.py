from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.importing import import_accounts_csv


class Command(BaseCommand):
    help = (
        "Import official accounts from a CSV file with the header "
        "entity,name,wechat_id,original_id,appid,appsecret,token,encoding_aes_key,message_mode. "
        "Any bad row imports nothing; re-importing updates by AppID."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}")
        report = import_accounts_csv(text)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"line {problem.line}: {problem.reason}")
            raise CommandError(f"{len(report.problems)} problem(s); nothing was imported")
        self.stdout.write(
            self.style.SUCCESS(
                f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}"
            )
        )
