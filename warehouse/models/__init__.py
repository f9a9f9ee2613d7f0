from .access import Membership, Role
from .environments import Environment, IpMode, Project
from .preferences import UserPreferences
from .privacy import (
    DeletionSource,
    DeletionStatus,
    RetentionRun,
    RetentionRunStatus,
    UserDeletionRequest,
    WarehouseDeletion,
    WarehouseDeletionKind,
)
from .raw import IdentityMerge, RawEvent, RawSession, RawUser
from .sources import AttachedSchema, CsvUpload, CsvUploadStatus, SourceAuditAction, SourceAuditEntry
from .sqlpage import SavedQuery, SqlQueryRun, SqlRole, TransformRole
from .sync import BuiltTable, EnvironmentSync, SyncKind, SyncRun, SyncStatus, SyncTrigger, TableChangeRequest

__all__ = [
    "AttachedSchema",
    "BuiltTable",
    "CsvUpload",
    "CsvUploadStatus",
    "DeletionSource",
    "DeletionStatus",
    "Environment",
    "EnvironmentSync",
    "IdentityMerge",
    "IpMode",
    "Membership",
    "Project",
    "RawEvent",
    "RawSession",
    "RawUser",
    "RetentionRun",
    "RetentionRunStatus",
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
    "UserDeletionRequest",
    "UserPreferences",
    "WarehouseDeletion",
    "WarehouseDeletionKind",
]
