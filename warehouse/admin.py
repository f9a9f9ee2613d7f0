# Admin registrations live next to the features they belong to.
from warehouse.members import admin as members_admin  # noqa: F401
from warehouse.sqlpage import admin as sqlpage_admin  # noqa: F401
