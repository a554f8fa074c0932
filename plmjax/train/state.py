"""The training state: what a checkpoint holds besides the data position."""

import flax.struct
import jax


@flax.struct.dataclass
class TrainState:
    """step: optimizer steps taken. trainable: the parameters being trained (the frozen rest is not part of
    the state: it comes from the base model). opt_state: the optimizer's state over `trainable` only.
    rng: raw PRNG key data (uint32), folded with the step for each step's dropout, so a resumed run draws
    the same masks. carry: what the objective carries between steps (Objective.initial_carry: Transformer-XL's
    segment memory), checkpointed with the rest so a resumed run continues exactly; None for most."""

    step: jax.Array
    trainable: dict
    opt_state: object
    rng: jax.Array
    carry: object = None
