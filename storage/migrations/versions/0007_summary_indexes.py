"""covering indexes for summaries: a consultation's sessions with their channel, and its written answers alone

Revision ID: 0007_summary_indexes
Revises: 0006_outbox
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007_summary_indexes'
down_revision: str | None = '0006_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITTEN = sa.text('text_cipher IS NOT NULL')


def upgrade() -> None:
    op.create_index('ix_session_summary', 'session', ['consultation_id', 'invite_id', 'id'], unique=False)
    op.create_index(
        'ix_answer_written',
        'answer',
        ['consultation_id', 'question_id'],
        unique=False,
        sqlite_where=WRITTEN,
        postgresql_where=WRITTEN,
    )


def downgrade() -> None:
    op.drop_index('ix_answer_written', table_name='answer')
    op.drop_index('ix_session_summary', table_name='session')
