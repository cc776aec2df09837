"""Indexes on the dates the asset, webhook event and reference image changelists order by and
probe for their date hierarchy (videos/admin/large_tables.py): newest first and the
year/month/day links without reading the whole table."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("videos", "0003_asset_sha256_after_storing"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="videoasset",
            index=models.Index(fields=["created_at"], name="videos_asset_created"),
        ),
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(fields=["received_at"], name="videos_webhook_received"),
        ),
        migrations.AddIndex(
            model_name="referenceimage",
            index=models.Index(fields=["created_at"], name="videos_refimage_created"),
        ),
    ]
