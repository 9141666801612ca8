"""Every table of the database. Importing this package registers them all on `metadata`, which is what the
migrations compare against: a new table module must be imported here."""

from sqlalchemy import MetaData
from sqlmodel import SQLModel

from core.db.tables.tenancy import (
    ApiTokenRow,
    OrgRow,
    ServiceAccountRow,
    TeamMemberRow,
    TeamRow,
    UserRow,
)
from core.db.tables.usage import UsageRecordRow

metadata: MetaData = SQLModel.metadata

__all__ = [
    "ApiTokenRow",
    "OrgRow",
    "ServiceAccountRow",
    "TeamMemberRow",
    "TeamRow",
    "UsageRecordRow",
    "UserRow",
    "metadata",
]
