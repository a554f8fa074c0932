"""Two processes on localhost (jax.distributed, CPU collectives over gloo), each feeding its half of every
global batch, train to the same parameters as one process fed the whole batches."""

import socket
import subprocess

from tests.train.runs import (
    PER_STEP,
    REPO,
    assert_params_equal,
    flat_params,
    main_command,
    subprocess_env,
    train_losses,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_train_like_one(tmp_path):
    single, pair = str(tmp_path / "single"), str(tmp_path / "pair")
    subprocess.run(
        main_command(single, *PER_STEP), env=subprocess_env(), cwd=REPO, check=True, capture_output=True, timeout=600
    )

    address = f"localhost:{_free_port()}"
    processes = []
    for process_id in range(2):
        env = subprocess_env()
        env.update(PLMJAX_COORDINATOR_ADDRESS=address, PLMJAX_NUM_PROCESSES="2", PLMJAX_PROCESS_ID=str(process_id))
        processes.append(
            subprocess.Popen(
                main_command(pair, *PER_STEP),
                env=env,
                cwd=REPO,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"{out[-2000:]}\n{err[-4000:]}"
    assert "over 2 devices in 2 processes" in outputs[0][0]
    assert "task synthetic" not in outputs[1][0] and "step 20" not in outputs[1][1]  # only process 0 reports

    reference, losses = train_losses(single), train_losses(pair)
    assert sorted(losses) == sorted(reference) == list(range(1, 21))
    for step in reference:
        assert abs(losses[step] - reference[step]) <= 1e-5 * abs(reference[step]), step
    assert_params_equal(flat_params(pair), flat_params(single), rtol=1e-5, atol=1e-7)
