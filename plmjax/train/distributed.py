"""Multi-host start-up: jax.distributed.initialize from the config or the environment."""

import contextlib
import os
import re

import jax

ENVIRONMENT = {
    "coordinator_address": "PLMJAX_COORDINATOR_ADDRESS",
    "num_processes": "PLMJAX_NUM_PROCESSES",
    "process_id": "PLMJAX_PROCESS_ID",
}


def distributed_settings(dist_config) -> dict:
    """coordinator_address / num_processes / process_id from the config, else from PLMJAX_* variables."""
    settings = {}
    for name, variable in ENVIRONMENT.items():
        value = dist_config[name]
        if value is None and os.environ.get(variable):
            value = os.environ[variable]
        if value is not None:
            settings[name] = value if name == "coordinator_address" else int(value)
    return settings


def initialize(dist_config) -> None:
    """Join the other processes before any device is used.

    initialize="auto" joins when a coordinator is given (config or environment) or when JAX recognises a
    cluster it can configure itself from (Cloud TPU, SLURM, ...); "always" joins with whatever JAX detects;
    "never" runs as a single process. CPU processes exchange data through gloo.
    """
    mode = dist_config.initialize
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"distributed.initialize={mode!r}; choose auto, always or never")
    if mode == "never":
        return
    settings = distributed_settings(dist_config)
    if mode == "auto" and not settings and not _cluster_detected():
        return
    if settings.get("num_processes") == 1:
        return
    # Cross-process collectives of CPU devices (tests, CPU clusters); accelerators bring their own.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(**settings)


def _cluster_detected() -> bool:
    """A multi-process environment JAX configures on its own (TPU pod slices, SLURM jobs, ...)."""
    if os.environ.get("SLURM_NTASKS", "1") not in ("", "1"):
        return True
    return bool(os.environ.get("TPU_WORKER_HOSTNAMES", "").count(","))


def split_cpu(cpu_devices: int) -> None:
    """Make a CPU host `cpu_devices` JAX devices (mesh.cpu_devices), before JAX starts its backends.

    Small models compute faster data parallel over the cores (each device a thread) than on one device whose
    small matmuls barely use more than one core. Left alone when 0, when XLA_FLAGS already sets a device count
    (the tests' virtual devices) or when the backends already started (another run in the same process).
    """
    if cpu_devices <= 0 or forced_cpu_device_count() is not None:
        return
    # When the backends started already, the device count stays what it was.
    with contextlib.suppress(RuntimeError):
        jax.config.update("jax_num_cpu_devices", cpu_devices)


def forced_cpu_device_count() -> int | None:
    """The CPU device count XLA_FLAGS forces (--xla_force_host_platform_device_count), or None."""
    forced = re.search(r"--xla_force_host_platform_device_count=(\d+)", os.environ.get("XLA_FLAGS", ""))
    return int(forced.group(1)) if forced else None


def cpu_devices_requested() -> int:
    """How many CPU devices JAX will make, known before it starts: XLA_FLAGS' forced count, else
    jax_num_cpu_devices (mesh.cpu_devices through split_cpu), else 1."""
    forced = forced_cpu_device_count()
    return forced if forced is not None else max(jax.config.jax_num_cpu_devices, 1)
