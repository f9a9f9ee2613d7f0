# Admin registrations live next to the features they belong to.
from warehouse.sqlpage import admin as sqlpage_admin  # noqa: F401
