"""--backend slurm against fake sbatch / squeue / sacct on PATH: job scripts, submission,
status, waiting, resubmission, and the same resume semantics as a local run. The fake
sbatch really runs the job script in the background, so each job drives the fake evaluator
through the local worker on its shard."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from rich.console import Console
from test_launch_fakes import (
    make_fake_carla,
    make_fake_leaderboard,
    run_counts,
    set_behaviour,
    write_routes_xml,
)

from launch.evaluate_plan import make_plan
from launch.launch_config import launch_config_from_dict
from launch.slurm_backend import ACTIVE_STATES, SlurmBackend, SlurmError, job_script, job_states

FAKE_SBATCH = r'''#!/bin/bash
# fake sbatch --parsable SCRIPT: next job id; runs SCRIPT in the background unless STATE/hold exists
STATE="__STATE__"
mkdir -p "$STATE/jobs"
script="${@: -1}"
id=$(( $(cat "$STATE/next" 2>/dev/null || echo 1000) + 1 ))
echo $id > "$STATE/next"
echo "$id $script $*" >> "$STATE/submitted"
out=$(grep -m1 '^#SBATCH --output=' "$script" | sed 's/^#SBATCH --output=//; s/%j/'$id'/')
if [ -e "$STATE/hold" ]; then
  touch "$STATE/jobs/$id.pending"
else
  ( bash "$script" > "$out" 2>&1; echo $? > "$STATE/jobs/$id.rc" ) &
  echo $! > "$STATE/jobs/$id.pid"
fi
echo "$id;fakecluster"
'''

FAKE_SQUEUE = r'''#!/bin/bash
# fake squeue -h -o "%i %T" -j ID,ID: RUNNING while the job runs, PENDING when held; ended jobs are not listed
STATE="__STATE__"
ids=""
while [ $# -gt 0 ]; do case "$1" in -j) ids="$2"; shift 2;; *) shift;; esac; done
for id in ${ids//,/ }; do
  if [ -e "$STATE/jobs/$id.pending" ]; then echo "$id PENDING";
  elif [ -e "$STATE/jobs/$id.pid" ] && [ ! -e "$STATE/jobs/$id.rc" ]; then echo "$id RUNNING"; fi
done
'''

FAKE_SACCT = r'''#!/bin/bash
# fake sacct -n -P -X -o JobID,State,ExitCode -j IDS
STATE="__STATE__"
ids=""
while [ $# -gt 0 ]; do case "$1" in -j) ids="$2"; shift 2;; *) shift;; esac; done
for id in ${ids//,/ }; do
  if [ -e "$STATE/jobs/$id.rc" ]; then
    rc=$(cat "$STATE/jobs/$id.rc")
    if [ "$rc" = "0" ]; then echo "$id|COMPLETED|0:0"; else echo "$id|FAILED|$rc:0"; fi
  elif [ -e "$STATE/jobs/$id.cancelled" ]; then echo "$id|CANCELLED by 42|0:15"; fi
done
'''


def install_fake_slurm(root: Path, monkeypatch) -> Path:
    bin_dir, state = root / "bin", root / "slurm_state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("squeue", FAKE_SQUEUE), ("sacct", FAKE_SACCT)):
        path = bin_dir / name
        path.write_text(text.replace("__STATE__", str(state)))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return state


def slurm_config(root: Path, **slurm):
    values = {"account": "proj42", "partition": "gpu-a100", "time": "04:00:00", "poll_interval_s": 0.2,
              "max_resubmits": 1, "setup_lines": ["echo node setup"]}
    values.update(slurm)
    return launch_config_from_dict({
        "paths": {"carla_root": str(root / "carla"), "leaderboard_root": str(root / "leaderboard"),
                  "scenario_runner_root": str(root / "scenario_runner")},
        "server": {"mode": "launcher", "probe": "tcp", "poll_interval_s": 0.05, "stop_grace_s": 1.0},
        "ports": {"rpc_base": 36000, "tm_base": 36500},
        "recovery": {"restart_delay_s": 0.05, "max_fruitless_attempts": 1},
        "poll_interval_s": 0.05, "progress_refresh_s": 0.2, "slurm": values,
    })


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    make_fake_carla(tmp_path)
    make_fake_leaderboard(tmp_path, {"default": {"action": "ok", "duration_s": 0.05}})
    (tmp_path / "agent.yaml").write_text("")
    write_routes_xml(tmp_path / "routes.xml", ["1", "2", "3", "4"])
    return tmp_path, install_fake_slurm(tmp_path, monkeypatch)


def backend_for(root: Path, config, shards: int = 2) -> SlurmBackend:
    plan = make_plan(root / "routes.xml", root / "out", root / "agent.yaml", (0,), shards, config)
    return SlurmBackend(plan, config, Console(file=io.StringIO(), width=200))


def test_job_script_has_the_directives_and_runs_one_shard(cluster):
    root, _ = cluster
    config = slurm_config(root, extra_directives=["--qos=high"])
    backend = backend_for(root, config)
    shard = backend.plan.shards[1]
    text = job_script(backend.plan, shard, config)
    lines = text.splitlines()
    assert lines[0] == "#!/bin/bash"
    for directive in ("--account=proj42", "--partition=gpu-a100", "--time=04:00:00", "--gres=gpu:1", "--qos=high",
                      f"--job-name=automot_out_{shard.name}", f"--output={root}/out/shards/{shard.name}/logs/slurm_%j.out"):
        assert f"#SBATCH {directive}" in lines
    assert "echo node setup" in lines
    command = lines[-1]
    assert command.startswith("exec ") and "-m launch.cli evaluate" in command
    assert f"--shard {shard.name}" in command and "--gpus 0" in command and "--shards 2" in command
    assert "--backend local" in command and f"--config {root}/out/agent_config.yaml" in command
    no_account = job_script(backend.plan, shard, slurm_config(root, account="", partition=""))
    assert "--account" not in no_account and "--partition" not in no_account


def test_submit_wait_and_report_run_every_shard_once(cluster):
    root, state = cluster
    backend = backend_for(root, slurm_config(root))
    submitted = backend.submit_pending()
    assert sorted(submitted) == ["shard00", "shard01"]
    assert (root / "out" / "slurm" / "shard00.sbatch").is_file()
    assert backend.wait() == 0
    assert run_counts(root) == {"1": 1, "2": 1, "3": 1, "4": 1}
    jobs = json.loads((root / "out" / "slurm" / "jobs.json").read_text())
    assert {k: len(v) for k, v in jobs.items()} == {"shard00": 1, "shard01": 1}
    assert job_states(jobs["shard00"], backend.config) == {jobs["shard00"][0]: "COMPLETED"}
    for shard in backend.plan.shards:  # the job's own output file, named by SLURM's %j
        assert (backend.plan.layout(shard).logs_dir / f"slurm_{jobs[shard.name][0]}.out").is_file()
    # resume semantics: submitting again with everything finished submits nothing
    assert backend_for(root, slurm_config(root)).submit_pending() == {}
    assert len((state / "submitted").read_text().splitlines()) == 2


def test_active_jobs_are_not_submitted_twice(cluster):
    root, state = cluster
    (state / "hold").touch()  # jobs stay PENDING
    backend = backend_for(root, slurm_config(root))
    first = backend.submit_pending()
    assert len(first) == 2
    assert {st for st, _, _ in backend.status().values()} == {"PENDING"} <= ACTIVE_STATES
    again = backend_for(root, slurm_config(root))  # the same command run again
    assert again.submit_pending() == {}
    assert len((state / "submitted").read_text().splitlines()) == 2


def test_job_ending_unfinished_is_resubmitted_then_given_up(cluster):
    root, _ = cluster
    config = slurm_config(root, max_resubmits=1, setup_lines=["exit 1"])  # the node fails every job
    backend = backend_for(root, config, shards=1)
    assert backend.submit_pending(first=True)
    assert backend.wait() == 1
    jobs = json.loads((root / "out" / "slurm" / "jobs.json").read_text())
    assert len(jobs["shard00"]) == 2  # first job + one resubmission
    assert "shard00: 4 route(s) left, last job FAILED, 2 job(s) submitted" in backend.console.file.getvalue()
    # The same command run again is a new chance: it submits again.
    assert list(backend_for(root, config, shards=1).submit_pending(first=True)) == ["shard00"]


def test_shard_stopped_by_an_error_is_not_resubmitted_while_waiting(cluster):
    root, _ = cluster
    set_behaviour(root, {"fail_start": True})  # every attempt dies before any route
    backend = backend_for(root, slurm_config(root, max_resubmits=3), shards=1)
    backend.submit_pending(first=True)
    assert backend.wait() == 1
    jobs = json.loads((root / "out" / "slurm" / "jobs.json").read_text())
    assert len(jobs["shard00"]) == 1
    assert "finished no route" in backend.console.file.getvalue()


def test_slurm_errors_quote_the_command(cluster, monkeypatch):
    root, _ = cluster
    broken = root / "bin" / "sbatch"
    broken.write_text("#!/bin/bash\necho 'sbatch: error: invalid partition' >&2\nexit 1\n")
    backend = backend_for(root, slurm_config(root))
    with pytest.raises(SlurmError, match="invalid partition"):
        backend.submit_pending()


def test_evaluate_command_with_slurm_backend_ends_with_the_report(cluster, tmp_path):
    root, _ = cluster
    from core.atomic_files import atomic_write_text
    from launch.cli import main

    config_file = root / "launch.yaml"
    import yaml

    from core.typed_config import to_dict

    atomic_write_text(config_file, yaml.safe_dump(to_dict(slurm_config(root))))
    code = main(["evaluate", "--routes", str(root / "routes.xml"), "--config", str(root / "agent.yaml"),
                 "--out", str(root / "out"), "--backend", "slurm", "--shards", "2",
                 "--launch-config", str(config_file)])
    assert code == 0
    report = json.loads((root / "out" / "report.json").read_text())
    assert report["n_routes"] == 4 and report["driving_score"] == pytest.approx(100.0)
    merged = json.loads((root / "out" / "results.json").read_text())
    assert [r["route_id"] for r in merged["_checkpoint"]["records"]] == [f"RouteScenario_{i}_rep0" for i in "1234"]
