"""A run's split is stored compactly (``split.npy``, one int8 a row) and runs stored with ``split.json`` still load."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ArtifactError, SpecError
from core.models.split import SplitIndices
from core.runs import RunArtifacts
from core.training import artifacts


def _split() -> SplitIndices:
    return SplitIndices(train=np.array([0, 2, 3, 7]), val=np.array([5]), test=np.array([1, 6]))


def test_codes_round_trip_and_mark_unused_rows():
    split = _split()
    codes = split.to_codes()
    assert codes.dtype == np.int8
    assert codes.tolist() == [0, 2, 0, 0, -1, 1, 2, 0]  # row 4 is in no part (a missing target)
    assert SplitIndices.from_codes(codes) == split


def test_overlapping_parts_cannot_be_encoded():
    with pytest.raises(SpecError, match="more than one part"):
        SplitIndices(train=np.array([0, 1]), val=np.array([1]), test=np.array([2])).to_codes()


def test_saved_as_npy_and_loaded_back(tmp_path):
    arts = RunArtifacts(tmp_path / "run")
    artifacts.save_split(arts, _split())
    assert arts.has(artifacts.SPLIT_FILE) and not arts.has(artifacts.SPLIT_JSON)
    assert artifacts.load_split(arts) == _split()
    assert artifacts.trained_run_files(arts) == artifacts.TRAINED_RUN_FILES
    assert (tmp_path / "run" / "split.npy").stat().st_size < 200  # header + 8 bytes, not a JSON list per part


def test_a_run_stored_with_split_json_still_loads(tmp_path):
    arts = RunArtifacts(tmp_path / "old")
    arts.write_json(artifacts.SPLIT_JSON, {"train": [3, 0], "val": [1], "test": [2]})
    split = artifacts.load_split(arts)
    assert split.train.tolist() == [0, 3] and split.val.tolist() == [1] and split.test.tolist() == [2]
    assert artifacts.SPLIT_JSON in artifacts.trained_run_files(arts)
    assert artifacts.SPLIT_FILE not in artifacts.trained_run_files(arts)


@pytest.mark.parametrize("bad", [np.array([0, 1], dtype=np.int64), np.array([0, 5], dtype=np.int8),
                                 np.zeros((2, 2), dtype=np.int8)])
def test_a_malformed_split_array_is_named_damaged(tmp_path, bad):
    arts = RunArtifacts(tmp_path / "run")
    arts.write_array(artifacts.SPLIT_FILE, bad)
    with pytest.raises(ArtifactError, match=r"split\.npy"):
        artifacts.load_split(arts)


def test_object_arrays_are_never_stored(tmp_path):
    with pytest.raises(TypeError):
        RunArtifacts(tmp_path / "run").write_array("x.npy", np.array([{"a": 1}], dtype=object))
