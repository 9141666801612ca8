"""Every table of the database. Importing this package registers them all on `metadata`, which is what the
migrations compare against: a new table module must be imported here."""

from sqlalchemy import MetaData
from sqlmodel import SQLModel

from core.db.tables.batches import BatchLineRow, BatchRow
from core.db.tables.files import FileChunkRow, FileRow
from core.db.tables.governance import ExclusionMergeRow, ExclusionRow, RateLimitRow
from core.db.tables.mcp import McpSessionRow
from core.db.tables.tenancy import (
    ApiTokenRow,
    OrgRow,
    ServiceAccountRow,
    TeamMemberRow,
    TeamRow,
    UserRow,
)
from core.db.tables.usage import UsageRecordRow, UsageSpoolCheckpointRow
from core.db.tables.usage_rollups import UsageRollupHourRow, UsageRollupMinuteRow

metadata: MetaData = SQLModel.metadata

__all__ = [
    "ApiTokenRow",
    "BatchLineRow",
    "BatchRow",
    "ExclusionMergeRow",
    "ExclusionRow",
    "FileChunkRow",
    "FileRow",
    "McpSessionRow",
    "OrgRow",
    "RateLimitRow",
    "ServiceAccountRow",
    "TeamMemberRow",
    "TeamRow",
    "UsageRecordRow",
    "UsageRollupHourRow",
    "UsageRollupMinuteRow",
    "UsageSpoolCheckpointRow",
    "UserRow",
    "metadata",
]
