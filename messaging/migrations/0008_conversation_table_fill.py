"""Fill the conversation table of an existing install from its message log and replies
(issue 30): one set-based statement over every (account, OpenID) pair, the same one the
flusher and the repair task run (`messaging.conversations.upkeep`).

It imports `upkeep` (the same statement): should the table's columns change later, this
migration is to be squashed or given its own copy of the statement.
"""

import datetime

from django.db import migrations


def fill(apps, schema_editor):
    from messaging.conversations import upkeep

    connection = schema_editor.connection
    if connection.alias != "default":  # pragma: no cover - one database
        return
    upkeep.refresh_since(datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC), using=connection)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0007_conversation_table")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
