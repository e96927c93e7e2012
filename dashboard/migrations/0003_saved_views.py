# Saved views of the orders list (dashboard/saved_views.py), and the default views for the store
# connections that existed before them; connections made later get theirs when they are created.

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

# A snapshot of dashboard.saved_views.DEFAULT_VIEWS as of this migration (migrations do not follow code).
DEFAULT_VIEWS = [
    (
        "Unfulfilled",
        "Paid orders still to ship: status Confirmed, Processing or Partially shipped; oldest first.",
        "status=confirmed&status=partially_shipped&status=processing&sort=createdAt",
    ),
    (
        "Unpaid",
        "Orders waiting for payment: payment Unpaid and status Pending (cancelled orders that were never"
        " paid are left out); oldest first.",
        "status=pending&payment_status=unpaid&sort=createdAt",
    ),
    (
        "Needs attention",
        "Orders stuck part-way: status Partially shipped or Partially delivered; the ones untouched"
        " longest first.",
        "status=partially_delivered&status=partially_shipped&sort=updatedAt",
    ),
]


def create_default_views(apps, schema_editor):
    StoreConnection = apps.get_model("dashboard", "StoreConnection")
    SavedView = apps.get_model("dashboard", "SavedView")
    SavedView.objects.bulk_create(
        SavedView(store=store, name=name, description=description, query=query, position=position)
        for store in StoreConnection.objects.all()
        for position, (name, description, query) in enumerate(DEFAULT_VIEWS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0002_staff_notes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SavedView',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('query', models.CharField(max_length=1000)),
                ('position', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='saved_views', to='dashboard.storeconnection')),
            ],
            options={
                'ordering': ['position', 'id'],
            },
        ),
        migrations.CreateModel(
            name='DefaultSavedView',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='dashboard.storeconnection')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('view', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='dashboard.savedview')),
            ],
        ),
        migrations.AddConstraint(
            model_name='savedview',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('name'), models.F('store'), name='saved_view_name_unique_per_store'),
        ),
        migrations.AddConstraint(
            model_name='defaultsavedview',
            constraint=models.UniqueConstraint(fields=('user', 'store'), name='one_default_view_per_user_store'),
        ),
        migrations.RunPython(create_default_views, migrations.RunPython.noop),
    ]
