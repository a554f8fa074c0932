"""Process-level start-up settings for CPU runs: freed host memory kept for reuse, and TensorBoard logging
without importing torch. Each check runs in a fresh interpreter, since both settings are process-wide."""

import ctypes
import ctypes.util
import os
import subprocess
import sys
import textwrap

import pytest

from plmjax.train.host_memory import keep_freed_host_memory


def run_python(code: str) -> str:
    """Run code in a fresh interpreter with JAX's default single CPU device; its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    command = [sys.executable, "-c", textwrap.dedent(code)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _glibc_with_mallinfo2() -> bool:
    name = ctypes.util.find_library("c")
    return name is not None and hasattr(ctypes.CDLL(name), "mallinfo2")


# The setting is glibc's (mallopt); its evidence is glibc's mallinfo2 (2.33+). Elsewhere (macOS, musl)
# keep_freed_host_memory returns False and there is nothing to observe.
@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="needs glibc >= 2.33 (mallopt, mallinfo2)")
def test_kept_memory_serves_large_buffers_from_the_heap():
    # mallinfo2().hblkhd is the memory malloc holds in separate mmap'd blocks: a 64 MiB buffer is one of
    # those under glibc's defaults, and comes from the heap once freed memory is kept.
    out = run_python(
        """
        import ctypes
        from plmjax.train.host_memory import keep_freed_host_memory

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in
                        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype = ctypes.c_void_p
        libc.mallinfo2.restype = MallInfo2

        def mapped_while_holding(size):
            pointer = libc.malloc(size)
            mapped = libc.mallinfo2().hblkhd
            libc.free(ctypes.c_void_p(pointer))
            return mapped

        size = 64 << 20
        print(mapped_while_holding(size) >= size)
        print(keep_freed_host_memory())
        print(mapped_while_holding(size) >= size)
        """
    )
    assert out.split() == ["True", "True", "False"]


def test_keep_freed_host_memory_is_applied_once():
    assert keep_freed_host_memory() is keep_freed_host_memory()


def test_metric_writer_does_not_import_torch_and_leaves_it_importable(tmp_path):
    out = run_python(
        f"""
        import json, sys
        from plmjax.train.writers import MetricWriter

        writer = MetricWriter({str(tmp_path)!r}, enabled=True)
        writer.write(3, "train", {{"loss": 1.5}})
        writer.close()
        print("torch" in sys.modules)
        import torch

        print(float(torch.ones(2).sum()))
        """
    )
    assert out.split() == ["False", "2.0"]
    records = [line for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if line]
    assert '"loss": 1.5' in records[0] and '"step": 3' in records[0]
    assert list((tmp_path / "tensorboard").iterdir()), "no TensorBoard event file"


def test_main_keeps_freed_memory_only_on_a_single_cpu_device():
    out = run_python(
        """
        import jax
        from plmjax.train.host_memory import keep_freed_memory_on_cpu

        jax.config.update("jax_num_cpu_devices", 2)
        print(keep_freed_memory_on_cpu())
        """
    )
    assert out.split() == ["False"]
    out = run_python(
        """
        from plmjax.train.host_memory import keep_freed_memory_on_cpu

        print(keep_freed_memory_on_cpu())
        """
    )
    assert out.split() == ["True"]
