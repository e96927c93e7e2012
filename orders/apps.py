from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders API"

    def ready(self) -> None:
        import secretbox
        from orders.models import WebhookEndpoint

        secretbox.register(
            "orders.WebhookEndpoint", "secret_encrypted", purpose=WebhookEndpoint.ENCRYPTION_PURPOSE
        )
