"""automot evaluate on a fake CARLA + fake Bench2Drive evaluator: sharding, resume, crash restart,
skip after K crashes, watchdog, evaluator-started servers, the merged results and the report."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from rich.console import Console
from test_launch_fakes import (
    logged_pids,
    make_fake_carla,
    make_fake_leaderboard,
    pid_alive,
    run_counts,
    set_behaviour,
    wait_for,
    write_routes_xml,
)

from launch.evaluate_plan import PlanError, make_plan
from launch.launch_config import launch_config_from_dict
from launch.leaderboard_command import resolve_paths
from launch.local_runner import run_local


def fast_config(root: Path, **sections):
    data = {
        "paths": {"carla_root": str(root / "carla"), "leaderboard_root": str(root / "leaderboard"),
                  "scenario_runner_root": str(root / "scenario_runner")},
        "server": {"mode": "launcher", "probe": "tcp", "start_timeout_s": 15.0, "poll_interval_s": 0.05,
                   "stop_grace_s": 1.0},
        "ports": {"rpc_base": 32000, "tm_base": 33000},
        "recovery": {"crash_limit": 3, "watchdog_minutes": 0.5, "restart_delay_s": 0.05},
        "poll_interval_s": 0.05,
        "progress_refresh_s": 0.1,
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    return launch_config_from_dict(data)


@pytest.fixture
def world(tmp_path):
    make_fake_carla(tmp_path)
    make_fake_leaderboard(tmp_path, {"default": {"action": "ok", "duration_s": 0.1}})
    (tmp_path / "agent.yaml").write_text("scheduler:\n  ue_interval: 2\n")
    return tmp_path


def evaluate(root: Path, route_ids: list[str], config, gpus=(0,), per_gpu=1, stop_event=None):
    routes = root / "routes.xml"
    if not routes.exists():
        write_routes_xml(routes, route_ids)
    plan = make_plan(routes, root / "out", root / "agent.yaml", gpus, len(gpus) * per_gpu, config)
    console = Console(file=io.StringIO(), width=200)
    result = run_local(plan, resolve_paths(config.paths), config, console=console, stop_event=stop_event)
    return plan, result, console.file.getvalue()


def results_by_route(plan) -> dict[str, dict]:
    data = json.loads(plan.results_file.read_text())
    return {r["route_id"]: r for r in data["_checkpoint"]["records"]}


def no_fake_process_left(root: Path) -> bool:
    return not any(pid_alive(pid) for _, pid, _, _ in logged_pids(root))


def test_shards_run_in_parallel_on_their_gpus_with_distinct_ports(world):
    ids = [str(i) for i in range(1, 7)]
    config = fast_config(world)
    plan, result, log = evaluate(world, ids, config, gpus=(0, 1), per_gpu=2)
    assert result.exit_code == 0, log
    assert len(plan.shards) == 4
    assert sorted(r for s in plan.shards for r in s.route_ids) == sorted(ids)
    assert {s.gpu for s in plan.shards} == {0, 1} and [s.gpu for s in plan.shards].count(0) == 2
    assert run_counts(world) == {i: 1 for i in ids}
    records = results_by_route(plan)
    assert sorted(records) == sorted(f"RouteScenario_{i}_rep0" for i in ids)
    assert json.loads(plan.results_file.read_text())["entry_status"] == "Finished"
    report = json.loads((plan.out_dir / "report.json").read_text())
    assert report["driving_score"] == pytest.approx(100.0) and report["n_routes"] == 6
    invocations = [json.loads(line) for line in (world / "invocations.jsonl").read_text().splitlines()]
    ports = {next(a for a in inv["argv"] if a.startswith("--port=")) for inv in invocations}
    assert len(ports) == 4  # one server port per worker
    gpu_of_save_path = {str(plan.layout(s).save_dir): str(s.gpu) for s in plan.shards}
    for inv in invocations:
        # automot starts the servers here (launcher mode): no --gpu-rank, which upstream
        # leaderboard 2.0 does not know; the agent still sees only its GPU
        assert not any(a.startswith("--gpu-rank") for a in inv["argv"])
        assert inv["env"]["CUDA_VISIBLE_DEVICES"] == gpu_of_save_path[inv["env"]["SAVE_PATH"]]
        assert inv["env"]["IS_BENCH2DRIVE"] == "True" and inv["env"]["SAVE_PATH"].endswith("/save")
        assert any(a.startswith("--agent-config=") and a.endswith("agent_config.yaml") for a in inv["argv"])
    for shard in plan.shards:  # each server on its shard's GPU
        assert f"-graphicsadapter={shard.gpu}" in plan.layout(shard).server_log.read_text()
    assert no_fake_process_left(world)
    # per-worker logs
    for shard in plan.shards:
        assert (plan.layout(shard).logs_dir / "evaluator_000.log").read_text().count("Preparing") == len(shard.route_ids)


def test_resume_never_reruns_a_finished_route(world):
    ids = [str(i) for i in range(1, 6)]
    set_behaviour(world, {"default": {"action": "ok", "duration_s": 0.4}})
    config = fast_config(world)
    stop = threading.Event()
    ckpt = world / "out" / "shards" / "shard00" / "attempts" / "attempt_000.json"

    def stop_after_two():
        wait_for(lambda: ckpt.exists() and ckpt.read_text().count("\"route_id\"") >= 2, 20)
        stop.set()

    threading.Thread(target=stop_after_two, daemon=True).start()
    plan, result, _ = evaluate(world, ids, config, stop_event=stop)
    assert result.exit_code == 130 and result.interrupted
    first = json.loads((plan.layout(plan.shards[0]).results_file).read_text())
    done_first = {r["route_id"].split("_")[1] for r in first["_checkpoint"]["records"]}
    assert 2 <= len(done_first) < 5
    assert no_fake_process_left(world)
    set_behaviour(world, {"default": {"action": "ok", "duration_s": 0.05}})
    plan, result, log = evaluate(world, ids, config)
    assert result.exit_code == 0, log
    counts = run_counts(world)
    assert all(counts[r] == 1 for r in done_first), counts  # finished routes ran exactly once
    assert sorted(results_by_route(plan)) == sorted(f"RouteScenario_{i}_rep0" for i in ids)
    # A third run has nothing left to do and runs nothing.
    before = run_counts(world)
    plan, result, _ = evaluate(world, ids, config)
    assert result.exit_code == 0 and run_counts(world) == before


def test_simulation_crash_restarts_the_server_and_continues(world):
    ids = ["1", "2", "3"]
    set_behaviour(world, {"default": {"action": "ok", "duration_s": 0.05}, "routes": {"2": {"action": "crash", "times": 1}}})
    plan, result, log = evaluate(world, ids, fast_config(world))
    assert result.exit_code == 0, log
    assert run_counts(world) == {"1": 1, "2": 2, "3": 1}
    records = results_by_route(plan)
    assert records["RouteScenario_2_rep0"]["status"] == "Completed"
    servers = logged_pids(world, "server")
    assert len(servers) == 2 and servers[0][1] != servers[1][1]  # a fresh server after the crash
    state = json.loads(plan.layout(plan.shards[0]).state_file.read_text())
    assert state["crashes"] == {"2": 1} and not state["skipped"]
    assert [o["kind"] for o in state["outcomes"]] == ["crash", "finished"]
    assert no_fake_process_left(world)


def test_route_crashing_k_times_is_recorded_failed_and_skipped(world):
    ids = ["1", "2", "3"]
    set_behaviour(world, {"default": {"action": "ok", "duration_s": 0.05}, "routes": {"2": {"action": "crash"}}})
    plan, result, log = evaluate(world, ids, fast_config(world, recovery={"crash_limit": 2}))
    assert result.exit_code == 0, log
    assert run_counts(world) == {"1": 1, "2": 2, "3": 1}
    record = results_by_route(plan)["RouteScenario_2_rep0"]
    assert record["status"] == "Failed - Simulation crashed" and record["scores"]["score_composed"] == 0.0
    assert record["automot_skipped"]["crashes"] == 2
    report = json.loads((plan.out_dir / "report.json").read_text())
    assert report["driving_score"] == pytest.approx(200.0 / 3)


def test_watchdog_kills_a_hung_attempt_and_the_route_then_finishes(world):
    ids = ["1", "2"]
    set_behaviour(world, {"default": {"action": "ok", "duration_s": 0.05}, "routes": {"2": {"action": "hang", "times": 1}}})
    config = fast_config(world, recovery={"watchdog_minutes": 0.02})  # 1.2 s without progress
    plan, result, log = evaluate(world, ids, config)
    assert result.exit_code == 0, log
    assert run_counts(world) == {"1": 1, "2": 2}
    state = json.loads(plan.layout(plan.shards[0]).state_file.read_text())
    assert state["outcomes"][0]["kind"] == "hang" and state["outcomes"][0]["blamed_route"] == "2"
    hung = logged_pids(world, "evaluator")[0]
    assert not pid_alive(hung[1])
    assert no_fake_process_left(world)


def test_watchdog_counts_the_agents_route_output_as_progress(world):
    """A route that prints nothing for longer than the watchdog but writes its per-tick files
    under SAVE_PATH is alive: it must not be killed."""
    set_behaviour(world, {"default": {"action": "quiet", "duration_s": 2.5}})
    config = fast_config(world, recovery={"watchdog_minutes": 0.015})  # 0.9 s
    plan, result, log = evaluate(world, ["1"], config)
    assert result.exit_code == 0, log
    assert run_counts(world) == {"1": 1}
    state = json.loads(plan.layout(plan.shards[0]).state_file.read_text())
    assert [o["kind"] for o in state["outcomes"]] == ["finished"]


def test_evaluator_started_server_is_adopted_and_killed(world):
    """Bench2Drive's evaluator starts CarlaUE4.sh itself with setsid: after a crash that server
    must be gone before the next attempt, and nothing may be left at the end."""
    ids = ["1", "2"]
    set_behaviour(world, {"start_server": True, "default": {"action": "ok", "duration_s": 0.1},
                          "routes": {"1": {"action": "die", "times": 1}}})
    config = fast_config(world, server={"mode": "auto"})
    _plan, result, log = evaluate(world, ids, config)
    assert result.exit_code == 0, log
    assert "server started by the evaluator" in log
    invocation = json.loads((world / "invocations.jsonl").read_text().splitlines()[0])
    assert "--gpu-rank=0" in invocation["argv"]  # Bench2Drive's evaluator starts its server with it
    servers = logged_pids(world, "server")
    assert len(servers) == 2
    assert all(not pid_alive(pid) for _, pid, _, _ in servers)
    assert run_counts(world) == {"1": 2, "2": 1}
    assert no_fake_process_left(world)


def test_attempts_that_finish_nothing_stop_the_shard_with_an_error(world):
    set_behaviour(world, {"fail_start": True})
    config = fast_config(world, recovery={"max_fruitless_attempts": 2})
    _plan, result, log = evaluate(world, ["1", "2"], config)
    assert result.exit_code == 1 and result.failed_shards == ["shard00"]
    assert "2 attempts in a row finished no route" in log
    assert "cannot import the agent" in log  # the evaluator's own message is quoted


def test_server_that_never_answers_is_reported(world):
    from test_launch_fakes import set_server_behaviour

    set_server_behaviour(world, {"exit_at_start": True})
    config = fast_config(world, recovery={"max_fruitless_attempts": 1})
    _plan, result, log = evaluate(world, ["1"], config)
    assert result.exit_code == 1
    assert "exited (code 3) before answering" in log and "failing at start" in log


def test_changed_route_file_or_worker_count_is_refused(world):
    config = fast_config(world)
    routes = write_routes_xml(world / "routes.xml", ["1", "2", "3"])
    make_plan(routes, world / "out", world / "agent.yaml", (0,), 2, config)
    with pytest.raises(PlanError, match="planned for 2 shard"):
        make_plan(routes, world / "out", world / "agent.yaml", (0,), 3, config)
    write_routes_xml(routes, ["1", "2"])
    with pytest.raises(PlanError, match="another route file"):
        make_plan(routes, world / "out", world / "agent.yaml", (0,), 2, config)
