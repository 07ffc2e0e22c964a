"""Reading uploads, inferring schemas, storing datasets and specs."""

from core.data.spec import DatasetSpec, SensitiveColumn, encode_labels, sensitive_groups, suggest_spec, validate_spec

__all__ = ["DatasetSpec", "SensitiveColumn", "encode_labels", "sensitive_groups", "suggest_spec", "validate_spec"]
