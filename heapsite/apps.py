from django.apps import AppConfig


class HeapsiteConfig(AppConfig):
    name = "heapsite"
    verbose_name = "heapsite"
