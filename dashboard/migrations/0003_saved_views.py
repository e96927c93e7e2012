# Placeholder in the migration chain; its owner replaces the operations.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_staff_notes")]

    operations: list = []
