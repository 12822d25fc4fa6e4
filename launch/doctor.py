"""`automot doctor`: is this machine ready to evaluate on CARLA? Each problem with a one-line fix.

Checks: CARLA_ROOT / LEADERBOARD_ROOT / SCENARIO_RUNNER_ROOT, the server binary, client vs
server version, whether the evaluator's Python has a client wheel of that CARLA at all
(0.9.15: Python 3.8 and 3.10 only; the agent needs >= 3.10), what the leaderboard imports
(run with the evaluator's interpreter and PYTHONPATH), py_trees 0.8.3, the Python >= 3.9
source fixes the leaderboard needs (`Element.getchildren()` ...), GPUs, free ports, Vulkan.
A failed blocking check makes the command exit non-zero. Installing the client has one fix
everywhere (`client_install_fix`): the server's own wheel, with the evaluator's interpreter.

None of this is needed for `automot sim`, the embedded simulator: it runs without CARLA.
"""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from launch.launch_config import LaunchConfig
from launch.leaderboard_command import (
    EvaluatorRun,
    PathsError,
    ResolvedPaths,
    evaluator_env,
    evaluator_working_dir,
    resolve_paths,
)
from launch.ports import PortAllocator

# pip names of modules the leaderboard imports, where they differ from the module name.
PIP_NAMES = {"yaml": "pyyaml", "cv2": "opencv-python-headless", "PIL": "pillow", "skimage": "scikit-image",
             "pkg_resources": "setuptools", "distutils": "setuptools", "py_trees": "py_trees==0.8.3"}

# Source patterns that break on newer Pythons / numpy, and how to fix them.
# (regex, first Python without the API, why, fix)
SOURCE_FIXES: tuple[tuple[str, tuple[int, int], str, str], ...] = (
    (r"\.getchildren\(\)", (3, 9), "Element.getchildren() was removed in Python 3.9",
     "replace X.getchildren() with list(X)"),
    (r"\.getiterator\(", (3, 9), "Element.getiterator() was removed in Python 3.9",
     "replace X.getiterator(...) with X.iter(...)"),
    (r"\btime\.clock\(\)", (3, 8), "time.clock() was removed in Python 3.8",
     "replace time.clock() with time.perf_counter()"),
    (r"\bcollections\.(Mapping|MutableMapping|Sequence|Iterable|Callable)\b", (3, 10),
     "collections ABC aliases were removed in Python 3.10", "use collections.abc.<name>"),
)

PROBE_SCRIPT = r"""
import importlib, importlib.metadata as md, json, sys, traceback
out = {"python": list(sys.version_info[:3]), "versions": {}, "imports": {}}
for dist in ("carla", "py_trees", "numpy"):
    try:
        out["versions"][dist] = md.version(dist)
    except Exception:
        out["versions"][dist] = None
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        out["imports"][name] = None
    except BaseException as exc:
        out["imports"][name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
print("AUTOMOT_PROBE " + json.dumps(out))
"""


@dataclass(frozen=True)
class Finding:
    check: str  # what was looked at, e.g. 'CARLA_ROOT'
    ok: bool
    detail: str  # what was found
    fix: str = ""  # one line; empty when ok
    blocking: bool = True  # a failed blocking check makes doctor exit non-zero

    @property
    def symbol(self) -> str:
        return "ok" if self.ok else ("FAIL" if self.blocking else "warn")


def check_paths(config: LaunchConfig, environ: dict[str, str]) -> tuple[list[Finding], ResolvedPaths | None]:
    findings = []
    for key, env_name in (("carla_root", "CARLA_ROOT"), ("leaderboard_root", "LEADERBOARD_ROOT"),
                          ("scenario_runner_root", "SCENARIO_RUNNER_ROOT")):
        value = getattr(config.paths, key) or environ.get(env_name, "")
        if not value:
            findings.append(Finding(env_name, False, "not set",
                                    f"export {env_name}=/path/to/it (or set paths.{key} in the launch config)"))
        elif not Path(value).expanduser().is_dir():
            findings.append(Finding(env_name, False, f"{value} is not a folder", f"point {env_name} at an existing folder"))
        else:
            findings.append(Finding(env_name, True, str(Path(value).expanduser().resolve())))
    try:
        paths = resolve_paths(config.paths, environ)
    except PathsError as exc:
        if all(f.ok for f in findings):
            findings.append(Finding("leaderboard files", False, str(exc),
                                    "clone Thinklab-SJTU/Bench2Drive and use its leaderboard/ and scenario_runner/"))
        return findings, None
    findings.append(Finding("agent file", True, str(paths.agent_file)))
    return findings, paths


