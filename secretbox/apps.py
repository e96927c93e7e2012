from django.apps import AppConfig


class SecretboxConfig(AppConfig):
    name = "secretbox"
    verbose_name = "Secrets encrypted at rest"
