from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders API"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        import secretbox
        from orders.auth import forget_cached_keys
        from orders.models import ApiKey, Store, WebhookEndpoint

        # A saved or deleted key or store is read afresh by the next request of this process.
        for model in (ApiKey, Store):
            post_save.connect(forget_cached_keys, sender=model, dispatch_uid=f"forget-keys-{model.__name__}")
            post_delete.connect(
                forget_cached_keys, sender=model, dispatch_uid=f"forget-keys-{model.__name__}-d"
            )

        secretbox.register(
            "orders.WebhookEndpoint", "secret_encrypted", purpose=WebhookEndpoint.ENCRYPTION_PURPOSE
        )
