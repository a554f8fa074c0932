"""Optimizers (AdamW, Adafactor, SGD) with warmup + linear/cosine decay and gradient clipping."""

import optax

from plmjax.peft import decay_mask
from plmjax.train.config import DECAYS, OPTIMIZERS


def warmup_steps(opt_config, num_steps: int) -> int:
    if opt_config.warmup_steps >= 0:
        return int(opt_config.warmup_steps)
    return int(round(opt_config.warmup_fraction * num_steps))


def learning_rate_schedule(opt_config, num_steps: int) -> optax.Schedule:
    """Linear warmup from 0 to the peak, then `decay` to end_learning_rate_fraction * peak at num_steps."""
    if opt_config.decay not in DECAYS:
        raise ValueError(f"optimizer.decay={opt_config.decay!r}; choose one of {DECAYS}")
    peak = opt_config.learning_rate
    end = peak * opt_config.end_learning_rate_fraction
    warmup = min(warmup_steps(opt_config, num_steps), num_steps)
    decay_steps = max(num_steps - warmup, 1)
    if opt_config.decay == "linear":
        decay = optax.linear_schedule(peak, end, decay_steps)
    elif opt_config.decay == "cosine":
        decay = optax.cosine_decay_schedule(peak, decay_steps, alpha=opt_config.end_learning_rate_fraction)
    else:
        decay = optax.constant_schedule(peak)
    if warmup == 0:
        return decay
    return optax.join_schedules([optax.linear_schedule(0.0, peak, warmup), decay], [warmup])


def make_optimizer(opt_config, num_steps: int, weight_decay_mask=decay_mask) -> optax.GradientTransformation:
    """The config's optimizer over the trainable parameters; gradients arrive already averaged over the batch.

    weight_decay_mask: the PEFT rule engine's (matrices decay; biases, norm scales, IA3 vectors, prefixes and
    prompts do not), as BERT was trained.
    """
    if opt_config.name not in OPTIMIZERS:
        raise ValueError(f"optimizer.name={opt_config.name!r}; choose one of {OPTIMIZERS}")
    schedule = learning_rate_schedule(opt_config, num_steps)
    if opt_config.name == "adamw":
        update = optax.adamw(
            schedule,
            b1=opt_config.b1,
            b2=opt_config.b2,
            eps=opt_config.eps,
            weight_decay=opt_config.weight_decay,
            mask=weight_decay_mask,
        )
    elif opt_config.name == "adafactor":
        update = optax.adafactor(
            schedule,
            weight_decay_rate=opt_config.weight_decay or None,
            weight_decay_mask=weight_decay_mask,
        )
    else:
        update = optax.chain(
            optax.add_decayed_weights(opt_config.weight_decay, mask=weight_decay_mask),
            optax.sgd(schedule, momentum=opt_config.momentum or None),
        )
    if opt_config.grad_clip_norm > 0:
        return optax.chain(optax.clip_by_global_norm(opt_config.grad_clip_norm), update)
    return update
