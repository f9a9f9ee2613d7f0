from django.contrib import admin

from warehouse.models import SavedQuery, SqlQueryRun


@admin.register(SqlQueryRun)
class SqlQueryRunAdmin(admin.ModelAdmin):
    """The audit log: read-only."""

    list_display = ["started_at", "user", "environment", "kind", "row_count", "truncated", "error_class"]
    list_filter = ["environment", "kind", "error_class"]
    search_fields = ["sql", "sql_sha256", "user__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SavedQuery)
class SavedQueryAdmin(admin.ModelAdmin):
    list_display = ["name", "environment", "owner", "updated_at"]
    list_filter = ["environment"]
