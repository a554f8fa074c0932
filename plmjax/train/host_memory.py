"""Keep freed host memory in the process, so that CPU training steps do not page-fault their buffers in.

On the CPU backend every array and every temporary buffer of a compiled step is host memory from glibc's
malloc, and under glibc's defaults a large buffer is mapped afresh on every step, which the kernel then
zeroes and faults in page by page. Three defaults cause it:

- a request above the mmap threshold (at most 32 MiB) gets its own mmap, unmapped again on free;
- XLA allocates from its worker threads, and a thread's own arena serves any request above 64 MiB (its
  heap's size limit) with a fresh mmap, whatever the mmap settings say;
- the main heap's free top is given back to the kernel once it passes the trim threshold, and mallopt's
  largest positive threshold (2 GiB) is smaller than BERT-base's 2.6 GB of per-step temporaries.

So the baby GPT of configs/pretrain/shakespeare_char.py (44 MiB of temporaries) took 54 ms per gradient
instead of 41, and a BERT-base training step faulted in 2.6 GB (640,000 pages, ~1 s of kernel time) every
step. `keep_freed_host_memory` turns all three off: no mmap, one arena for every thread, no trimming.
(One arena costs small models some speed: see its `single_arena`.)

This is a process-wide setting (it also speeds up PyTorch in the same process, whose CPU allocator is
malloc too), so the library never changes it on import: `python -m plmjax.main` applies it for a single
CPU device when mesh.cpu_keep_freed_memory is on (the default), and the benchmarks apply it to both sides.
It must come before JAX starts its backend: threads that have already allocated keep their own arenas.
"""

import ctypes
import ctypes.util
import functools
import importlib.metadata
import importlib.util
import pkgutil

import jax

from plmjax.train.distributed import cpu_devices_requested

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
# mallopt(M_TRIM_THRESHOLD, -1) "disables trimming completely" (mallopt(3)): the threshold becomes SIZE_MAX.
_NEVER_TRIM = -1


@functools.cache
def keep_freed_host_memory(single_arena: bool = True) -> bool:
    """Make glibc's malloc keep freed memory for reuse; True when it did, False where there is no glibc.

    Call it before JAX starts its backend (before the first array or jit call): a thread that has already
    allocated keeps its own arena, which serves buffers above 64 MiB with fresh mappings regardless.
    Memory the process frees is not returned to the kernel until it exits, so its resident size stays at
    its peak: the right trade for a training process, the wrong one for a long-lived server that peaks once.

    single_arena=False leaves each thread its own arena: right when a step's temporaries fit in 64 MiB (the
    baby GPT of configs/pretrain/shakespeare_char.py, 44 MiB), where one arena's lock, taken by every XLA
    worker thread, made the step 15% slower (40 against 35 ms); above 64 MiB (BERT-base: 2.6 GB) only one
    arena keeps the buffers.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):  # musl and other C libraries without glibc's tunables
        return False
    settings = [(_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _NEVER_TRIM)]
    if single_arena:
        settings.append((_M_ARENA_MAX, 1))
    applied = [libc.mallopt(parameter, value) for parameter, value in settings]  # every one, then check
    return all(applied)


def keep_freed_memory_on_cpu(single_arena: bool = True) -> bool:
    """Before JAX starts its backend: when it will be one CPU device, keep freed host memory for reuse.

    With several CPU devices (mesh.cpu_devices, virtual test devices) their threads allocate at once, and
    malloc's heap serves them slower than fresh mappings do: the baby GPT's step measured 45 ms with two
    devices and glibc's defaults, 57 ms with freed memory kept (42 ms on one device with it kept).
    """
    if not _backend_will_be_cpu() or cpu_devices_requested() != 1:
        return False
    return keep_freed_host_memory(single_arena)


def _backend_will_be_cpu() -> bool:
    """Whether JAX will compute on the CPU, decided without starting its backends: the first platform of
    jax_platforms (JAX_PLATFORMS) when set, else CPU unless an accelerator plugin is installed."""
    platforms = jax.config.jax_platforms
    if platforms:
        return platforms.split(",")[0].strip() == "cpu"
    return not _accelerator_plugins_installed()


def _accelerator_plugins_installed() -> bool:
    """The places JAX looks for GPU and TPU backends: libtpu, jax_plugins modules and entry points."""
    if importlib.util.find_spec("libtpu") is not None or importlib.metadata.entry_points(group="jax_plugins"):
        return True
    try:
        import jax_plugins
    except ImportError:
        return False
    return any(True for _ in pkgutil.iter_modules(jax_plugins.__path__))
