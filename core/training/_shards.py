"""The files that carry a data-parallel run's rows to its Ray Train workers, sealed like every other run file.

The job's worker (on the app's machine) writes one Parquet file per Ray Train worker (``part-0000.parquet`` ...,
columns ``row``, ``y``, ``f0..``; ``row`` is the row's number in the whole training table) and one file with the
validation rows, into the run's scratch folder in the workspace. Each file passes through
:func:`core.security.at_rest.seal_bytes` on its way to disk: on an encrypted workspace it is sealed under the run's
data key and bound to its path inside the workspace (a file swapped with another worker's does not open), so no row
is ever stored in plaintext; without a key the files are plain Parquet.

Each Ray Train worker opens only its own file and the validation file with
:func:`core.security.at_rest.open_bytes`, which reads the master key from **the worker's own environment** (the
node's Ray was started with ``RISKBOARD_DATA_KEY_FILE`` set; see the README) and the wrapped data key from the
workspace's keyring. The key never travels in a task's arguments or runtime env, and the decrypted rows stay in the
worker's memory: they never pass through Ray's object store, which is not encrypted and spills to local disk when
full (why the workers read the files themselves rather than through Ray Data's readers).
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import EncryptionError
from core.security.at_rest import open_bytes, seal_bytes
from core.storage import atomic_write_bytes

VALIDATION = "validation.parquet"
NO_KEY_ON_NODE = ("a Ray Train worker on node {node} cannot open the run's training rows: {reason} Start every "
                  "node's Ray with RISKBOARD_DATA_KEY_FILE set to the workspace's key (see the README, 'Secrets').")


@dataclass(frozen=True)
class ShardFolder:
    """``folder`` inside the workspace ``home`` (the path every node reads), sealed under the data key ``key_id``.

    Only paths and a key *name* travel to the workers (the workspace must be on storage every node can read)."""

    home: Path
    folder: Path
    key_id: str

    def file_id(self, name: str) -> str:
        """The file's path inside the workspace, bound into its seal."""
        return (self.folder / name).relative_to(self.home).as_posix()

    def part(self, rank: int) -> str:
        return f"part-{rank:04d}.parquet"

    def write(self, name: str, first_row: int, X: np.ndarray, y: np.ndarray) -> None:
        """Rows ``first_row..`` of the table as one (sealed) Parquet file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {"row": pa.array(np.arange(first_row, first_row + len(X), dtype=np.int64)),
                   "y": pa.array(np.asarray(y, np.int64))}
        columns |= {f"f{j}": pa.array(np.asarray(X[:, j], np.float32)) for j in range(X.shape[1])}
        sink = io.BytesIO()
        pq.write_table(pa.table(columns), sink)
        stored = seal_bytes(self.home, self.key_id, self.file_id(name), sink.getvalue())
        atomic_write_bytes(self.folder / name, stored)

    def read(self, name: str, n_features: int, node: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row numbers, features, labels) of one file, opened with the key of this process's environment."""
        import pyarrow.parquet as pq

        try:
            data = open_bytes(self.home, self.file_id(name), (self.folder / name).read_bytes())
        except EncryptionError as exc:
            raise EncryptionError(NO_KEY_ON_NODE.format(node=node, reason=exc)) from None
        table = pq.read_table(io.BytesIO(data))
        X = np.column_stack([table.column(f"f{j}").to_numpy() for j in range(n_features)]).astype(np.float32)
        return (table.column("row").to_numpy().astype(np.int64), X,
                table.column("y").to_numpy().astype(np.int64))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def write_shards(shards: ShardFolder, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                 workers: int) -> None:
    """One file per worker (contiguous, near-equal slices of the table) and the validation rows."""
    bounds = np.linspace(0, len(X), max(1, workers) + 1).astype(int)
    for rank in range(max(1, workers)):
        start, stop = int(bounds[rank]), int(bounds[rank + 1])
        shards.write(shards.part(rank), start, X[start:stop], y[start:stop])
    shards.write(VALIDATION, 0, X_val, y_val)
