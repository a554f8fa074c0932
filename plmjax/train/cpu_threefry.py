"""Dropout's random bits on the CPU backend: JAX's threefry hash lowered unrolled, as on GPU and TPU.

On CPU JAX emits threefry as a rolled 5-iteration loop (smaller programs, quicker compiles). Each iteration is
a separate pass over memory, which made dropout's random bits ~9x slower than the unrolled form that XLA fuses
into one loop (about 1 s of a 10 s BERT-base training step), and the loop's 32-bit counters stay alive from
the forward to the backward pass: BERT-base at batch 16 x 128 planned 0.55 GiB more step memory with the
rolled loop (LoRA 2.13 against 1.58 GiB, full fine-tuning 3.62 against 3.06). The bits are the same.

This reaches into JAX internals (the lowering rule JAX registers for GPU and TPU); if they have moved it
changes nothing and returns False. The setting is process-wide and applies to compilations after it:
`python -m plmjax.main` calls it at start-up when mesh.cpu_unroll_threefry is on (the default), and the
benchmarks call it before compiling.
"""

import functools


@functools.cache
def unroll_threefry_on_cpu() -> bool:
    """Lower threefry unrolled on CPU from now on; False where JAX's internals are not where expected."""
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32
    except ImportError:
        return False
    rule = getattr(threefry2x32, "_threefry2x32_lowering_rule", None)
    if rule is None:
        return False
    mlir.register_lowering(threefry2x32.threefry2x32_p, rule, platform="cpu")
    return True
