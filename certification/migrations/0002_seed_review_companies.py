"""R-CERT-15: the four third-party review companies, with hotline and business hours."""
import datetime

from django.db import migrations

COMPANIES = [
    ("武汉灏信信息技术服务有限公司", "027-59757188", (9, 0), (17, 30)),
    ("上海倍通企业信用征信有限公司", "021-33977660", (8, 30), (17, 30)),
    ("北京至信互通科技有限公司", "4000303908", (9, 30), (18, 0)),
    ("北京知道创宇信息技术有限公司", "028-85182726", (9, 30), (18, 0)),
]


def seed(apps, schema_editor):
    ReviewCompany = apps.get_model("certification", "ReviewCompany")
    for name, hotline, opens, closes in COMPANIES:
        ReviewCompany.objects.update_or_create(
            name=name,
            defaults={"hotline": hotline, "opens_at": datetime.time(*opens),
                      "closes_at": datetime.time(*closes)},
        )


def unseed(apps, schema_editor):
    ReviewCompany = apps.get_model("certification", "ReviewCompany")
    ReviewCompany.objects.filter(name__in=[c[0] for c in COMPANIES], orders__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("certification", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