def check_server_binary(carla_root: Path) -> list[Finding]:
    script = carla_root / "CarlaUE4.sh"
    binary = carla_root / "CarlaUE4" / "Binaries" / "Linux" / "CarlaUE4-Linux-Shipping"
    if not script.is_file():
        return [Finding("server binary", False, f"{script} missing",
                        "download CARLA 0.9.15 (Linux package) and set CARLA_ROOT to its folder")]
    findings = []
    if not script.stat().st_mode & 0o111:
        findings.append(Finding("server binary", False, f"{script} is not executable", f"chmod +x {script}"))
    if not binary.is_file():
        findings.append(Finding("server binary", False, f"{binary} missing",
                                "the CARLA package is incomplete: extract it again"))
    return findings or [Finding("server binary", True, str(script))]


def check_working_dir(paths: ResolvedPaths, config: LaunchConfig) -> Finding:
    """Files the evaluator opens relative to its working folder (Bench2Drive: leaderboard/data/weather.xml)."""
    cwd = evaluator_working_dir(paths, config)
    try:
        text = paths.evaluator.read_text(errors="replace")
    except OSError:
        text = ""
    relative = sorted(set(re.findall(r"['\"](leaderboard/data/[\w./-]+)['\"]", text)))
    missing = [r for r in relative if not (cwd / r).is_file()]
    if missing:
        return Finding("evaluator working folder", False, f"{cwd} lacks {', '.join(missing)}",
                       "set evaluator.working_dir to Bench2Drive's repository root")
    return Finding("evaluator working folder", True, str(cwd))


def server_version(carla_root: Path) -> str | None:
    """CARLA version of the package in carla_root, read from its PythonAPI/carla/dist wheel/egg names."""
    dist = carla_root / "PythonAPI" / "carla" / "dist"
    versions = set()
    if dist.is_dir():
        for path in dist.iterdir():
            match = re.match(r"carla-(\d+\.\d+\.\d+)", path.name)
            if match:
                versions.add(match.group(1))
    return max(versions) if versions else None


