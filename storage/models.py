"""The tables. No Telegram identifier, name, username, phone or message text is ever a column here."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class Consultation(SQLModel, table=True):
    """A consultation on one country's roadmap or progress report, pinned to one flow version."""

    __tablename__ = "consultation"
    __table_args__ = (CheckConstraint("min_cell >= 5", name="ck_consultation_min_cell"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    title: str = Field(max_length=200)
    country: str = Field(max_length=2)
    flow_id: str = Field(max_length=40)
    flow_version: int
    languages: str = Field(max_length=100)  # comma-separated language codes offered
    default_language: str = Field(max_length=10)
    organisation: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=300)  # how participants reach the organisation
    status: str = Field(default="open", max_length=10)  # scheduled, open or closed
    retention_days: int = Field(default=180)
    min_cell: int = Field(default=10)
    """k: no published figure, and none derivable, is between 1 and k-1 (default 10, never below 5)."""
    kind: str = Field(default="roadmap", max_length=20)  # roadmap | progress_report
    cycle_year: int | None = None  # the roadmap's or the progress report's year, for comparisons over cycles
    created_at: datetime
    closed_at: datetime | None = None
    purged_at: datetime | None = None  # raw data deleted by retention; only the aggregate snapshot remains
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    """The organisation whose facilitators run it (None for one created from the command line)."""
    opens_at: datetime | None = None  # a "scheduled" consultation opens by itself at this time
    closes_at: datetime | None = None  # an "open" consultation closes by itself at this time
    help_resources: str | None = None
    """Help contacts of this consultation entered in the dashboard: JSON, a list of help-resource entries."""

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]


class Participant(SQLModel, table=True):
    """A person, known only by a keyed pseudonym: HMAC-SHA256(pepper, Telegram user id)."""

    __tablename__ = "participant"

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(max_length=64, unique=True, index=True)
    language: str | None = Field(default=None, max_length=10)
    created_on: date


