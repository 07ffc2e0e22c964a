"""Choose the torch device a run trains on: CUDA, then Apple MPS, then the CPU.

The choice is shown to the user next to the run ("cuda:0 (NVIDIA H200) - CUDA GPU found"), because a run that is
ten times slower than expected is usually a run that silently fell back to the CPU. ``RISKBOARD_DEVICE`` (read
through :func:`core.config.get_settings`) or an explicit ``override`` pins the device; asking for one that is not
there is an error rather than a silent fallback, so a misconfigured GPU box is noticed at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from core.config import DEVICE_CHOICES, get_settings
from core.errors import ConfigError

UNKNOWN_DEVICE = "device {value!r} is not one of cuda, cuda:N, mps or cpu; {fix}"
NO_CUDA = "{source} asks for {value!r} but no CUDA GPU is available to torch here; {fix}"
NO_CUDA_INDEX = "{source} asks for {value!r} but only {count} CUDA GPU(s) are visible (cuda:0 .. cuda:{last}); {fix}"
NO_MPS = "{source} asks for 'mps' but the Apple MPS backend is not available here; {fix}"


@dataclass(frozen=True)
class DeviceChoice:
    """The device to train on, a display name, and why it was chosen (one plain sentence)."""

    device: torch.device
    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form for the run store."""
        return {"device": str(self.device), "name": self.name, "reason": self.reason}


def _cuda_available() -> bool:
    return bool(torch.cuda.is_available())


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _cuda_name(index: int) -> str:
    try:
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    except (RuntimeError, AssertionError, AttributeError):  # a mocked or half-initialised CUDA runtime
        return f"cuda:{index}"


def _cuda_count() -> int:
    try:
        return int(torch.cuda.device_count())
    except (RuntimeError, AssertionError):
        return 0


def _forced(value: str, source: str) -> DeviceChoice:
    fix = ("unset it to choose automatically." if source.startswith("RISKBOARD_DEVICE")
           else "pick another device or leave it on automatic.")
    kind, _, index_text = value.partition(":")
    if kind not in DEVICE_CHOICES or (index_text and (kind != "cuda" or not index_text.isdigit())):
        raise ConfigError(UNKNOWN_DEVICE.format(value=value, fix=fix))
    reason = f"{source} set" if source.startswith("RISKBOARD_DEVICE") else f"{source} requested"
    if kind == "cpu":
        return DeviceChoice(torch.device("cpu"), "cpu", reason)
    if kind == "mps":
        if not _mps_available():
            raise ConfigError(NO_MPS.format(source=source, fix=fix))
        return DeviceChoice(torch.device("mps"), "mps (Apple GPU)", reason)
    if not _cuda_available():
        raise ConfigError(NO_CUDA.format(source=source, value=value, fix=fix))
    index = int(index_text) if index_text else 0
    count = _cuda_count()
    if index_text and count and index >= count:
        raise ConfigError(NO_CUDA_INDEX.format(source=source, value=value, count=count, last=count - 1, fix=fix))
    return DeviceChoice(torch.device("cuda", index), _cuda_name(index), reason)


def select_device(override: str | None = None) -> DeviceChoice:
    """Pick the device: ``override`` if given, else ``RISKBOARD_DEVICE``, else cuda > mps > cpu.

    Raises :class:`ConfigError` when the requested device is unknown or not available, because training on a
    different device than the one asked for would make timings and reproducibility claims wrong without notice.
    """
    if override is not None and override.strip():
        value = override.strip().lower()
        return _forced(value, f"device {value!r}")
    setting = get_settings().device
    if setting is not None:
        return _forced(setting, f"RISKBOARD_DEVICE={setting}")
    if _cuda_available():
        return DeviceChoice(torch.device("cuda", 0), _cuda_name(0), "CUDA GPU found")
    if _mps_available():
        return DeviceChoice(torch.device("mps"), "mps (Apple GPU)", "Apple MPS GPU found")
    return DeviceChoice(torch.device("cpu"), "cpu", "no CUDA or MPS device; using the CPU")


def training_threads(cores: int | None = None) -> int:
    """Intra-op CPU threads a training worker should give torch: every core but one (at least one).

    Why not all cores: torch's thread pool waits for its slowest thread at every operation, so when another process
    (the web server, a second job) holds one of two cores, a 2-thread step on the tiny tabular MLP was measured
    10-90x slower than a 1-thread step on a shared 2-core machine, while a second thread gains at most about 20%
    (batch 4096; nothing at batch 256-1024) when the machine is otherwise idle. A training worker should call
    ``torch.set_num_threads(training_threads())`` once at start.
    """
    count = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, count - 1)


def cpu_workers(cores: int | None = None) -> int:
    """Independent single-threaded workers for work that splits into many equal pieces (DeepLIFT's row chunks):
    one per core this process may run on.

    Unlike torch's intra-op threads (:func:`training_threads`), such workers never wait for one another inside an
    operation, so a core busy elsewhere slows only the pieces that run on it; on an idle 2-core machine two workers
    explained 10,000 rows 1.98x faster than one.
    """
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # not on Linux
            cores = os.cpu_count() or 1
    return max(1, cores)


def warm_up_torch() -> None:
    """One optimiser step on a dummy parameter, on the device the run will use: torch imports its compiler stack
    (``torch._dynamo``, seconds) the first time an optimiser is built or stepped, and the first CUDA call creates
    the context and the cuBLAS handle (seconds more on a GPU). Paid before the run needs them (a standby worker does
    it before the click, the CLI while it reads the table), neither delays the first epoch. A device setting that
    cannot be honoured is left for the run to report; the warm-up then uses the CPU."""
    try:
        device = select_device().device
    except ConfigError:
        device = torch.device("cpu")
    weight = torch.nn.Parameter(torch.zeros(2, 2, device=device))
    for optimizer in (torch.optim.AdamW([weight], lr=1e-3), torch.optim.SGD([weight], lr=1e-3, momentum=0.9)):
        optimizer.zero_grad()
        (weight @ weight).sum().backward()  # a matrix product: the BLAS handle as well as the context
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
