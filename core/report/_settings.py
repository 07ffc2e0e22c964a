"""What a team decides about a model before reading its report: risk thresholds and the model card's own words.

Both are saved per dataset (``<home>/report-settings/<dataset_id>.json``, written atomically), so every run of a
dataset is judged by the same limits and the Report page, the Compare page and ``python -m core check`` agree.
A threshold left empty (None) is not judged.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core import jsonsafe
from core.data.store import validate_dataset_id
from core.errors import ConfigError
from core.labels import disparity_phrase
from core.security import activity
from core.security.actor import require_editor
from core.storage import atomic_write_text

SETTINGS_DIR = "report-settings"
#: Disparities a team can set a ceiling on (keys of the fairness contract's ``disparities``).
DISPARITY_METRICS = {name: disparity_phrase(name) for name in (
    "demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference")}
BAD_THRESHOLD = "{name} must be {rule}; got {value!r}."
MAX_TEXT = 5000
#: The model card's free-text fields and their headings, in the order the page and the report show them.
TEXT_LABELS = {"intended_use": "Intended use", "out_of_scope": "Out-of-scope uses", "limitations": "Limitations",
               "owner": "Owner", "contact": "Contact"}


def _optional_number(name: str, value: Any, low: float, high: float, rule: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(BAD_THRESHOLD.format(name=name, rule=rule, value=value))
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(BAD_THRESHOLD.format(name=name, rule=rule, value=value))
    return value


@dataclass(frozen=True)
class Thresholds:
    """The team's limits. ``sensitive`` names the column the disparity limit applies to."""

    min_auc: float | None = None
    max_disparity: float | None = None
    disparity_metric: str = "demographic_parity_difference"
    sensitive: str | None = None
    max_epsilon: float | None = None
    max_attack_auc: float | None = None
    max_empirical_epsilon: float | None = None

    def validate(self) -> Thresholds:
        _optional_number("the minimum AUC", self.min_auc, 0.0, 1.0, "a number from 0 to 1")
        _optional_number("the maximum disparity", self.max_disparity, 0.0, 1.0, "a number from 0 to 1")
        _optional_number("the maximum epsilon", self.max_epsilon, 0.0, 1e6, "a number of at least 0")
        _optional_number("the maximum attack AUC", self.max_attack_auc, 0.0, 1.0, "a number from 0 to 1")
        _optional_number("the maximum empirical epsilon", self.max_empirical_epsilon, 0.0, 1e6,
                         "a number of at least 0")
        if self.disparity_metric not in DISPARITY_METRICS:
            raise ConfigError(BAD_THRESHOLD.format(name="the disparity metric",
                                                   rule=f"one of {', '.join(DISPARITY_METRICS)}",
                                                   value=self.disparity_metric))
        if self.max_disparity is not None and not self.sensitive:
            raise ConfigError("a maximum disparity needs the sensitive column it applies to (for example --sensitive "
                              "sex); pick one of the run's sensitive columns.")
        return self

    @property
    def any_set(self) -> bool:
        return any(v is not None for v in (self.min_auc, self.max_disparity, self.max_epsilon, self.max_attack_auc,
                                           self.max_empirical_epsilon))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in dict(data or {}).items() if k in known}
        for key in ("min_auc", "max_disparity", "max_epsilon", "max_attack_auc", "max_empirical_epsilon"):
            if isinstance(values.get(key), int) and not isinstance(values.get(key), bool):
                values[key] = float(values[key])
        return cls(**values).validate()


@dataclass(frozen=True)
class CardText:
    """The model card's free text, written by the team on the Report page (never computed)."""

    intended_use: str = ""
    out_of_scope: str = ""
    limitations: str = ""
    owner: str = ""
    contact: str = ""

    def to_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardText:
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v)[:MAX_TEXT] for k, v in dict(data or {}).items() if k in known and v is not None})


#: What a team that has not decided yet is judged by: a model that ranks cases well (AUC 0.75 is the usual floor
#: for a useful screening model), a gap in share selected of at most 10 points between groups (the common starting
#: point in fairness reviews), and a membership attack no better than AUC 0.6. No epsilon limit: a run trained
#: without privacy would fail it by construction, and requiring privacy is the team's decision, not a default.
DEFAULT_MIN_AUC = 0.75
DEFAULT_MAX_DISPARITY = 0.10
DEFAULT_MAX_ATTACK_AUC = 0.60


def default_thresholds(sensitive: tuple[str, ...] | list[str] = ()) -> Thresholds:
    """The thresholds a dataset is judged by until its team saves its own (the disparity on its first sensitive
    column, when it has one)."""
    column = next(iter(sensitive), None)
    return Thresholds(min_auc=DEFAULT_MIN_AUC, max_disparity=DEFAULT_MAX_DISPARITY if column else None,
                      sensitive=column, max_attack_auc=DEFAULT_MAX_ATTACK_AUC)


@dataclass(frozen=True)
class ReportSettings:
    """The thresholds and text a report uses; ``defaults`` when the team has not saved its own thresholds yet."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    text: CardText = field(default_factory=CardText)
    defaults: bool = False


def _path(home: Path | str, dataset_id: str) -> Path:
    return Path(home) / SETTINGS_DIR / f"{validate_dataset_id(dataset_id)}.json"


def load_settings(home: Path | str, dataset_id: str, sensitive: tuple[str, ...] | list[str] = ()) -> ReportSettings:
    """The dataset's saved thresholds and text; :func:`default_thresholds` (marked ``defaults``) when none were
    saved or the saved file cannot be read."""
    path = _path(home, dataset_id)
    fallback = ReportSettings(default_thresholds(sensitive), defaults=True)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fallback  # none saved, or unreadable: the report must still judge; the page can save anew
    try:
        return ReportSettings(Thresholds.from_dict(body.get("thresholds", {})), CardText.from_dict(body.get("text")))
    except (ConfigError, TypeError, AttributeError):
        return fallback


def save_settings(home: Path | str, dataset_id: str, settings: ReportSettings) -> None:
    """Validate and write atomically; a read-only workspace is a :class:`~core.errors.WorkspaceError`."""
    require_editor("save report thresholds or text")
    settings.thresholds.validate()
    before = load_settings(home, dataset_id)
    body = {"thresholds": settings.thresholds.to_dict(), "text": settings.text.to_dict()}
    atomic_write_text(_path(home, dataset_id), jsonsafe.dumps(body, indent=1))
    activity.append(Path(home), "thresholds_saved", dataset_id, {"dataset_id": dataset_id})
    if before.text != settings.text:
        activity.append(Path(home), "report_text_saved", dataset_id, {"dataset_id": dataset_id})
