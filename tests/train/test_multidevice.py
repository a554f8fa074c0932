"""One device and 8 virtual CPU devices give the same run: data parallel, FSDP, FSDP with tensor
parallelism, and a 1-device checkpoint resumed on 8 devices."""

import numpy as np

from tests.train.runs import PER_STEP, SMOKE, assert_params_equal, copy_cut_back, flat_params, run_python, train_losses

STEPS = 20
COMMON = [f"--config={SMOKE}", *PER_STEP, f"--config.train.num_steps={STEPS}", "--config.train.keep_checkpoints=10"]
MESHES = {
    "data_parallel": ["--config.mesh.data=-1"],
    "fsdp": ["--config.mesh.data=1", "--config.mesh.fsdp=8"],
    "fsdp_tensor": ["--config.mesh.data=2", "--config.mesh.fsdp=2", "--config.mesh.tensor=2"],
}


def _runs_code(runs: dict[str, list[str]], devices: int) -> str:
    code = f"import jax\nfrom plmjax.main import main\nassert jax.device_count() == {devices}\n"
    return code + "".join(f"main({[f'--workdir={workdir}', *COMMON, *args]!r})\n" for workdir, args in runs.items())


def test_one_device_and_eight_devices_train_alike(tmp_path):
    single = str(tmp_path / "single")
    run_python(_runs_code({single: []}, devices=1), devices=1)

    # The 1-device run cut back to its step-10 checkpoint, to resume on 8 devices with FSDP.
    resumed = copy_cut_back(single, str(tmp_path / "resumed"), last_step=10)
    eight_device_runs = {str(tmp_path / name): mesh for name, mesh in MESHES.items()}
    eight_device_runs[resumed] = MESHES["fsdp"]
    run_python(_runs_code(eight_device_runs, devices=8), devices=8)

    reference = train_losses(single)
    assert sorted(reference) == list(range(1, STEPS + 1))
    assert np.mean([reference[s] for s in range(16, 21)]) < np.mean([reference[s] for s in range(1, 6)])
    reference_params = flat_params(single)
    for name in MESHES:
        losses = train_losses(str(tmp_path / name))
        assert sorted(losses) == sorted(reference)
        for step in reference:
            assert abs(losses[step] - reference[step]) <= 1e-4 * abs(reference[step]), (name, step)
        assert_params_equal(flat_params(str(tmp_path / name)), reference_params, rtol=1e-4, atol=1e-6)

    resumed_losses = train_losses(resumed)
    assert sorted(resumed_losses) == list(range(11, STEPS + 1))
    for step in resumed_losses:
        assert abs(resumed_losses[step] - reference[step]) <= 1e-4 * abs(reference[step]), step
    assert_params_equal(flat_params(resumed), reference_params, rtol=1e-4, atol=1e-6)
