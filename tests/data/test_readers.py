"""dlbook.data readers on small IDX and CIFAR files that the tests write themselves."""
from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from dlbook.data import read_cifar_batch, read_idx

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
             np.float64: 0x0E}


def write_idx(path, array: np.ndarray, code: int, compress: bool = False) -> None:
    """The IDX layout written independently of the reader: magic, big-endian sizes, data."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", list(IDX_CODES), ids=lambda d: np.dtype(d).name)
def test_idx_round_trip_every_dtype(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / "images-idx3-ubyte"
    write_idx(path, array, IDX_CODES[dtype], compress)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_idx_labels_and_empty(tmp_path):
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    write_idx(tmp_path / "labels", labels, 0x08)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "labels")), labels)
    write_idx(tmp_path / "empty", np.zeros((0, 28, 28), np.uint8), 0x08)
    assert read_idx(tmp_path / "empty").shape == (0, 28, 28)


def test_idx_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not download"):
        read_idx(tmp_path / "missing-idx3-ubyte.gz")
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 10)
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    bad.write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]))  # unknown type code
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    array = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    write_idx(bad, array, 0x0C)
    full = bad.read_bytes()
    bad.write_bytes(full[:-5])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(bad)
    bad.write_bytes(full[:9])  # cut inside the header
    with pytest.raises(ValueError, match="truncated"):
        read_idx(bad)
    bad.write_bytes(full + b"\x00")
    with pytest.raises(ValueError, match="longer than its header"):
        read_idx(bad)
    bad.write_bytes(gzip.compress(full)[:-8])
    with pytest.raises(ValueError, match="damaged gzip"):
        read_idx(bad)


def write_cifar(path, n: int = 4, label_key: bytes = b"labels",
                protocol: int = 2) -> tuple[np.ndarray, list]:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    batch = {b"batch_label": b"testing batch 1 of 1", label_key: labels, b"data": data,
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    return data, labels


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar_batch(tmp_path, protocol):
    data, labels = write_cifar(tmp_path / "data_batch_1", protocol=protocol)
    images, got_labels = read_cifar_batch(tmp_path / "data_batch_1")
    assert images.shape == (4, 3, 32, 32) and images.dtype == np.uint8
    assert got_labels.dtype == np.int64 and got_labels.tolist() == labels
    # CIFAR rows are 1024 red, then 1024 green, then 1024 blue values, each row-major 32 x 32
    np.testing.assert_array_equal(images[2, 1, 5, 7], data[2, 1024 + 5 * 32 + 7])
    write_cifar(tmp_path / "train", label_key=b"fine_labels")  # CIFAR-100
    assert read_cifar_batch(tmp_path / "train")[0].shape == (4, 3, 32, 32)


def test_cifar_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file at"):
        read_cifar_batch(tmp_path / "data_batch_9")
    path = tmp_path / "batch"
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="not a CIFAR python batch"):
        read_cifar_batch(path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"expected \(N, 3072\)"):
        read_cifar_batch(path)
    path.write_bytes(pickle.dumps({b"pixels": np.zeros((2, 3072), np.uint8)}))
    with pytest.raises(ValueError, match="lacks"):
        read_cifar_batch(path)


class Hostile:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_cifar_refuses_code_in_the_pickle(tmp_path, capsys):
    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({b"data": Hostile(), b"labels": []}))
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        read_cifar_batch(path)
    assert capsys.readouterr().out == ""
