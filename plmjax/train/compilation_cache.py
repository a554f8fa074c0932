"""jax's persistent compilation cache for commands that run many runs of one config (the few-shot runner's seeds,
a semi-supervised pipeline's models): the runs build the same programs (only the data and the starting values
differ), so all but the first run's compilations (training, evaluation and scoring steps: tens of seconds each on
a CPU) become reads from the cache directory."""


def use_compilation_cache(directory: str) -> None:
    import jax

    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
