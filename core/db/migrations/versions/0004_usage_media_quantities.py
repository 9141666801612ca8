"""Media quantities in usage: characters of speech input, images generated, seconds of audio transcribed.

Raw records get nullable columns (NULL: not a media request); the rollups get sums that start at 0.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLLUPS = ("usage_rollups_minute", "usage_rollups_hour")


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("characters", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("images", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("audio_seconds", sa.Float(), nullable=True))
    for table in _ROLLUPS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("characters", sa.BigInteger(), nullable=False, server_default="0"))
            batch.add_column(sa.Column("images", sa.BigInteger(), nullable=False, server_default="0"))
            batch.add_column(sa.Column("audio_seconds", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in _ROLLUPS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("audio_seconds")
            batch.drop_column("images")
            batch.drop_column("characters")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("audio_seconds")
        batch.drop_column("images")
        batch.drop_column("characters")
