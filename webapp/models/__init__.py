"""All models, imported here so Alembic and `db.create_all()` see the whole schema."""

from webapp.models import indexes  # noqa: F401 — registers the scale indexes
from webapp.models.audit import AuditLog
from webapp.models.base import Base, Privacy, utcnow
from webapp.models.cases import Case, CaseEvent, CaseLevel, CaseStatus
from webapp.models.departments import (
    ACTIVE_PART_STATUSES,
    CalendarDay,
    CasePart,
    Department,
    PartRole,
    PartStatus,
)
from webapp.models.notice_files import NoticeAttachment, NoticeFileKind
from webapp.models.notices import Notice, NoticeCategory, NoticeStatus, notice_communities
from webapp.models.notifications import Notification
from webapp.models.org import Building, Community, Grid, Street
from webapp.models.people import EDITABLE_CARE_FLAGS, Household, Occupancy, Resident
from webapp.models.push import PushSubscription
from webapp.models.push_queue import PushMessage
from webapp.models.records import (
    RECORD_MODELS,
    Attachment,
    Dispute,
    ElderlyCheck,
    FieldRecord,
    Hazard,
    RecordKind,
    Severity,
    Visit,
)
from webapp.models.register_imports import ImportStatus, RegisterImport
from webapp.models.report_exports import ExportStatus, LedgerExport
from webapp.models.resident_reports import (
    VERIFY_OUTCOMES,
    Open311Client,
    ReportKind,
    ReportPhoto,
    ReportSource,
    ReportStatus,
    ResidentReport,
)
from webapp.models.settings import Setting
from webapp.models.sync import ChangeCounter, OpLog, Tombstone
from webapp.models.users import ROLE_SCOPE_KIND, LoginSession, Membership, Role, ScopeKind, User

__all__ = [
    "ACTIVE_PART_STATUSES",
    "CalendarDay",
    "CasePart",
    "Department",
    "PartRole",
    "PartStatus",
    "AuditLog",
    "Attachment",
    "Base",
    "Building",
    "ExportStatus",
    "LedgerExport",
    "ImportStatus",
    "RegisterImport",
    "Case",
    "CaseEvent",
    "CaseLevel",
    "CaseStatus",
    "ChangeCounter",
    "Community",
    "Dispute",
    "EDITABLE_CARE_FLAGS",
    "ElderlyCheck",
    "FieldRecord",
    "Grid",
    "Hazard",
    "Household",
    "LoginSession",
    "Membership",
    "Notice",
    "NoticeAttachment",
    "NoticeCategory",
    "NoticeFileKind",
    "NoticeStatus",
    "Notification",
    "Occupancy",
    "OpLog",
    "Privacy",
    "PushMessage",
    "PushSubscription",
    "RECORD_MODELS",
    "RecordKind",
    "Open311Client",
    "ReportKind",
    "ReportPhoto",
    "ReportSource",
    "ReportStatus",
    "Resident",
    "ResidentReport",
    "VERIFY_OUTCOMES",
    "Role",
    "ROLE_SCOPE_KIND",
    "ScopeKind",
    "Setting",
    "Severity",
    "Street",
    "Tombstone",
    "User",
    "Visit",
    "notice_communities",
    "utcnow",
]
