"""Admin for projects and environments; a new or rotated server key is shown once, never stored."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import render
from django.urls import reverse

from heapsite.services import environment_delete, environment_rotate_key, generate_server_key
from warehouse.models import Environment, Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


class EnvironmentForm(forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["project", "name", "warehouse_schema"]
        # The admin shows help texts as HTML: no angle brackets.
        help_texts = {
            "warehouse_schema": "Leave empty for the project and environment names joined by _ (e.g. main_production). "
            "Cannot be changed later."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "warehouse_schema" in self.fields:
            self.fields["warehouse_schema"].required = False

    def clean(self):
        cleaned = super().clean()
        project, name = cleaned.get("project"), cleaned.get("name")
        if "warehouse_schema" in self.fields and not cleaned.get("warehouse_schema") and project and name:
            cleaned["warehouse_schema"] = f"{project.name}_{name}"
            self.instance.warehouse_schema = cleaned["warehouse_schema"]
        return cleaned


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    form = EnvironmentForm
    list_display = ["warehouse_schema", "project", "name", "app_id", "api_key_prefix", "created_at"]
    list_filter = ["project"]
    search_fields = ["warehouse_schema", "app_id"]
    actions = ["rotate_server_key"]

    def get_readonly_fields(self, request, obj=None):
        # The schema names a live warehouse; renaming it here would orphan the sync's tables.
        return ["warehouse_schema", "app_id", "api_key_prefix", "created_at"] if obj else []

    def get_fields(self, request, obj=None):
        if obj:
            return ["project", "name", "warehouse_schema", "app_id", "api_key_prefix", "created_at"]
        return ["project", "name", "warehouse_schema"]

    def save_model(self, request, obj, form, change):
        if not change:
            request._new_server_key = generate_server_key()
            obj.set_api_key(request._new_server_key)
        super().save_model(request, obj, form, change)

    def get_deleted_objects(self, objs, request):
        """What the confirmation page lists: each environment and the kinds of data that go with it.

        Django would read every raw row of the environment to list it (millions of them; on Citus a
        parallel read of distributed tables, after which the deletion's schema changes may not run
        in the same transaction). environment_delete removes them by environment instead.
        """
        gone = [
            "its raw events, users, sessions and identity merges",
            "its warehouse schema, the sync's tables and runs, its SQL role, saved queries and history",
            "its definitions, data sources and uploads",
        ]
        listed = [item for obj in objs for item in (str(obj), gone)]
        return listed, {"environments": len(objs)}, set(), []

    def delete_model(self, request, obj):
        environment_delete(environment=obj)

    def delete_queryset(self, request, queryset):
        for environment in queryset:
            environment_delete(environment=environment)

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_key(request, obj, request._new_server_key)

    @admin.action(description="Rotate the server key (shows the new key once)")
    def rotate_server_key(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one environment to rotate its key.", messages.ERROR)
            return None
        environment = queryset.get()
        return self._show_key(request, environment, environment_rotate_key(environment=environment))

    def _show_key(self, request, environment, key):
        back_url = reverse("admin:warehouse_environment_changelist")
        context = {"environment": environment, "server_key": key, "back_url": back_url}
        return render(request, "heapsite/server_key.html", context)
