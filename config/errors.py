"""One error hierarchy for the project: a user never sees these, an operator always gets enough to act."""


class VoicesError(Exception):
    """Base of every error raised on purpose by Voices 8.7."""


class ConfigError(VoicesError):
    """A setting is missing or wrong; raised at start-up, never mid-conversation."""


class FlowError(VoicesError):
    """A flow definition is broken (file, step and problem are in the message)."""


class StorageError(VoicesError):
    """The database could not do what was asked."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached right now (refused, timed out, connection lost, file unreadable). Nothing of
    the unit of work was committed: the same input may be tried again once the database is back."""


class ConsultationError(VoicesError):
    """A consultation cannot be opened or changed as asked (the message says why and what to do)."""
