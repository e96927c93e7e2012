# Placeholder in the migration chain; its owner replaces the operations.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_search_indexes")]

    operations: list = []