class ConversationSession(SQLModel, table=True):
    """Where one participant is in one consultation; the conversation state lives here, not in memory."""

    __tablename__ = "session"
    __table_args__ = (
        UniqueConstraint("participant_id", "consultation_id", name="uq_session_participant"),
        # Summaries find a consultation's respondents and their channels from the index alone (no session rows).
        Index("ix_session_summary", "consultation_id", "invite_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    flow_id: str = Field(max_length=40)
    flow_version: int
    state: str = Field(max_length=40)
    status: str = Field(max_length=12)
    language: str = Field(max_length=10)
    context: str = Field(default="{}")  # engine bookkeeping: step history, pending selections, choice codes
    invite_id: int | None = Field(default=None, foreign_key="invite.id", index=True, ondelete="SET NULL")
    """The invite (channel) the person came through: counted per channel, never tied to anything else."""
    shown_step: int | None = None
    """The step index of the question last delivered to the person (set by the outbox sender when its message
    was sent; -1: none of this session's questions yet). None: the channel reports no deliveries."""
    started_at: datetime
    updated_at: datetime


class Answer(SQLModel, table=True):
    """One answer: choice codes in clear (for SQL aggregates); free text redacted, then AES-GCM encrypted."""

    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("session_id", "question_id", name="uq_answer_question"),
        # Summaries count a consultation's answers in this order, reading the index alone (no sort, no rows).
        Index("ix_answer_summary", "consultation_id", "question_id", "choice_codes", "skipped", "key_id", "session_id"),
        # ...and find each answerer's group from the index alone.
        Index("ix_answer_group", "session_id", "question_id", "choice_codes"),
        # ...and the written answers (one in seven) without reading the other rows or any cipher text.
        Index(
            "ix_answer_written",
            "consultation_id",
            "question_id",
            sqlite_where=text("text_cipher IS NOT NULL"),
            postgresql_where=text("text_cipher IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="session.id", index=True, ondelete="CASCADE")
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    question_id: str = Field(max_length=40)
    choice_codes: str | None = Field(default=None, max_length=1000)  # space-separated option codes
    skipped: bool = False
    text_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    key_id: str | None = Field(default=None, max_length=16)
    answered_on: date


class ConsentRecord(SQLModel, table=True):
    """That a pseudonym agreed to a consent text version, and on which day."""

    __tablename__ = "consent_record"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    consent_version: str = Field(max_length=40)
    given_on: date


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled, so a webhook retry or a replay is processed once."""

    __tablename__ = "processed_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    processed_at: datetime


class SentMessage(SQLModel, table=True):
    """A message id of a participant's conversation, kept only so the safe exit can delete it (purged at 48 h).

    No chat id: in a private chat it equals the user id, which the adapter knows from the current update.
    """

    __tablename__ = "sent_message"
    __table_args__ = (UniqueConstraint("participant_id", "message_id", name="uq_sent_message"),)

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    from_bot: bool
    sent_at: datetime = Field(index=True)


class OutboxMessage(SQLModel, table=True):
    """One reply, edit or deletion for a participant's chat, written in the same transaction as the state change
    it belongs to, delivered after commit by the outbox sender (bot/outbox.py), strictly in `id` order per chat.

    `chat_key` is the participant's pseudonym (the ordering key); the chat id and the text are only in
    `payload_cipher`, AES-GCM bound to the row (`outbox_context`), and wiped once the row is sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_chat", "chat_key", "state"),
        # ids are never reused (SQLite reuses the highest rowid once deleted): a late worker's mark could
        # otherwise land on a newer row
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_key: str = Field(max_length=64)
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    position: int = 0
    """The row's place among the rows of its update (bound into the encryption's associated data)."""
    kind: str = Field(max_length=12)  # send | edit | delete | results
    payload_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    key_id: str = Field(max_length=16)
    session_id: int | None = Field(default=None, foreign_key="session.id", index=True, ondelete="SET NULL")
    step: int | None = None
    """The step index of the question this message shows (None: not a question)."""
    state: str = Field(default="pending", max_length=8)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime
    lease_owner: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = None
    created_at: datetime
    done_at: datetime | None = None


class OutboxWorker(SQLModel, table=True):
    """A running outbox sender's heartbeat: live workers share Telegram's global rate; a 429's pause is shared."""

    __tablename__ = "outbox_worker"

    owner: str = Field(max_length=40, primary_key=True)
    seen_at: datetime
    paused_until: datetime | None = None


class ResultsOptIn(SQLModel, table=True):
    """A participant who asked to hear about the results: the chat id, encrypted, apart from any answer."""

    __tablename__ = "results_opt_in"
    __table_args__ = (UniqueConstraint("participant_id", "consultation_id", name="uq_results_opt_in"),)

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    chat_cipher: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    key_id: str = Field(max_length=16)
    created_on: date


class AggregateSnapshot(SQLModel, table=True):
    """The respondent count of a consultation whose raw data retention has purged (see AggregateCount)."""

    __tablename__ = "aggregate_snapshot"

    consultation_id: int = Field(foreign_key="consultation.id", primary_key=True, ondelete="CASCADE")
    respondents: int
    computed_at: datetime


class AggregateCount(SQLModel, table=True):
    """How many purged answers to a question were identical: the same grouping summaries count live answers by."""

    __tablename__ = "aggregate_count"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="aggregate_snapshot.consultation_id", index=True, ondelete="CASCADE")
    question_id: str = Field(max_length=40)
    choice_codes: str | None = Field(default=None, max_length=1000)  # space-separated option codes
    skipped: bool
    written: bool  # a free-text answer (its text is gone; only that it existed is counted)
    grp: str | None = Field(default=None, max_length=40)  # the answerer's participant group (cross-tabs)
    channel: int | None = None  # the invite channel it came through (cross-tabs)
    scope: str = Field(default="joint", max_length=10)
    """Which populations the count is for: all, group (`grp`), channel, or joint (all, `grp` and `channel`)."""
    count: int


# ---- summaries: publications, written-answer themes and quotes ----


class Publication(SQLModel, table=True):
    """A frozen, numbered summary of a consultation: what leaves the system (suppressed, audited, language-neutral).

    `payload` is the summary as JSON (summaries.model); `respondents` is the true count at publication, kept
    only to enforce "at least k new respondents since the previous publication" and never published.
    """

    __tablename__ = "publication"
    __table_args__ = (UniqueConstraint("consultation_id", "number", name="uq_publication_number"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    number: int
    final: bool = False
    respondents: int
    min_cell: int
    created_at: datetime
    payload: str


class Theme(SQLModel, table=True):
    """One entry of a consultation's codebook for written answers: a code, labels and keywords per language."""

    __tablename__ = "theme"
    __table_args__ = (UniqueConstraint("consultation_id", "code", name="uq_theme_code"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=40)
    labels: str = Field(default="{}")  # JSON {language: label}
    keywords: str = Field(default="{}")  # JSON {language: [keyword, ...]}
    created_at: datetime


class ThemeAssignment(SQLModel, table=True):
    """A facilitator coded one written answer into one theme (an answer may have several)."""

    __tablename__ = "theme_assignment"

    answer_id: int = Field(foreign_key="answer.id", primary_key=True, ondelete="CASCADE")
    theme_id: int = Field(foreign_key="theme.id", primary_key=True, ondelete="CASCADE")


class AnswerReview(SQLModel, table=True):
    """A written answer a facilitator has coded and decided about (quote or not): it leaves the review queue."""

    __tablename__ = "answer_review"

    answer_id: int = Field(foreign_key="answer.id", primary_key=True, ondelete="CASCADE")
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    reviewed_at: datetime


class Quote(SQLModel, table=True):
    """A written answer (or part of it: only removing text is allowed) a facilitator approved or rejected for
    publication. Encrypted like the answer. Erasing the answer erases the quote; retention detaches approved
    quotes from their answer (answer_id NULL) so they outlive the raw data, and deletes the rejected ones."""

    __tablename__ = "quote"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    answer_id: int | None = Field(default=None, foreign_key="answer.id", index=True, ondelete="CASCADE")
    question_id: str = Field(max_length=40)
    status: str = Field(max_length=10)  # approved | rejected
    text_cipher: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    key_id: str = Field(max_length=16)
    decided_at: datetime


class AggregateRespondents(SQLModel, table=True):
    """Respondents of a purged consultation per participant group and invite channel (for cross-tabs)."""

    __tablename__ = "aggregate_respondents"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="aggregate_snapshot.consultation_id", index=True, ondelete="CASCADE")
    grp: str | None = Field(default=None, max_length=40)
    channel: int | None = None
    count: int


class AggregateThemeCount(SQLModel, table=True):
    """Written answers per theme of a purged consultation (theme_code NULL: answers with no theme)."""

    __tablename__ = "aggregate_theme_count"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="aggregate_snapshot.consultation_id", index=True, ondelete="CASCADE")
    question_id: str = Field(max_length=40)
    theme_code: str | None = Field(default=None, max_length=40)
    count: int


# ---- invites ----


class Invite(SQLModel, table=True):
    """One invite code of a consultation. Several codes tell channels apart (a workshop, a partner, a radio spot)
    without identifying anyone; the label names the channel for the organisers. Codes are stored upper-case and
    matched case-insensitively; a revoked code no longer opens the consultation."""

    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=32, unique=True, index=True)
    label: str = Field(max_length=80)
    created_at: datetime
    revoked_at: datetime | None = None


# ---- staff accounts, organisations and the audit log (the dashboard) ----
# Staff are never participants: their table shares no key with `participant`, and holds only a username, a
# role, an organisation and what signing in needs.


class Organisation(SQLModel, table=True):
    """A CSO (or a review body) whose staff use the dashboard."""

    __tablename__ = "organisation"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime


class StaffUser(SQLModel, table=True):
    """A dashboard account: admin (organisations, users), facilitator (their organisation's consultations) or
    reviewer (the publications of consultations granted to them). Disabled, never deleted (the audit log names
    it)."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)  # stored lower-case
    role: str = Field(max_length=12)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    password_hash: str = Field(max_length=200)  # argon2id, with its parameters and salt
    must_change_password: bool = True  # a one-time password was given (first admin, create, reset)
    totp_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    totp_key_id: str | None = Field(default=None, max_length=16)
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    """The last TOTP time step accepted: a code is never accepted twice."""
    failed_sign_ins: int = 0
    locked_until: datetime | None = None
    session_epoch: int = 0
    """Raised on password change, reset and disabling: every older dashboard session stops working."""
    created_at: datetime
    disabled_at: datetime | None = None


class ReviewerGrant(SQLModel, table=True):
    """A reviewer may read the publications of one consultation."""

    __tablename__ = "reviewer_grant"
    __table_args__ = (UniqueConstraint("consultation_id", "staff_user_id", name="uq_reviewer_grant"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True, ondelete="CASCADE")
    staff_user_id: int = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    granted_at: datetime


class AuditEntry(SQLModel, table=True):
    """Who did what, when: sign-ins, views of written answers, approvals, publications, exports. Append-only:
    the application only inserts and reads, and database triggers refuse UPDATE and DELETE. It names staff and
    objects by id, never a participant, and never holds answer text."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor_id: int | None = Field(default=None, index=True)  # staff_user.id (no foreign key: rows outlive nothing)
    actor: str = Field(max_length=64)  # the username at the time, or "-" for an unknown one
    action: str = Field(max_length=40)
    target: str = Field(default="", max_length=80)  # e.g. "consultation:12"
    detail: str = Field(default="", max_length=300)


class StoredFlow(SQLModel, table=True):
    """A questionnaire uploaded through the dashboard (an imported XLSForm), as flow YAML; loaded next to the
    shipped ones so every worker can run consultations on it."""

    __tablename__ = "stored_flow"
    __table_args__ = (UniqueConstraint("flow_id", "version", name="uq_stored_flow"),)

    id: int | None = Field(default=None, primary_key=True)
    flow_id: str = Field(max_length=40)
    version: int
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    source_name: str = Field(max_length=200)  # the uploaded file's name
    document: str  # the flow YAML
    report: str = Field(default="")  # the importer's report (JSON: warnings, left out, dropped)
    created_at: datetime
