"""Device choice: cuda > mps > cpu, overrides, and clear errors for devices that are not there."""

from __future__ import annotations

import pytest
import torch

from core.device import DeviceChoice, cpu_workers, select_device, training_threads
from core.errors import ConfigError


@pytest.fixture
def fake_devices(monkeypatch: pytest.MonkeyPatch):
    """Control what torch reports as available; returns a setter."""
    state = {"cuda": False, "mps": False, "count": 0}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: state["cuda"])
    monkeypatch.setattr(torch.cuda, "device_count", lambda: state["count"])
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: f"Fake GPU {index}")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: state["mps"])

    def set_available(*, cuda: bool = False, mps: bool = False, count: int | None = None) -> None:
        state.update(cuda=cuda, mps=mps, count=(1 if cuda else 0) if count is None else count)

    return set_available


def test_cpu_when_nothing_else(fake_devices) -> None:
    fake_devices()
    choice = select_device()
    assert choice == DeviceChoice(torch.device("cpu"), "cpu", "no CUDA or MPS device; using the CPU")
    assert choice.to_dict() == {"device": "cpu", "name": "cpu", "reason": "no CUDA or MPS device; using the CPU"}


def test_cuda_preferred_over_mps(fake_devices) -> None:
    fake_devices(cuda=True, mps=True)
    choice = select_device()
    assert choice.device == torch.device("cuda", 0)
    assert choice.name == "cuda:0 (Fake GPU 0)"
    assert choice.reason == "CUDA GPU found"


def test_mps_when_no_cuda(fake_devices) -> None:
    fake_devices(mps=True)
    choice = select_device()
    assert choice.device == torch.device("mps")
    assert choice.reason == "Apple MPS GPU found"


def test_env_override_to_cpu(fake_devices, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_devices(cuda=True)
    monkeypatch.setenv("RISKBOARD_DEVICE", "cpu")
    choice = select_device()
    assert choice.device == torch.device("cpu")
    assert choice.reason == "RISKBOARD_DEVICE=cpu set"


def test_explicit_override_beats_env(fake_devices, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_devices(cuda=True)
    monkeypatch.setenv("RISKBOARD_DEVICE", "cpu")
    choice = select_device("cuda")
    assert choice.device == torch.device("cuda", 0)
    assert choice.reason == "device 'cuda' requested"


def test_cuda_index_override(fake_devices) -> None:
    fake_devices(cuda=True, count=2)
    assert select_device("cuda:1").name == "cuda:1 (Fake GPU 1)"
    with pytest.raises(ConfigError, match=r"only 2 CUDA GPU\(s\)"):
        select_device("cuda:2")


def test_env_asks_for_missing_cuda(fake_devices, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_devices(mps=True)
    monkeypatch.setenv("RISKBOARD_DEVICE", "cuda")
    with pytest.raises(ConfigError, match=r"RISKBOARD_DEVICE=cuda asks for 'cuda' but no CUDA GPU.*unset it"):
        select_device()


def test_override_asks_for_missing_mps(fake_devices) -> None:
    fake_devices(cuda=True)
    with pytest.raises(ConfigError, match="Apple MPS backend is not available"):
        select_device("mps")


@pytest.mark.parametrize("value", ["tpu", "cuda:x", "cpu:0", "mps:1"])
def test_unknown_override(fake_devices, value: str) -> None:
    fake_devices()
    with pytest.raises(ConfigError, match="is not one of cuda, cuda:N, mps or cpu"):
        select_device(value)


def test_bad_env_value(fake_devices, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_devices()
    monkeypatch.setenv("RISKBOARD_DEVICE", "gpu")
    with pytest.raises(ConfigError, match="RISKBOARD_DEVICE"):
        select_device()


def test_real_machine_choice_is_usable() -> None:
    choice = select_device()
    assert torch.zeros(2, device=choice.device).sum().item() == 0


def test_training_threads_leave_one_core_free() -> None:
    assert [training_threads(n) for n in (1, 2, 4, 16)] == [1, 1, 3, 15]
    assert training_threads() >= 1


def test_cpu_workers_are_one_per_core_this_process_may_use(monkeypatch) -> None:
    import os

    assert [cpu_workers(n) for n in (0, 1, 2, 16)] == [1, 1, 2, 16]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert cpu_workers() == 3
