from .access import Membership, Role
from .environments import Environment, Project
from .raw import IdentityMerge, RawEvent, RawSession, RawUser
from .sources import AttachedSchema, CsvUpload, CsvUploadStatus, SourceAuditAction, SourceAuditEntry
from .sqlpage import SavedQuery, SqlQueryRun, SqlRole, TransformRole
from .sync import BuiltTable, EnvironmentSync, SyncKind, SyncRun, SyncStatus, SyncTrigger, TableChangeRequest

__all__ = [
    "AttachedSchema",
    "BuiltTable",
    "CsvUpload",
    "CsvUploadStatus",
    "Environment",
    "EnvironmentSync",
    "IdentityMerge",
    "Membership",
    "Project",
    "RawEvent",
    "RawSession",
    "RawUser",
    "Role",
    "SavedQuery",
    "SourceAuditAction",
    "SourceAuditEntry",
    "SqlQueryRun",
    "SqlRole",
    "SyncKind",
    "SyncRun",
    "SyncStatus",
    "SyncTrigger",
    "TableChangeRequest",
    "TransformRole",
]