def run_probe(paths: ResolvedPaths, config: LaunchConfig, environ: dict[str, str]) -> tuple[dict | None, str]:
    """Import what the leaderboard needs with the evaluator's interpreter and environment."""
    dummy = EvaluatorRun(routes=Path("-"), routes_subset=(), checkpoint=Path("-"), debug_checkpoint=Path("-"),
                         agent_config=Path("-"), save_path=Path("-"), rpc_port=0, traffic_manager_port=0, gpu=0)
    env = evaluator_env(dummy, paths, config, base=environ)
    try:
        done = subprocess.run([str(paths.python), "-c", PROBE_SCRIPT, *config.doctor.import_modules], env=env,
                              capture_output=True, text=True, timeout=config.doctor.probe_timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    for line in done.stdout.splitlines():
        if line.startswith("AUTOMOT_PROBE "):
            return json.loads(line[len("AUTOMOT_PROBE "):]), ""
    text = (done.stderr or done.stdout).strip()
    return None, text.splitlines()[-1] if text else f"exit code {done.returncode}"


def import_fix(module: str, error: str) -> str:
    missing = re.search(r"No module named '([^']+)'", error)
    top = (missing.group(1) if missing else module).split(".")[0]
    if top == "agents":
        return "CARLA's PythonAPI/carla (the agents package) is not under CARLA_ROOT: use a full CARLA package"
    if top == "srunner":
        return "set SCENARIO_RUNNER_ROOT to Bench2Drive's scenario_runner folder"
    if top == "leaderboard":
        return "set LEADERBOARD_ROOT to Bench2Drive's leaderboard folder"
    if missing:
        return f"pip install {PIP_NAMES.get(top, top)}"
    return f"fix the import error above in {module}"


EMBEDDED_NOTE = "automot sim (the embedded simulator) runs without CARLA: none of these checks concern it"


def client_wheels(carla_root: Path, version: str) -> dict[str, Path | None]:
    """Python 'X.Y' -> the release's own client wheel for it (None: only on the package index)."""
    dist = carla_root / "PythonAPI" / "carla" / "dist"
    wheels: dict[str, Path | None] = {}
    if dist.is_dir():
        for path in sorted(dist.glob(f"carla-{version}-cp3*-*.whl")):
            match = re.match(rf"carla-{re.escape(version)}-cp3(\d+)-", path.name)
            if match:
                wheels[f"3.{match.group(1)}"] = path
    return wheels


def known_wheel_pythons(carla_root: Path, version: str, config: LaunchConfig) -> dict[str, Path | None]:
    wheels = {py: None for v, pys in config.doctor.client_wheel_pythons if v == version for py in pys}
    wheels.update(client_wheels(carla_root, version))
    return wheels


def client_install_fix(python_cmd: str, python: tuple[int, ...], version: str, carla_root: Path,
                       config: LaunchConfig) -> str:
    """The one fix for a missing or mismatched CARLA client, for the evaluator's interpreter."""
    py = f"{python[0]}.{python[1]}"
    wheels = known_wheel_pythons(carla_root, version, config)
    if py in wheels and python >= (3, 10):
        wheel = wheels[py]
        return f"{python_cmd} -m pip install {wheel if wheel is not None else f'carla=={version}'}"
    usable = sorted((p for p in wheels if tuple(map(int, p.split("."))) >= (3, 10)), key=lambda p: tuple(map(int, p.split("."))))
    target = usable[0] if usable else "3.10"
    return (f"make a Python {target} environment for the evaluator (python{target} -m venv ...), install automot "
            f"and the client there (python -m pip install {wheels.get(target) or f'carla=={version}'}), "
            f"and set paths.python to its interpreter")


def check_probe(probe: dict, carla_root: Path, config: LaunchConfig, python_cmd: str = "python") -> list[Finding]:
    findings = []
    python = tuple(probe["python"])
    py_text = ".".join(map(str, python))
    client, server = probe["versions"].get("carla"), server_version(carla_root)
    wanted = server or "0.9.15"
    wheels = known_wheel_pythons(carla_root, wanted, config)
    has_wheel = f"{python[0]}.{python[1]}" in wheels or not wheels  # unknown release: cannot tell
    if python < (3, 10):
        findings.append(Finding("evaluator Python", False, f"{py_text}: the agent's code needs Python >= 3.10",
                                client_install_fix(python_cmd, python, wanted, carla_root, config)))
    elif client != wanted and not has_wheel:
        findings.append(Finding("evaluator Python", False,
                                f"{py_text}: CARLA {wanted} has client wheels for Python "
                                f"{', '.join(sorted(wheels, key=lambda p: tuple(map(int, p.split('.')))))} only",
                                client_install_fix(python_cmd, python, wanted, carla_root, config)))
    else:
        findings.append(Finding("evaluator Python", True, py_text))
    if client is None:
        findings.append(Finding("carla client", False, "not installed",
                                client_install_fix(python_cmd, python, wanted, carla_root, config)))
    elif server is None:
        findings.append(Finding("client/server version", False, f"client {client}; server version unknown "
                                f"(no carla-<version> file in PythonAPI/carla/dist)",
                                "check that CARLA_ROOT is a CARLA release package", blocking=False))
    else:
        findings.append(Finding("client/server version", client == server, f"client {client}, server {server}",
                                "" if client == server else client_install_fix(python_cmd, python, server, carla_root,
                                                                                  config)))
    trees = probe["versions"].get("py_trees")
    want = config.doctor.py_trees_version
    findings.append(Finding("py_trees", trees == want, f"{trees or 'not installed'} (needs {want})",
                            "" if trees == want else f"pip install py_trees=={want}"))
    for module, error in probe["imports"].items():
        findings.append(Finding(f"import {module}", error is None, error or "ok",
                                "" if error is None else import_fix(module, error)))
    return findings


def scan_source_fixes(roots: list[Path], python: tuple[int, ...]) -> list[Finding]:
    """Source patterns in the leaderboard / scenario_runner that break on this Python."""
    findings = []
    for pattern, removed_in, why, fix in SOURCE_FIXES:
        if python[:2] < removed_in:
            continue
        regex = re.compile(pattern)
        hits = []
        for root in roots:
            for path in sorted(root.rglob("*.py")):
                try:
                    lines = path.read_text(errors="replace").splitlines()
                except OSError:
                    continue
                hits.extend(f"{path}:{n}" for n, line in enumerate(lines, 1) if regex.search(line))
        if hits:
            where = ", ".join(hits[:3]) + (f" (+{len(hits) - 3} more)" if len(hits) > 3 else "")
            findings.append(Finding("Python >= 3.9 fixes", False, f"{why}: {where}", fix))
    return findings or [Finding("Python >= 3.9 fixes", True, "no removed API in the leaderboard sources")]


def check_gpus(config: LaunchConfig, gpus: tuple[int, ...]) -> Finding:
    command = list(config.doctor.gpu_query)
    if shutil.which(command[0]) is None:
        return Finding("GPUs", False, f"{command[0]} not found", "install the NVIDIA driver: CARLA renders on a GPU")
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding("GPUs", False, f"{command[0]} failed: {exc}", "check the NVIDIA driver (nvidia-smi)")
    found = [int(m.group(1)) for m in re.finditer(r"^GPU (\d+):", out, re.M)]
    if not found:
        return Finding("GPUs", False, "no GPU visible", "check the NVIDIA driver and CUDA_VISIBLE_DEVICES")
    missing = [g for g in gpus if g not in found]
    if missing:
        return Finding("GPUs", False, f"visible {found}, asked for {list(gpus)}",
                       f"use --gpus from {','.join(map(str, found))}")
    return Finding("GPUs", True, f"{len(found)} visible: {found}")


def check_ports(config: LaunchConfig, n_workers: int) -> Finding:
    allocator = PortAllocator(config.ports, host=config.server.host)
    try:
        blocks = [allocator.allocate(i) for i in range(n_workers)]
    except RuntimeError as exc:
        return Finding("ports", False, str(exc), "set ports.rpc_base / ports.tm_base to a free range")
    text = ", ".join(f"{b.rpc}-{b.rpc + config.ports.rpc_span - 1}/{b.traffic_manager}" for b in blocks)
    return Finding("ports", True, f"free for {n_workers} worker(s) (rpc/tm): {text}")


def check_vulkan(config: LaunchConfig) -> list[Finding]:
    findings = []
    try:
        ctypes.CDLL(config.doctor.vulkan_loader)
        findings.append(Finding("Vulkan loader", True, config.doctor.vulkan_loader))
    except OSError:
        findings.append(Finding("Vulkan loader", False, f"{config.doctor.vulkan_loader} not found",
                                "apt-get install libvulkan1 (CARLA renders with Vulkan)"))
    icds = [p for d in config.doctor.vulkan_icd_dirs if Path(d).is_dir() for p in sorted(Path(d).glob("*.json"))]
    nvidia = [p for p in icds if p.name == config.doctor.vulkan_nvidia_icd]
    if nvidia:
        findings.append(Finding("Vulkan NVIDIA ICD", True, str(nvidia[0])))
    else:
        findings.append(Finding("Vulkan NVIDIA ICD", False,
                                f"no {config.doctor.vulkan_nvidia_icd} in {', '.join(config.doctor.vulkan_icd_dirs)}"
                                + (f" (found {', '.join(p.name for p in icds)})" if icds else ""),
                                "install the NVIDIA driver's Vulkan files (e.g. libnvidia-gl-<driver version>)"))
    return findings


def run_doctor(config: LaunchConfig, environ: dict[str, str], gpus: tuple[int, ...] = (0,),
               workers_per_gpu: int = 1) -> list[Finding]:
    findings, paths = check_paths(config, environ)
    if paths is not None:
        findings.extend(check_server_binary(paths.carla_root))
        findings.append(check_working_dir(paths, config))
        probe, error = run_probe(paths, config, environ)
        if probe is None:
            findings.append(Finding("import probe", False, f"{paths.python} could not run the probe: {error}",
                                    "set paths.python to a working interpreter"))
        else:
            findings.extend(check_probe(probe, paths.carla_root, config, str(paths.python)))
            findings.extend(scan_source_fixes([paths.leaderboard_root, paths.scenario_runner_root],
                                              tuple(probe["python"])))
    findings.append(check_gpus(config, gpus))
    findings.append(check_ports(config, len(gpus) * workers_per_gpu))
    findings.extend(check_vulkan(config))
    return findings


def blocking_failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok and f.blocking]
