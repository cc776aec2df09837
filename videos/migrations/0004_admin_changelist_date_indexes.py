"""Indexes on the dates the asset, webhook event and reference image changelists order by and
probe for their date hierarchy (videos/admin/large_tables.py): newest first and the year/month/day
links without reading the whole table.

Database only (RunSQL): the models' Meta.indexes do not list them yet, so the migration state is
unchanged and makemigrations sees nothing. To move them into the models, add
``models.Index(fields=[...], name=...)`` with these names to each Meta and a migration with
``SeparateDatabaseAndState(state_operations=[AddIndex(...)])``.
"""
from django.db import migrations

INDEXES = [
    ("videos_asset_created", "videos_videoasset", "created_at"),
    ("videos_webhook_received", "videos_webhookevent", "received_at"),
    ("videos_refimage_created", "videos_referenceimage", "created_at"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('videos', '0003_asset_sha256_after_storing'),
    ]

    operations = [
        migrations.RunSQL(
            sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
            reverse_sql=f'DROP INDEX IF EXISTS "{name}"',
        )
        for name, table, column in INDEXES
    ]
