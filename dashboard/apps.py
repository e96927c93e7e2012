from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Staff dashboard"

    def ready(self) -> None:
        import secretbox
        from dashboard.models import StoreConnection

        secretbox.register(
            "dashboard.StoreConnection", "api_key_encrypted", purpose=StoreConnection.ENCRYPTION_PURPOSE
        )
