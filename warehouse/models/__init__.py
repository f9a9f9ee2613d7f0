from .access import Membership, Role
from .api_events import ApiEvent, ApiEventSync
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
    "ApiEvent",
    "ApiEventSync",
    "FINISHED_STATUSES",
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
    "SchedulerHeartbeat",
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
