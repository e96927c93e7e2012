# Placeholder in the migration chain; its owner replaces the operations.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_task_ids")]

    operations: list = []
