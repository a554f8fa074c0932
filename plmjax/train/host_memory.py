"""Keep freed host memory in the process, so that CPU training steps do not page-fault their buffers in.

On the CPU backend every array and every temporary buffer of a compiled step is host memory from glibc's
malloc. glibc serves a request above its mmap threshold (at most 32 MiB) with a fresh mmap and returns it
to the kernel on free, so a step whose temporaries exceed that (44 MiB for the baby GPT of
configs/pretrain/shakespeare_char.py, hundreds for BERT) maps new pages every call, and the kernel zeroes
and faults in every 4 KiB page on first touch: elementwise fusions over 400 KB ran 100x slower than their
arithmetic, and the baby GPT's gradient took 54 ms instead of 41. With mmap off and trimming off, freed
buffers stay in malloc's heap and the next step reuses pages that are already mapped.

This is a process-wide setting (it also speeds up PyTorch in the same process, whose CPU allocator is
malloc too), so the library never changes it on import: `python -m plmjax.main` applies it on a CPU
backend when mesh.cpu_keep_freed_memory is on (the default), and the benchmarks apply it to both sides.
"""

import ctypes
import ctypes.util
import functools

import jax

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# The largest value mallopt takes for the trim threshold (an int): never give the heap's top back.
_NEVER_TRIM = 2**31 - 1


@functools.cache
def keep_freed_host_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse; True when it did, False where there is no glibc.

    Memory the process frees is not returned to the kernel until it exits, so its resident size stays
    at its peak: the right trade for a training process, the wrong one for a long-lived server that
    peaks once.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):  # musl and other C libraries without glibc's tunables
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))


def keep_freed_memory_on_cpu() -> bool:
    """On a CPU backend with one device, keep freed host memory for the next step's buffers.

    With several CPU devices (mesh.cpu_devices, virtual test devices) their threads allocate at once, and
    malloc's heap serves them slower than fresh mappings do: the baby GPT's step measured 45 ms with two
    devices and glibc's defaults, 57 ms with freed memory kept (42 ms on one device with it kept).
    """
    if jax.default_backend() != "cpu" or jax.local_device_count() != 1:
        return False
    return keep_freed_host_memory()
