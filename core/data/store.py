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
from core.errors import DatasetNotFoundError, ErasureError, RiskboardError, SpecError, WorkspaceError
from core.security import activity, erasure
from core.security.actor import require_editor
from core.security.at_rest import dataset_key_id, open_bytes, seal_bytes
from core.security.crypto import MAGIC, is_plain_file
from core.storage import atomic_write_bytes, ensure_dir, replace_wiping_old, workspace_error, workspace_errors

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
        require_editor("upload a dataset")
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
                table = self._seal(dataset_id, "data.parquet", parquet_bytes(frame))
                atomic_write_bytes(staging / "data.parquet", table)
                meta_text = jsonsafe.dumps(meta.to_dict(), indent=1).encode("utf-8")
                atomic_write_bytes(staging / "meta.json", self._seal(dataset_id, "meta.json", meta_text))
                try:
                    os.replace(staging, target)
                except OSError:  # another process stored the same bytes first: theirs is identical
                    if not self.exists(dataset_id):
                        raise
                    shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        activity.append(self.home, "dataset_added", dataset_id, {"rows": meta.rows, "columns": meta.columns,
                                                                 "format": meta.format})
        return meta

    # encryption at rest: every file of a dataset (and its specs) is sealed under the dataset's data key -------------
    def _seal(self, dataset_id: str, name: str, data: bytes) -> bytes:
        return seal_bytes(self.home, dataset_key_id(dataset_id), f"datasets/{dataset_id}/{name}", data)

    def _open(self, dataset_id: str, name: str, path: Path) -> bytes:
        return open_bytes(self.home, f"datasets/{dataset_id}/{name}", path.read_bytes())

    def seal_plaintext(self) -> list[str]:
        """Seal, in place, every dataset file and spec written before a key was set (atomic per file, the old
        plaintext zeroed; files already sealed are left alone, so an interrupted sweep resumes). Returns the
        workspace-relative paths rewritten."""
        done: list[str] = []
        for meta in self.list():
            for name in ("meta.json", "data.parquet"):
                path = self._dir(meta.id) / name
                if is_plain_file(path):
                    replace_wiping_old(path, self._seal(meta.id, name, path.read_bytes()))
                    done.append(f"datasets/{meta.id}/{name}")
        for spec in self.list_specs():
            path = self._spec_path(spec.spec_id)
            if is_plain_file(path):
                sealed = seal_bytes(self.home, dataset_key_id(spec.dataset_id), f"specs/{path.name}",
                                    path.read_bytes())
                replace_wiping_old(path, sealed)
                done.append(f"specs/{path.name}")
        return done

    def exists(self, dataset_id: str) -> bool:
        return (self._dir(dataset_id) / "meta.json").is_file()

    def meta(self, dataset_id: str) -> DatasetMeta:
        path = self._dir(dataset_id) / "meta.json"
        if not path.is_file():
            raise DatasetNotFoundError(f"Dataset {dataset_id[:12]} is not in the store (deleted?); upload it again.")
        try:
            return DatasetMeta.from_dict(json.loads(self._open(dataset_id, "meta.json", path).decode("utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetNotFoundError(DATASET_DAMAGED.format(short=dataset_id[:12], name="meta.json")) from exc

    def load(self, dataset_id: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """The stored table, or only ``columns`` of it (a view that needs a few columns reads only those). Names the
        table does not have are left out, so the caller's own check names a missing column in its words."""
        path = self._dir(dataset_id) / "data.parquet"
        if not path.is_file():
            raise DatasetNotFoundError(f"Dataset {dataset_id[:12]} is not in the store (deleted?); upload it again.")
        try:
            with open(path, "rb") as handle:
                sealed = handle.read(len(MAGIC)) == MAGIC
            source = io.BytesIO(self._open(dataset_id, "data.parquet", path)) if sealed else path  # decrypt in memory
            if columns is not None:
                present = set(pq.read_schema(source).names)
                columns = [c for c in dict.fromkeys(columns) if c in present]
                if sealed:
                    source.seek(0)
            return pd.read_parquet(source, columns=columns)
        except RiskboardError:  # a missing or wrong key, a tampered file: the message names it
            raise
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
        """Remove a dataset and the specs saved for it: all or nothing, then crypto-shredding, then the bytes.

        The dataset folder and its specs are first moved (renamed, atomic on one file system) into a trash folder
        inside the workspace; if any move fails, the ones done are moved back and :class:`WorkspaceError` says why,
        so a failure never leaves the dataset listed without its specs. Then its data key is destroyed (every copy
        left anywhere is unreadable from here on) and the trash is removed; files that cannot be removed are named
        in an :class:`ErasureError` and retried by the next delete or by :meth:`purge`. The deletion is logged.
        """
        require_editor("delete a dataset")
        meta = self.meta(dataset_id)  # unknown id: DatasetNotFoundError before anything moves
        folder = self._dir(dataset_id)
        short = dataset_id[:12]
        specs = [self._spec_path(s.spec_id) for s in self.list_specs(dataset_id)]
        moved: list[tuple[Path, Path]] = []
        try:
            trash = erasure.new_trash(self.home)
            for source in [folder, *specs]:
                moved.append((source, erasure.move_into(trash, source, source.name if source != folder else "dataset")))
        except (OSError, WorkspaceError) as exc:
            for source, parked in reversed(moved):
                with contextlib.suppress(OSError):
                    os.replace(parked, source)
            with contextlib.suppress(OSError, UnboundLocalError):
                trash.rmdir()
            why = str(exc if isinstance(exc, WorkspaceError) else workspace_error(exc, self.home)).split(";")[0]
            raise WorkspaceError(DELETE_FAILED.format(short=short, why=why)) from exc
        shredded = bool(erasure.shred(self.home, [dataset_key_id(dataset_id)]))
        left = erasure.purge(self.home)
        activity.append(self.home, "dataset_deleted", dataset_id,
                        {"rows": meta.rows, "specs": len(specs), "key_destroyed": shredded, "leftovers": len(left)})
        if left:
            raise ErasureError(erasure.leftovers_message(f"dataset {short} is deleted", left, shredded))

    def purge(self) -> list[str]:
        """Retry removing what earlier deletes left behind; returns what is still there."""
        require_editor("purge deleted files")
        return erasure.purge(self.home)

    # specs ----------------------------------------------------------------------------------------------------------
    def _spec_path(self, spec_id: str) -> Path:
        if not isinstance(spec_id, str) or not _SPEC_ID.fullmatch(spec_id):
            raise SpecError(f"{str(spec_id)[:80]!r} is not a spec id; pick a saved spec from the list.")
        return self.specs_dir / f"{spec_id}.json"

    def save_spec(self, spec: DatasetSpec) -> str:
        """Save a spec (validate it first with :func:`core.data.spec.validate_spec`); returns its id."""
        require_editor("save a dataset spec")
        self.meta(spec.dataset_id)  # the dataset must exist
        body = spec.to_dict() | {"saved_at": datetime.now(UTC).isoformat(timespec="microseconds")}
        text = jsonsafe.dumps(body, indent=1).encode("utf-8")
        sealed = seal_bytes(self.home, dataset_key_id(spec.dataset_id), f"specs/{spec.spec_id}.json", text)
        atomic_write_bytes(self._spec_path(spec.spec_id), sealed)
        activity.append(self.home, "spec_saved", spec.spec_id, {"dataset_id": spec.dataset_id})
        return spec.spec_id

    def _spec_body(self, path: Path) -> dict:
        return json.loads(open_bytes(self.home, f"specs/{path.name}", path.read_bytes()).decode("utf-8"))

    def load_spec(self, spec_id: str) -> DatasetSpec:
        path = self._spec_path(spec_id)
        if not path.is_file():
            raise SpecError(f"Spec {spec_id} is not saved (deleted?); save it again on the Data page.")
        return DatasetSpec.from_dict(self._spec_body(path))

    def list_specs(self, dataset_id: str | None = None) -> list[DatasetSpec]:
        """Saved specs, newest first, optionally for one dataset."""
        if not self.specs_dir.is_dir():
            return []
        found = []
        for path in self.specs_dir.glob("*.json"):
            try:
                body = self._spec_body(path)
                spec = DatasetSpec.from_dict(body)
            except (OSError, ValueError, SpecError):
                continue
            if dataset_id is None or spec.dataset_id == dataset_id:
                found.append((body.get("saved_at", ""), spec))
        return [spec for _, spec in sorted(found, key=lambda item: item[0], reverse=True)]

    def delete_spec(self, spec_id: str) -> None:
        require_editor("delete a dataset spec")
        path = self._spec_path(spec_id)
        with workspace_errors(self.specs_dir):
            path.unlink(missing_ok=True)
