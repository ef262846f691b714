"""Issue 10: `Message.mentions_ticket`, and implausible header dates cleared.

Rows stored before the date check may hold a `sent_at` PostgreSQL keeps but Python
cannot read back (year 10000 in UTC) or that no clock ever produced: they are
cleared and flagged, as ingest now does for new mail. The UPDATE reads no row.
"""

from datetime import UTC, datetime

import django.db.models.deletion
from django.db import migrations, models

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def clear_implausible_dates(apps, schema_editor):
    Message = apps.get_model("triage", "Message")
    implausible = Message.objects.filter(
        models.Q(sent_at__gte=LATEST) | models.Q(sent_at__lt=EARLIEST)
    )
    for pk, defects in implausible.values_list("pk", "parse_defects"):
        defects = [*(defects or []), "ImplausibleDate"]
        Message.objects.filter(pk=pk).update(
            sent_at=None, is_malformed=True, parse_defects=defects
        )


class Migration(migrations.Migration):
    dependencies = [
        ("triage", "0005_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="mentions_ticket",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="mentioned_by",
                to="triage.ticket",
            ),
        ),
        migrations.RunPython(clear_implausible_dates, migrations.RunPython.noop),
    ]
