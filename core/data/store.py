"""Dataset store: each upload saved once as Parquet, keyed by the SHA-256 of its bytes, plus saved specs.

Layout under the workspace::

    datasets/<sha256>/data.parquet   the parsed table
    datasets/<sha256>/meta.json      original name, upload time, shape, schema, ingest warnings
    specs/<spec_id>.json             saved dataset specs

Ids are validated before they touch a path, and the user's file name is stored as data only (never a path), so an
upload named ``../../etc/passwd`` is just a label.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from core.config import Settings, get_settings
from core.data.ingest import read_table
from core.data.schema import DatasetSchema, infer_schema
from core.data.spec import DatasetSpec
from core.errors import DatasetNotFoundError, SpecError

_DATASET_ID = re.compile(r"^[0-9a-f]{64}$")
_SPEC_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class DatasetMeta:
    id: str
    name: str
    uploaded_at: str
    rows: int
    columns: int
    format: str
    size_bytes: int
    schema: dict
    warnings: list[str] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def label(self) -> str:
        return f"{self.name} · {self.rows:,} rows × {self.columns} columns · {self.short_id}"

    def schema_obj(self) -> DatasetSchema:
        return DatasetSchema.from_dict(self.schema)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "uploaded_at": self.uploaded_at, "rows": self.rows,
                "columns": self.columns, "format": self.format, "size_bytes": self.size_bytes,
                "schema": self.schema, "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, data: dict) -> DatasetMeta:
        return cls(**{k: data[k] for k in ("id", "name", "uploaded_at", "rows", "columns", "format", "size_bytes",
                                           "schema")}, warnings=list(data.get("warnings", [])))


def validate_dataset_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not _DATASET_ID.match(dataset_id):
        raise DatasetNotFoundError(f"{str(dataset_id)[:80]!r} is not a dataset id (64 hex characters); pick a dataset "
                                   "from the list.")
    return dataset_id


def _atomic_write(path: Path, text: str) -> None:
    """Write then rename, so a crash never leaves half a JSON file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class DatasetStore:
    """Datasets and specs on disk under ``<home>``; safe to use from several processes (writes are atomic)."""

    def __init__(self, home: Path | str | None = None) -> None:
        self.home = Path(home) if home is not None else get_settings().home
        self.datasets_dir = self.home / "datasets"
        self.specs_dir = self.home / "specs"

    # datasets -------------------------------------------------------------------------------------------------------
    def _dir(self, dataset_id: str) -> Path:
        return self.datasets_dir / validate_dataset_id(dataset_id)

    def add(self, data: bytes, filename: str, *, settings: Settings | None = None) -> DatasetMeta:
        """Parse and store an upload; the same bytes uploaded twice give the same dataset, stored once."""
        dataset_id = hashlib.sha256(data).hexdigest()
        if self.exists(dataset_id):
            return self.meta(dataset_id)
        result = read_table(data, filename, settings=settings)
        frame = result.frame
        schema = infer_schema(frame)
        meta = DatasetMeta(id=dataset_id, name=str(filename)[:200] or "upload", rows=len(frame),
                           columns=frame.shape[1], format=result.format, size_bytes=len(data),
                           uploaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
                           schema=schema.to_dict(), warnings=list(result.warnings) + list(schema.warnings))
        target = self._dir(dataset_id)
        staging = Path(tempfile.mkdtemp(dir=self._ensure(self.datasets_dir), prefix=".upload-"))
        try:
            frame.to_parquet(staging / "data.parquet", index=False)
            _atomic_write(staging / "meta.json", json.dumps(meta.to_dict(), indent=1))
            try:
                os.replace(staging, target)
            except OSError:  # another process stored the same bytes first: theirs is identical
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return meta

    @staticmethod
    def _ensure(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        return path

    def exists(self, dataset_id: str) -> bool:
        return (self._dir(dataset_id) / "meta.json").is_file()

    def meta(self, dataset_id: str) -> DatasetMeta:
        path = self._dir(dataset_id) / "meta.json"
        if not path.is_file():
            raise DatasetNotFoundError(f"Dataset {dataset_id[:12]} is not in the store (deleted?); upload it again.")
        return DatasetMeta.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def load(self, dataset_id: str) -> pd.DataFrame:
        path = self._dir(dataset_id) / "data.parquet"
        if not path.is_file():
            raise DatasetNotFoundError(f"Dataset {dataset_id[:12]} is not in the store (deleted?); upload it again.")
        return pd.read_parquet(path)

    def list(self) -> list[DatasetMeta]:
        """All stored datasets, newest first."""
        if not self.datasets_dir.is_dir():
            return []
        metas = []
        for child in self.datasets_dir.iterdir():
            if _DATASET_ID.match(child.name) and (child / "meta.json").is_file():
                try:
                    metas.append(self.meta(child.name))
                except (OSError, ValueError, KeyError):
                    continue  # a damaged entry must not hide the others
        return sorted(metas, key=lambda m: m.uploaded_at, reverse=True)

    def delete(self, dataset_id: str) -> None:
        """Remove a dataset and the specs saved for it."""
        for spec in self.list_specs(dataset_id):
            self.delete_spec(spec.spec_id)
        shutil.rmtree(self._dir(dataset_id), ignore_errors=True)

    # specs ----------------------------------------------------------------------------------------------------------
    def _spec_path(self, spec_id: str) -> Path:
        if not isinstance(spec_id, str) or not _SPEC_ID.match(spec_id):
            raise SpecError(f"{str(spec_id)[:80]!r} is not a spec id; pick a saved spec from the list.")
        return self.specs_dir / f"{spec_id}.json"

    def save_spec(self, spec: DatasetSpec) -> str:
        """Save a spec (validate it first with :func:`core.data.spec.validate_spec`); returns its id."""
        self.meta(spec.dataset_id)  # the dataset must exist
        body = spec.to_dict() | {"saved_at": datetime.now(UTC).isoformat(timespec="microseconds")}
        _atomic_write(self._spec_path(spec.spec_id), json.dumps(body, indent=1))
        return spec.spec_id

    def load_spec(self, spec_id: str) -> DatasetSpec:
        path = self._spec_path(spec_id)
        if not path.is_file():
            raise SpecError(f"Spec {spec_id} is not saved (deleted?); save it again on the Data page.")
        return DatasetSpec.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def list_specs(self, dataset_id: str | None = None) -> list[DatasetSpec]:
        """Saved specs, newest first, optionally for one dataset."""
        if not self.specs_dir.is_dir():
            return []
        found = []
        for path in self.specs_dir.glob("*.json"):
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
                spec = DatasetSpec.from_dict(body)
            except (OSError, ValueError, SpecError):
                continue
            if dataset_id is None or spec.dataset_id == dataset_id:
                found.append((body.get("saved_at", ""), spec))
        return [spec for _, spec in sorted(found, key=lambda item: item[0], reverse=True)]

    def delete_spec(self, spec_id: str) -> None:
        self._spec_path(spec_id).unlink(missing_ok=True)
