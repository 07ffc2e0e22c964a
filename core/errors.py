"""Typed, user-facing errors.

Every error a user can cause (a bad file, a wrong column, too few rows) is a :class:`RiskboardError`. Pages show
``str(error)`` with ``st.error`` and the CLI prints it as one ``error:`` line with exit code 2, so each message must
say what is wrong *and* how to fix it, in plain words, without a traceback.
"""

from __future__ import annotations


class RiskboardError(Exception):
    """Base class of every error caused by user input or user choices."""


class InputError(RiskboardError):
    """An uploaded or named file cannot be read as a table."""


class FileTooLargeError(InputError):
    """A file, or the table in it, is over the configured size, row or column limit."""


class EmptyInputError(InputError):
    """A file holds no data rows (empty, or a header only)."""


class UnsupportedFormatError(InputError):
    """A file whose type Riskboard does not read."""


class DatasetNotFoundError(RiskboardError):
    """A dataset id that is malformed or not in the store."""


class SpecError(RiskboardError):
    """A dataset spec (target, positive class, features, sensitive columns) that cannot be used."""


class ConfigError(RiskboardError):
    """A setting or training option with a value that cannot be used."""


class RunNotFoundError(RiskboardError):
    """A run id that is malformed or not in the run store."""


class TrainingError(RiskboardError):
    """Training stopped for a reason the user can act on (NaN loss, out of memory, cancelled)."""


class RunCancelledError(TrainingError):
    """The user cancelled a run while it trained."""


class WorkspaceError(RiskboardError):
    """The workspace (``RISKBOARD_HOME``) cannot be written: read-only mount, another user's files, a full disk."""


class ArtifactError(RiskboardError):
    """A run's stored file is missing, torn or altered; the message names the file and says what to do."""


class ExplainError(RiskboardError):
    """A run that cannot be explained (not finished, imported without a model) or explanation settings out of range."""


class FairnessError(RiskboardError):
    """A fairness audit, threshold or mitigation choice that cannot be computed (unknown column, one group only)."""


class ScoreImportError(InputError):
    """An uploaded table of outside model scores that cannot become a run (bad scores, labels or lengths)."""


class ModelImportError(InputError):
    """An uploaded model file that cannot be audited: not ONNX, too large, external data, an unsupported opset or
    operator, or inputs and outputs that do not match the table."""


class CustomOperatorError(ModelImportError):
    """An ONNX model that uses an operator outside the standard ONNX and ONNX-ML domains (a custom operator)."""


class ReportError(RiskboardError):
    """A report, check or comparison that cannot be made (unfinished run, unknown column, not a Riskboard report)."""


class RunNameError(InputError):
    """A display name for a run that cannot be stored (empty, too long, control characters)."""


class MitigationNoEffectError(FairnessError):
    """A mitigation whose decisions would equal its parent's on every row, so saving it would change nothing."""
