from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Staff dashboard"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        import secretbox
        from dashboard.models import StoreConnection
        from dashboard.saved_views import create_defaults_for_new_connection

        secretbox.register(
            "dashboard.StoreConnection", "api_key_encrypted", purpose=StoreConnection.ENCRYPTION_PURPOSE
        )
        post_save.connect(
            create_defaults_for_new_connection, sender=StoreConnection, dispatch_uid="saved-view-defaults"
        )
