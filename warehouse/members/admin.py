from django.contrib import admin

from warehouse.models import Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """The same memberships the environment's Members page manages, for superusers."""

    list_display = ["user", "environment", "project", "role", "can_run_sql", "granted_by", "updated_at"]
    list_filter = ["role", "can_run_sql", "project", "environment"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change):
        obj.granted_by = request.user
        super().save_model(request, obj, form, change)
