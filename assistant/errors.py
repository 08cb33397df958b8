"""One exception family; every message says what happened and what to do next."""


class AssistantError(Exception):
    """Base class for every error the assistant raises on purpose."""

    exit_code = 1


class ConfigError(AssistantError):
    """A setting or argument is invalid."""

    exit_code = 2


class CorpusError(AssistantError):
    """The corpus cannot be read or holds no usable article."""

    exit_code = 3


class IndexStoreError(AssistantError):
    """The index on disk is missing, corrupt or locked."""

    exit_code = 4


class GeneratorError(AssistantError):
    """An answer generator failed (model missing, endpoint unreachable...)."""

    exit_code = 5


class AnswerInterrupted(GeneratorError):
    """A working generator failed on one answer (timed out, crashed); the next may succeed."""


class MissingDependency(AssistantError):
    """A dependency (core or of an extra) is not installed."""

    exit_code = 6

    def __init__(self, package: str, extra: str):
        kind, target = ("required", ".") if extra == "core" else ("optional", f"'.[{extra}]'")
        super().__init__(f"The {kind} package '{package}' is not installed. "
                         f"Install it with: pip install -e {target}")


class QuestionError(AssistantError):
    """The question cannot be answered as given (empty, unreadable)."""

    exit_code = 2
