"""Readers for datasets a reader has on disk: MNIST-style IDX files and CIFAR-10 batches.

dlbook never downloads: point these at a local copy (e.g. ``train-images-idx3-ubyte.gz`` from
the MNIST or Fashion-MNIST pages, ``data_batch_1`` from ``cifar-10-python.tar.gz``).
"""
from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

# IDX type codes (LeCun et al.): the third byte of the magic number. Data is big-endian.
IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str | Path, who: str) -> bytes:
    """The file's bytes, un-gzipped when it starts with gzip's magic (whatever its name)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{who}: no file at '{path}'. dlbook does not download data: "
                                "download the dataset yourself and pass the local path")
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"{who}: '{path}' is a damaged gzip file ({err})") from err
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST, Fashion-MNIST, EMNIST), gzipped or not, into an array.

    Format: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions ``d``, then ``d`` big-endian uint32
    sizes, then the data in row-major big-endian order. The result has the native byte order,
    e.g. ``(60000, 28, 28)`` uint8 images or ``(60000,)`` uint8 labels.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a bad magic number,
    a truncated file or trailing bytes.
    """
    raw = _read_bytes(path, "read_idx")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"read_idx: '{path}' is not an IDX file (magic number "
                         f"{raw[:4].hex() or 'missing'}; expected 0000 + a type code in "
                         f"{sorted(hex(k) for k in IDX_DTYPES)} + the number of dimensions)")
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: '{path}' is truncated: its header needs {header} bytes, "
                         f"the file has {len(raw)}")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(f"read_idx: '{path}' is {what}: shape {shape} of {dtype.name} needs "
                         f"{expected} bytes, the file has {len(raw)}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain data and NumPy arrays only, so a hostile file cannot run code."""

    ALLOWED = {(f"numpy.{core}.{module}", name) for core in ("core", "_core")
               for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"),
                                    ("numeric", "_frombuffer"))}
    ALLOWED |= {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")
        return super().find_class(module, name)


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 (or CIFAR-100) "python version" batch file.

    Returns ``images`` of shape ``(N, 3, 32, 32)`` uint8 (channels first, as torch expects)
    and ``labels`` of shape ``(N,)`` int64 (CIFAR-100's ``fine_labels``). The file is a
    pickle; only plain data and NumPy arrays are accepted from it.
    """
    raw = _read_bytes(path, "read_cifar_batch")
    try:
        batch = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(f"read_cifar_batch: '{path}' is not a CIFAR python batch ({err})") \
            from err
    if not isinstance(batch, dict):
        raise ValueError(f"read_cifar_batch: '{path}' holds a {type(batch).__name__}, "
                         "expected a dict with b'data' and b'labels'")
    label_key = next((k for k in (b"labels", b"fine_labels") if k in batch), None)
    if b"data" not in batch or label_key is None:
        raise ValueError(f"read_cifar_batch: '{path}' lacks b'data' or b'labels' "
                         f"(keys: {sorted(batch)})")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"read_cifar_batch: '{path}' has data of shape {data.shape} and "
                         f"{len(labels)} labels; expected (N, 3072) and N labels")
    return data.reshape(-1, 3, 32, 32), labels

