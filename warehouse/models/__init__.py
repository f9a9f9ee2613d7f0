from .environments import Environment, Project
from .raw import IdentityMerge, RawEvent, RawSession, RawUser
from .sqlpage import SavedQuery, SqlAccess, SqlQueryRun, SqlRole

__all__ = [
    "Environment",
    "IdentityMerge",
    "Project",
    "RawEvent",
    "RawSession",
    "RawUser",
    "SavedQuery",
    "SqlAccess",
    "SqlQueryRun",
    "SqlRole",
]
