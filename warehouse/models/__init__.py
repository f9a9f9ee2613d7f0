from .api_events import ApiEvent, ApiEventSync
from .environments import Environment, Project
from .raw import IdentityMerge, RawEvent, RawSession, RawUser
from .sources import AttachedSchema, CsvUpload, CsvUploadStatus, SourceAuditAction, SourceAuditEntry
from .sqlpage import SavedQuery, SqlAccess, SqlQueryRun, SqlRole
from .sync import BuiltTable, EnvironmentSync, SyncKind, SyncRun, SyncStatus, SyncTrigger, TableChangeRequest

__all__ = [
    "ApiEvent",
    "ApiEventSync",
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
