"""invites: several invite codes per consultation (one per channel); the session remembers its invite

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_code'), ['code'], unique=True)
        batch_op.create_index(batch_op.f('ix_invite_consultation_id'), ['consultation_id'], unique=False)

    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invite_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_session_invite_id'), ['invite_id'], unique=False)
        batch_op.create_foreign_key('fk_session_invite_id', 'invite', ['invite_id'], ['id'], ondelete='SET NULL')

    # Every existing consultation keeps its code as its first invite.
    op.execute(
        "INSERT INTO invite (consultation_id, code, label, created_at) "
        "SELECT id, UPPER(code), 'default', created_at FROM consultation"
    )


def downgrade() -> None:
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_constraint('fk_session_invite_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_session_invite_id'))
        batch_op.drop_column('invite_id')

    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invite_consultation_id'))
        batch_op.drop_index(batch_op.f('ix_invite_code'))

    op.drop_table('invite')
