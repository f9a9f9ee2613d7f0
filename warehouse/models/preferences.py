"""Per-person settings of the app's pages (not of an environment)."""

from django.conf import settings
from django.db import models


class UserPreferences(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    # An IANA zone name (Europe/Berlin); empty: the server's TIME_ZONE. Pages show every time in it.
    time_zone = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        db_table = "warehouse_user_preferences"

    def __str__(self) -> str:
        return f"preferences of {self.user}"
