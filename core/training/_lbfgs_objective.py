"""The penalised logistic objective and its gradient in one pass, for the L-BFGS-B driver in
:mod:`core.training.lbfgs`: one form for the CPU (NumPy float64, one-hot-sparse tables kept as CSR) and one for
accelerators (torch on the run's device).

Both compute, for flat parameters ``theta = [W.ravel(), b]`` (``W`` is K x d, K = 1 for a binary target)::

    mean_i( w_i * loss_i ) + lam / 2 * ||W||^2,   lam = 1 / (C * n_train)

and return ``(value, gradient)`` as a Python float and a float64 NumPy vector, which is what SciPy's L-BFGS-B
reads. Why a closed form rather than autograd: the same two passes over the table (``X @ W`` forward, ``X^T R``
backward) without the graph; measured on the Adult table (22,792 x 114, one thread) 1.5 ms against 5.7 ms.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse
from scipy.special import expit
from torch import Tensor
from torch.nn import functional as F

SPARSE_BELOW_DENSITY = 0.3  # CSR pays below this share of non-zero cells (one-hot blocks: Adult is 12% non-zero)
FLOAT64_BELOW_TOL = 1e-5  # tolerances this tight need float64 gradients (float32 sums carry ~1e-7 relative error)
FLOAT64_MAX_CELLS = 50_000_000  # rows x columns above which an accelerator's float64 copy is not worth it


def _csr(X: np.ndarray, dtype: type) -> sparse.csr_matrix:
    """CSR straight from the non-zero mask (``sparse.csr_matrix(dense)`` goes through COO and is ~5x slower)."""
    mask = X != 0
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    indices = np.nonzero(mask)[1].astype(np.int32)
    return sparse.csr_matrix((X[mask].astype(dtype), indices, indptr), shape=X.shape)


class _Parts:
    """Splits flat parameters into ``W`` (K x d) and ``b`` (K), and the targets' one-hot form."""

    def __init__(self, d: int, n_classes: int) -> None:
        self.d, self.k = d, 1 if n_classes == 2 else n_classes
        self.size = self.k * (d + 1)

    def split(self, theta):  # a NumPy array or a tensor: both slice and reshape alike
        """(W, b) views of the flat parameters."""
        return theta[: self.k * self.d].reshape(self.k, self.d), theta[self.k * self.d:]


class NumpyObjective:
    """The CPU form: CSR when the table is mostly zeros, the products through BLAS / SciPy's sparse kernels with no
    per-call copy of the table.

    A dense table's passes run in float32 at the default tolerance (half the bytes, twice the BLAS speed: digits,
    1,257 x 64 and 10 classes, fell from 0.027 to 0.021 CPU seconds a fit) and float64 below
    :data:`FLOAT64_BELOW_TOL`; the loss is summed in float64 and the gradient handed to L-BFGS-B is float64. A CSR
    table stays float64: its indices cost as much as its values, and float32 sums made Adult take 73 iterations
    instead of 57, more than the bytes saved."""

    def __init__(self, X: np.ndarray, y: np.ndarray, row_weight: np.ndarray | None, lam: float,
                 n_classes: int, tol: float) -> None:
        density = np.count_nonzero(X) / max(X.size, 1)
        self.sparse = density < SPARSE_BELOW_DENSITY
        self.dtype = np.float32 if tol >= FLOAT64_BELOW_TOL and not self.sparse else np.float64
        self.X = _csr(X, self.dtype) if self.sparse else np.ascontiguousarray(X, dtype=self.dtype)
        self.parts, self.lam, self.binary = _Parts(X.shape[1], n_classes), lam, n_classes == 2
        n = X.shape[0]
        self.scale = np.full(n, 1.0 / n) if row_weight is None else row_weight / n
        self.scale_t = self.scale.astype(self.dtype)
        self.target, self.y, self.rows = y.astype(self.dtype), y, np.arange(n)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        W64, _ = self.parts.split(theta)
        W, b = (part.astype(self.dtype) for part in self.parts.split(theta))
        if self.binary:
            z = self.X @ W[0] + b[0]
            terms = np.logaddexp(0.0, z) - self.target * z
            residual = (expit(z) - self.target) * self.scale_t
            grad_w, grad_b = (self.X.T @ residual)[None, :], residual.sum(keepdims=True)
        else:
            z = self.X @ W.T
            z += b
            z -= z.max(axis=1, keepdims=True)  # the stable softmax, in place: one exp serves loss and gradient
            terms = -z[self.rows, self.y]
            np.exp(z, out=z)
            total = z.sum(axis=1)
            terms += np.log(total)
            z /= total[:, None]
            z[self.rows, self.y] -= 1.0  # residual p - onehot(y)
            z *= self.scale_t[:, None]
            residual = z
            grad_w, grad_b = np.asarray(self.X.T @ residual).T, residual.sum(axis=0)
        loss = float(terms.astype(np.float64) @ self.scale)
        grad = np.concatenate([(grad_w + self.lam * W64).ravel(), grad_b.astype(np.float64)])
        return loss + 0.5 * self.lam * float(np.dot(W64.ravel(), W64.ravel())), grad


def torch_dtype(device: torch.device, cells: int, tol: float) -> torch.dtype:
    """float32 on an accelerator (half the memory traffic: the solver is bandwidth-bound) unless ``tol`` asks for
    more precision than float32 sums give, and the device has float64 and the table is not huge."""
    if tol >= FLOAT64_BELOW_TOL or device.type == "mps" or cells > FLOAT64_MAX_CELLS:
        return torch.float32
    return torch.float64


class TorchObjective:
    """The accelerator form: the table stays on the device (``X^T`` kept as its own contiguous copy, since a
    matrix-vector product over contiguous rows is several times faster than over a transposed view); only the
    parameters and the gradient (K x (d + 1) numbers) cross to the host per evaluation."""

    def __init__(self, X: Tensor, y: Tensor, row_weight: Tensor | None, lam: float, n_classes: int) -> None:
        self.X, self.lam, self.binary = X, lam, n_classes == 2
        self.XT = X.t().contiguous() if X.numel() <= FLOAT64_MAX_CELLS else X.t()
        self.parts = _Parts(X.shape[1], n_classes)
        n = X.shape[0]
        self.scale = torch.full((n,), 1.0 / n, dtype=X.dtype, device=X.device) if row_weight is None \
            else row_weight / n
        self.target = y.to(X.dtype) if self.binary else F.one_hot(y, n_classes).to(X.dtype)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        flat = torch.from_numpy(theta).to(device=self.X.device, dtype=self.X.dtype)
        W, b = self.parts.split(flat)
        if self.binary:
            z = torch.mv(self.X, W[0]) + b[0]
            terms = F.softplus(z) - self.target * z
            residual = (torch.sigmoid(z) - self.target) * self.scale
            grad_w, grad_b = torch.mv(self.XT, residual)[None, :], residual.sum().reshape(1)
        else:
            z = torch.addmm(b, self.X, W.t())
            log_p = torch.log_softmax(z, dim=1)
            terms = -(log_p * self.target).sum(dim=1)
            residual = (log_p.exp() - self.target) * self.scale[:, None]
            grad_w, grad_b = (self.XT @ residual).t(), residual.sum(dim=0)
        value = (terms * self.scale).sum() + 0.5 * self.lam * (W * W).sum()
        grad = torch.cat([(grad_w + self.lam * W).reshape(-1), grad_b])
        return float(value.item()), grad.double().cpu().numpy()
