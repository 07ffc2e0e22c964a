"""Dataset store: each upload saved once as Parquet, keyed by the SHA-256 of its bytes, plus saved specs.

Layout under the workspace::

    datasets/<sha256>/data.parquet   the parsed table
    datasets/<sha256>/meta.json      original name, upload time, shape, schema, ingest warnings
    specs/<spec_id>.json             saved dataset specs

Ids are validated before they touch a path, and the user's file name is stored as data only (never a path), so an
upload named ``../../etc/passwd`` is just a label.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core import jsonsafe
from core.config import Settings, get_settings
from core.data.ingest import read_table
from core.data.schema import DatasetSchema, infer_schema
from core.data.spec import DatasetSpec
from core.errors import DatasetNotFoundError, SpecError, WorkspaceError
from core.storage import atomic_write_bytes, atomic_write_text, ensure_dir, workspace_error, workspace_errors

_DATASET_ID = re.compile(r"[0-9a-f]{64}")
_SPEC_ID = re.compile(r"[0-9a-f]{16}")


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


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet, dictionary-encoding only the columns that are not floats: a million distinct floats
    make the writer build (and then drop) a dictionary per column, which was most of the time of storing a table."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    encode = [name for name, kind in zip(table.column_names, table.schema.types, strict=True)
              if not pa.types.is_floating(kind)]
    buffer = io.BytesIO()
    pq.write_table(table, buffer, use_dictionary=encode, write_statistics=encode)
    return buffer.getvalue()


def validate_dataset_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not _DATASET_ID.fullmatch(dataset_id):
        raise DatasetNotFoundError(f"{str(dataset_id)[:80]!r} is not a dataset id (64 hex characters); pick a dataset "
                                   "from the list.")
    return dataset_id


DATASET_DAMAGED = ("the stored files of dataset {short} are damaged: {name}; delete the dataset and upload the file "
                   "again.")
DELETE_FAILED = ("dataset {short} could not be deleted: {why}. Nothing was removed; fix the folder's permissions "
                 "(or free the disk) and retry.")


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
        staging = ensure_dir(self.datasets_dir) / f".upload-{secrets.token_hex(8)}"
        try:
            with workspace_errors(self.datasets_dir):
                staging.mkdir()
                atomic_write_bytes(staging / "data.parquet", parquet_bytes(frame))
                atomic_write_text(staging / "meta.json", jsonsafe.dumps(meta.to_dict(), indent=1))
                try:
                    os.replace(staging, target)
                except OSError:  # another process stored the same bytes first: theirs is identical
                    if not self.exists(dataset_id):
                        raise
                    shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return meta

    def exists(self, dataset_id: str) -> bool:
        return (self._dir(dataset_id) / "meta.json").is_file()

    def meta(self, dataset_id: str) -> DatasetMeta:
        path = self._dir(dataset_id) / "meta.json"
        if not path.is_file():
            raise DatasetNotFoundError(f"Dataset {dataset_id[:12]} is not in the store (deleted?); upload it again.")
        try:
            return DatasetMeta.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetNotFoundError(DATASET_DAMAGED.format(short=dataset_id[:12], name="meta.json")) from exc

    def load(self, dataset_id: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """The stored table, or only ``columns`` of it (a view that needs a few columns reads only those). Names the
        table does not have are left out, so the caller's own check names a missing column in its words."""
        path = self._dir(dataset_id) / "data.parquet"
        if not path.is_file():
            raise DatasetNotFoundError(f"Dataset {dataset_id[:12]} is not in the store (deleted?); upload it again.")
        try:
            if columns is not None:
                present = set(pq.read_schema(path).names)
                columns = [c for c in dict.fromkeys(columns) if c in present]
            return pd.read_parquet(path, columns=columns)
        except Exception as exc:
            raise DatasetNotFoundError(DATASET_DAMAGED.format(short=dataset_id[:12], name="data.parquet")) from exc

    def list(self) -> list[DatasetMeta]:
        """All stored datasets, newest first."""
        if not self.datasets_dir.is_dir():
            return []
        metas = []
        for child in self.datasets_dir.iterdir():
            if _DATASET_ID.fullmatch(child.name) and (child / "meta.json").is_file():
                try:
                    metas.append(self.meta(child.name))
                except (OSError, ValueError, KeyError):
                    continue  # a damaged entry must not hide the others
        return sorted(metas, key=lambda m: m.uploaded_at, reverse=True)

    def delete(self, dataset_id: str) -> None:
        """Remove a dataset and the specs saved for it, all or nothing.

        The dataset folder and its specs are first moved (renamed, atomic on one file system) into a trash folder
        inside the workspace; if any move fails, the ones done are moved back and :class:`WorkspaceError` says why,
        so a failure never leaves the dataset listed without its specs. Only then is the trash removed.
        """
        self.meta(dataset_id)  # unknown id: DatasetNotFoundError before anything moves
        folder = self._dir(dataset_id)
        short = dataset_id[:12]
        trash = self.home / f".trash-{secrets.token_hex(8)}"
        moved: list[tuple[Path, Path]] = []
        try:
            trash.mkdir()
            for source in [folder, *(self._spec_path(s.spec_id) for s in self.list_specs(dataset_id))]:
                parked = trash / (source.name if source != folder else "dataset")
                os.replace(source, parked)
                moved.append((source, parked))
        except OSError as exc:
            for source, parked in reversed(moved):
                with contextlib.suppress(OSError):
                    os.replace(parked, source)
            with contextlib.suppress(OSError):
                trash.rmdir()
            error = workspace_error(exc, self.home)
            raise WorkspaceError(DELETE_FAILED.format(short=short, why=str(error).split(";")[0])) from exc
        shutil.rmtree(trash, ignore_errors=True)  # logically deleted already; leftovers are only disk space

    # specs ----------------------------------------------------------------------------------------------------------
    def _spec_path(self, spec_id: str) -> Path:
        if not isinstance(spec_id, str) or not _SPEC_ID.fullmatch(spec_id):
            raise SpecError(f"{str(spec_id)[:80]!r} is not a spec id; pick a saved spec from the list.")
        return self.specs_dir / f"{spec_id}.json"

    def save_spec(self, spec: DatasetSpec) -> str:
        """Save a spec (validate it first with :func:`core.data.spec.validate_spec`); returns its id."""
        self.meta(spec.dataset_id)  # the dataset must exist
        body = spec.to_dict() | {"saved_at": datetime.now(UTC).isoformat(timespec="microseconds")}
        atomic_write_text(self._spec_path(spec.spec_id), jsonsafe.dumps(body, indent=1))
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
        path = self._spec_path(spec_id)
        with workspace_errors(self.specs_dir):
            path.unlink(missing_ok=True)
