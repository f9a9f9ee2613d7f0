from .environments import Environment, Project
from .raw import IdentityMerge, RawEvent, RawSession, RawUser
from .sources import AttachedSchema, CsvUpload, CsvUploadStatus, SourceAuditAction, SourceAuditEntry

__all__ = [
    "AttachedSchema",
    "CsvUpload",
    "CsvUploadStatus",
    "Environment",
    "IdentityMerge",
    "Project",
    "RawEvent",
    "RawSession",
    "RawUser",
    "SourceAuditAction",
    "SourceAuditEntry",
]
