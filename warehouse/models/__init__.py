from .environments import Environment, Project
from .raw import IdentityMerge, RawEvent, RawSession, RawUser
from .sources import AttachedSchema, CsvUpload, CsvUploadStatus, SourceAuditAction, SourceAuditEntry
from .sqlpage import SavedQuery, SqlAccess, SqlQueryRun, SqlRole
from .sync import (
    FINISHED_STATUSES,
    BuiltTable,
    EnvironmentSync,
    SchedulerHeartbeat,
    SyncKind,
    SyncRun,
    SyncStatus,
    SyncTrigger,
    TableChangeRequest,
)

__all__ = [
    "FINISHED_STATUSES",
    "AttachedSchema",
    "BuiltTable",
    "CsvUpload",
    "CsvUploadStatus",
    "Environment",
    "EnvironmentSync",
    "IdentityMerge",
    "Project",
    "RawEvent",
    "RawSession",
    "RawUser",
    "SavedQuery",
    "SchedulerHeartbeat",
    "SourceAuditAction",
    "SourceAuditEntry",
    "SqlAccess",
    "SqlQueryRun",
    "SqlRole",
    "SyncKind",
    "SyncRun",
    "SyncStatus",
    "SyncTrigger",
    "TableChangeRequest",
]
