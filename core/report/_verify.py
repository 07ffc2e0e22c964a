"""Does a report file belong to a run in this workspace, unchanged? (``python -m core verify REPORT``)

Checks, in order: the file is a Riskboard report (else bad input); its content hash matches its bytes (a changed
number or sentence fails); the run exists here; the run's dataset is the one the report names and is stored; the
model weights (for an uploaded model, its ONNX file; for imported scores, the stored scores) hash to what the report
says, recomputed from the file on disk, not read from the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.data.store import DatasetStore
from core.errors import ReportError, RiskboardError
from core.report._provenance import document_hash, read_provenance
from core.runs import RunStore
from core.runs._artifacts import sha256_file
from core.training.artifacts import MODEL_ONNX, MODEL_WEIGHTS, TEST_SCORES

NOT_A_REPORT = ("{name} is not a Riskboard report (no provenance block found); give a file written by `python -m "
                "core report` or the Report page's download buttons.")
UNREADABLE = "cannot read {name} as UTF-8 text; give a report file written by Riskboard."
MAX_REPORT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'MISMATCH':<8} {self.name:<14} {self.detail}"


def _file_hash(store: RunStore, run_id: str, name: str) -> str | None:
    path = store.runs_dir / run_id / name
    return sha256_file(path) if path.is_file() else None


def verify_text(store: RunStore, document: str, *, name: str = "the file") -> list[Finding]:
    """Every check on one report text; :class:`ReportError` when it is not a report at all."""
    provenance = read_provenance(document)
    if not isinstance(provenance, dict) or not isinstance(provenance.get("content_sha256"), str):
        raise ReportError(NOT_A_REPORT.format(name=name))
    claimed = provenance["content_sha256"]
    actual = document_hash(document, claimed)
    findings = [Finding("content hash", actual == claimed, f"{actual}" if actual == claimed else
                        f"the report says {claimed} but its content hashes to {actual}: it was changed after it "
                        "was written")]
    run_id = str(provenance.get("run_id"))
    try:
        record = store.get(run_id)
    except RiskboardError:
        findings.append(Finding("run", False, f"run {run_id} is not in this workspace ({store.home})"))
        return findings
    findings.append(Finding("run", True, f"run {run_id} exists ({record.status})"))
    dataset = provenance.get("dataset_sha256")
    stored = DatasetStore(store.home).exists(record.dataset_id)
    same = dataset == record.dataset_id
    findings.append(Finding("dataset", same and stored, f"{dataset}" if same and stored else
                            f"the run's dataset is {record.dataset_id}, the report names {dataset}" if not same else
                            f"dataset {record.dataset_id} is no longer stored in this workspace"))
    if record.is_imported:
        want, file_name, what = provenance.get("scores_sha256"), TEST_SCORES, "stored scores"
    elif record.is_uploaded_model:
        want, file_name, what = provenance.get("weights_sha256"), MODEL_ONNX, "uploaded model file"
    else:
        want, file_name, what = provenance.get("weights_sha256"), MODEL_WEIGHTS, "model weights"
    have = _file_hash(store, run_id, file_name)
    findings.append(Finding(what.split()[-1], have is not None and have == want, f"{have}" if have == want else
                            f"the run's {what} are missing" if have is None else
                            f"the run's {what} hash to {have}, the report says {want}"))
    return findings


def verify_file(store: RunStore, path: str | Path) -> list[Finding]:
    """Read a report file the user named (size-capped) and verify it."""
    file = Path(path)
    if not file.is_file():
        raise ReportError(f"{str(path)!r} is not a file; check the path.")
    if file.stat().st_size > MAX_REPORT_BYTES:
        raise ReportError(NOT_A_REPORT.format(name=file.name))
    try:
        document = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError(UNREADABLE.format(name=file.name)) from None
    except OSError as exc:
        raise ReportError(f"cannot read {file.name}: {exc.strerror}.") from None
    return verify_text(store, document, name=file.name)
