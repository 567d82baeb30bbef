"""summaries: consultation k, kind and cycle; publications; themes, quotes; snapshot cross-tab dimensions

Revision ID: 0004_summaries
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004_summaries'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_cell', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(
            sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='roadmap')
        )
        batch_op.add_column(sa.Column('cycle_year', sa.Integer(), nullable=True))
    # No CHECK constraint: on SQLite it would rebuild the consultation table, and dropping the old one would
    # cascade to every invite, session and answer. k >= 5 is checked where consultations are made.

    with op.batch_alter_table('aggregate_count', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grp', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default='joint')
        )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(
            'ix_answer_summary',
            ['consultation_id', 'question_id', 'choice_codes', 'skipped', 'key_id', 'session_id'],
            unique=False,
        )
        batch_op.create_index('ix_answer_group', ['session_id', 'question_id', 'choice_codes'], unique=False)

    op.create_table('publication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('respondents', sa.Integer(), nullable=False),
    sa.Column('min_cell', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'number', name='uq_publication_number')
    )
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('theme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('labels', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('keywords', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'code', name='uq_theme_code')
    )
    with op.batch_alter_table('theme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('theme_assignment',
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('answer_id', 'theme_id')
    )

    op.create_table('answer_review',
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('answer_id')
    )
    with op.batch_alter_table('answer_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_review_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('quote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=True),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('text_cipher', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answer.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quote_answer_id'), ['answer_id'], unique=False)

    op.create_table('aggregate_respondents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('grp', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('channel', sa.Integer(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['aggregate_snapshot.consultation_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('aggregate_respondents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aggregate_respondents_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('aggregate_theme_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('theme_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['aggregate_snapshot.consultation_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('aggregate_theme_count', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aggregate_theme_count_consultation_id'), ['consultation_id'], unique=False)

    # Legacy snapshots kept one total: carry it over as respondents with no known group or channel.
    op.execute(
        'INSERT INTO aggregate_respondents (consultation_id, grp, channel, count) '
        'SELECT consultation_id, NULL, NULL, respondents FROM aggregate_snapshot WHERE respondents > 0'
    )


def downgrade() -> None:
    for table in ('aggregate_theme_count', 'aggregate_respondents', 'quote', 'answer_review', 'theme_assignment',
                  'theme', 'publication'):
        op.drop_table(table)
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_group')
        batch_op.drop_index('ix_answer_summary')
    with op.batch_alter_table('aggregate_count', schema=None) as batch_op:
        batch_op.drop_column('scope')
        batch_op.drop_column('channel')
        batch_op.drop_column('grp')
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_column('cycle_year')
        batch_op.drop_column('kind')
        batch_op.drop_column('min_cell')
