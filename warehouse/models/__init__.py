from .environments import Environment, Project
from .raw import IdentityMerge, RawEvent, RawSession, RawUser
from .sync import BuiltTable, EnvironmentSync, SyncKind, SyncRun, SyncStatus, SyncTrigger, TableChangeRequest

__all__ = [
    "BuiltTable",
    "Environment",
    "EnvironmentSync",
    "IdentityMerge",
    "Project",
    "RawEvent",
    "RawSession",
    "RawUser",
    "SyncKind",
    "SyncRun",
    "SyncStatus",
    "SyncTrigger",
    "TableChangeRequest",
]
