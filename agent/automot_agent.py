"""The leaderboard agent: pass this file as TEAM_AGENT.

The evaluator imports it by path, calls `get_entry_point()` for the class name,
builds `AutoMoTAgent(host, port, debug)`, then `set_global_plan`,
`setup(config_path[+save_name])`, `sensors()`, `run_step(input_data, timestamp)`
every tick and `destroy()`. The embedded simulator drives the very same class.

One tick: input_data -> SensorFrame -> Observation -> scheduler (understand
every N ticks, act every tick) -> Plan -> controllers -> carla.VehicleControl.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The leaderboard puts this file's folder first on sys.path; make the project root
# importable too, so `agent.*`, `sensors.*`, ... resolve when loaded by path.
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.append(_PROJECT_ROOT)

from agent.automot_config import AgentConfig, load_agent_config, save_agent_config, split_setup_argument  # noqa: E402
from agent.metric_info import MetricInfoRecorder  # noqa: E402
from agent.observation_builder import ObservationBuilder  # noqa: E402
from agent.planner_scheduler import PlannerScheduler  # noqa: E402
from agent.tick_log import TickLog  # noqa: E402
from controllers.command import VehicleCommand  # noqa: E402
from controllers.driving_controller import DrivingController  # noqa: E402
from controllers.parking_escape import EscapeStep, ParkingEscape  # noqa: E402
from core.carla_compat import make_vehicle_control  # noqa: E402
from planner.factory import build_planner  # noqa: E402
from planner.interface import Plan, Planner  # noqa: E402
from planner.route_planner import parse_global_plan  # noqa: E402
from sensors.rig import build_sensor_dicts  # noqa: E402
from sensors.sensor_frame import SensorDataError, decode_input_data  # noqa: E402

try:  # under the leaderboard: its base class (sensor interface, hero lookup, downsampling)
    from leaderboard.autoagents.autonomous_agent import AutonomousAgent, Track
except ImportError:  # our own tools and tests: the compatible stand-in
    from agent.leaderboard_base import FallbackAutonomousAgent as AutonomousAgent
    from agent.leaderboard_base import Track

LOG = logging.getLogger("automot.agent")

_NO_ESCAPE = EscapeStep(active=False, started=False, target_points_ego=None)

# The leaderboard's contract for where agents may write per-route files.
SAVE_PATH_ENV = "SAVE_PATH"


def get_entry_point() -> str:
    return "AutoMoTAgent"


class AutoMoTAgent(AutonomousAgent):
    def __init__(self, carla_host: str, carla_port: int, debug: bool = False) -> None:
        self.hero_actor: Any = None
        super().__init__(carla_host, carla_port, debug)
        self.config: AgentConfig | None = None
        self.step = 0
        self.save_dir: Path | None = None
        self._planner: Planner | None = None
        self._privileged_source: Callable[[], Any] | None = None
        self._route_ready = False
        self._metric_info: MetricInfoRecorder | None = None
        self._tick_log: TickLog | None = None
        self._debug_frames: Any = None
        self._carla_drawer: Any = None
        self.last_plan: Plan | None = None
        self.last_observation: Any = None
        self.last_command: VehicleCommand | None = None

    @property
    def needs_wall_clock(self) -> bool:
        """True when the understanding pass runs in a background thread: a simulator faster than
        real time must then pace its ticks to wall-clock time (CARLA's server does by itself),
        or the pass never catches up and the agent brakes forever."""
        return self.config is not None and self.config.scheduler.mode == "threaded"

    def _reads(self) -> tuple[bool, bool]:
        """(camera images, LiDAR BEV): does anybody read them? The planner says so with
        `reads_camera` / `reads_lidar_bev` (default True); the debug frames read both."""
        assert self.config is not None
        debug = self.config.logging.debug_frames
        return (debug or getattr(self._planner, "reads_camera", True),
                debug or getattr(self._planner, "reads_lidar_bev", True))

    def sensor_ids_read(self) -> frozenset[str] | None:
        """The sensor ids whose data this agent reads; None: all. The cameras are left out when
        neither the planner (`reads_camera = False`: the route follower, the simulator's expert)
        nor the debug frames look at them, so a simulator may skip rendering them."""
        if self.config is None or self._reads()[0]:
            return None
        return frozenset(s["id"] for s in build_sensor_dicts(self.config.sensors) if s["type"] != "sensor.camera.rgb")

    # -- leaderboard hooks -------------------------------------------------------------
    def get_hero(self) -> None:
        """The leaderboard base looks the hero up in CARLA; tolerate running without a world."""
        try:
            super().get_hero()  # type: ignore[misc]
        except Exception:  # no CARLA world (embedded simulator): the simulator sets hero_actor
            self.hero_actor = getattr(self, "hero_actor", None)

    def setup(self, path_to_conf_file: str) -> None:
        config_path, save_name = split_setup_argument(path_to_conf_file or "")
        self.track = Track.SENSORS
        self.config = load_agent_config(config_path)
        build_sensor_dicts(self.config.sensors)  # validate the rig now, not at the first tick
        self.observations = ObservationBuilder(self.config)
        self.controller = DrivingController(self.config.controllers)
        self.escape = ParkingEscape(self.config.controllers.parking_escape)
        if self._planner is None:
            self._planner = build_planner(self.config.planner, self.config.model, self.config.refiner)
        self.scheduler = PlannerScheduler(self._planner, self.config.scheduler)
        self.step = 0
        self._prepare_route()
        self._open_outputs(save_name)
        self._open_carla_drawer()

    def sensors(self) -> list[dict[str, Any]]:
        if self.config is None:
            raise RuntimeError("sensors() called before setup()")
        return build_sensor_dicts(self.config.sensors)

    def attach(self, planner: Planner | None = None, privileged_source: Callable[[], Any] | None = None) -> None:
        """Plug in a planner (e.g. the simulator's expert) and a ground-truth source; before or after setup."""
        if planner is not None:
            self._planner = planner
            if self.config is not None:
                self.scheduler = PlannerScheduler(planner, self.config.scheduler)
        if privileged_source is not None:
            self._privileged_source = privileged_source

    def run_step(self, input_data: dict[str, Any], timestamp: float) -> Any:
        if self.config is None:
            raise RuntimeError("run_step() called before setup()")
        tick = self.step
        self.step += 1
        if not self._route_ready:
            self._prepare_route()
        command, record = self._tick(input_data, timestamp, tick)
        if not all(math.isfinite(v) for v in (command.steer, command.throttle, command.brake)):
            LOG.warning("tick %d: the controllers gave a non-finite command %s; braking", tick, command)
            command = VehicleCommand.full_brake()
        command = command.clipped()
        self.last_command = command
        if self._metric_info is not None and self.hero_actor is not None:
            self._metric_info.record(tick, self.hero_actor)
        if self._tick_log is not None:
            self._tick_log.write(record)
        return make_vehicle_control(command.steer, command.throttle, command.brake)

    def destroy(self) -> None:
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.close()
        if self._metric_info is not None:
            self._metric_info.close()
        if self._tick_log is not None:
            self._tick_log.close()
        if self._debug_frames is not None:
            self._debug_frames.close()
            self._debug_frames = None

    # -- internals ---------------------------------------------------------------------
    def _prepare_route(self) -> None:
        if self._global_plan_world_coord is None and self._global_plan is None:
            return  # not handed yet; checked again on the first tick
        points, options = parse_global_plan(self._global_plan_world_coord, self._global_plan)
        self.observations.route_planner.set_route(points, options)
        self._route_ready = True

    def _open_outputs(self, save_name: str | None) -> None:
        assert self.config is not None
        base = self.config.logging.save_path or os.environ.get(SAVE_PATH_ENV)
        if not base:
            return
        self.save_dir = Path(base) / (save_name or "automot_route")
        self.save_dir.mkdir(parents=True, exist_ok=True)
        save_agent_config(self.config, self.save_dir / "agent_config.yaml")
        if self.config.logging.write_metric_info:
            self._metric_info = MetricInfoRecorder(self.save_dir / "metric_info.json",
                                                   self.config.logging.metric_info_flush_every_ticks)
        self._tick_log = TickLog(self.save_dir / "ticks.jsonl")
        if self.config.logging.debug_frames:
            from agent.debug_frames import DebugFrameRecorder

            self._debug_frames = DebugFrameRecorder(self.save_dir / "debug", self.config)

    def _open_carla_drawer(self) -> None:
        assert self.config is not None
        logging_config = self.config.logging
        if logging_config.spectator == "off" and not logging_config.draw_plan:
            return
        try:
            from srunner.scenariomanager.carla_data_provider import CarlaDataProvider
        except ImportError:
            LOG.warning("logging.spectator / draw_plan need CARLA's scenario runner; ignored")
            return
        world = CarlaDataProvider.get_world()
        if world is None:
            LOG.warning("logging.spectator / draw_plan: no CARLA world; ignored")
            return
        from agent.carla_debug_draw import CarlaDebugDrawer

        self._carla_drawer = CarlaDebugDrawer(world, self.config)

    def _observe(self, input_data: Any, timestamp: float, tick: int) -> tuple[Any, list[str]]:
        """(Observation or None, warnings) for this tick's input_data; None means: brake."""
        assert self.config is not None
        need_images, need_bev = self._reads()
        try:
            frame = decode_input_data(input_data, self.config.sensors, convert_cameras=need_images)
        except SensorDataError as exc:
            return None, [f"{exc}; braking"]
        except Exception as exc:  # a reading no check foresaw: name it, brake, keep the route alive
            LOG.exception("tick %d: decoding input_data failed", tick)
            return None, [f"input_data could not be decoded ({type(exc).__name__}: {exc}); braking"]
        warnings = list(frame.warnings)
        privileged = self._privileged_source() if self._privileged_source is not None else None
        last = self.last_command or VehicleCommand.full_brake()
        try:
            observation = self.observations.build(frame, tick, timestamp, privileged,
                                                  control=(last.steer, last.throttle, last.brake),
                                                  need_images=need_images, need_bev=need_bev)
        except ValueError as exc:  # no GNSS fix yet to place the car, no speed estimate, heading lost
            observation, error = None, f"{exc}; braking"
        estimate = self.observations.last_estimate
        if estimate is not None:
            warnings.extend(estimate.warnings)
        if observation is None:
            warnings.append(error)
        return observation, warnings

    def _escape_step(self, observation: Any, tick: int) -> Any:
        """The parking escape (off unless controllers.parking_escape.enabled), after the warm-up."""
        assert self.config is not None
        if tick < self.config.controllers.safety.warmup_ticks:
            return _NO_ESCAPE
        escape = self.escape.step(tick, observation.ego.position, observation.ego.yaw)
        if escape.started:
            skipped = self.observations.route_planner.skip_plan_points(
                self.config.controllers.parking_escape.skip_plan_points)
            self.controller.safety.reset_stuck()
            LOG.warning("tick %d: parking escape: %s; skipped %d plan points", tick, escape.reason, skipped)
        elif escape.reason:
            LOG.info("tick %d: parking escape ended: %s", tick, escape.reason)
        if escape.active:
            self.controller.safety.reset_stuck()
        return escape

    def _tick(self, input_data: Any, timestamp: Any, tick: int) -> tuple[VehicleCommand, dict]:
        assert self.config is not None
        try:
            timestamp = float(timestamp)
        except (TypeError, ValueError):
            LOG.warning("tick %d: timestamp %r is not a number", tick, timestamp)
            timestamp = math.nan
        record: dict[str, Any] = {"tick": tick, "timestamp": timestamp}
        if not self._route_ready:
            LOG.warning("tick %d: no global plan yet, braking", tick)
            return VehicleCommand.full_brake(), {**record, "warning": "no global plan"}
        observation, warnings = self._observe(input_data, timestamp, tick)
        for warning in warnings:
            LOG.warning("tick %d: %s", tick, warning)
        if observation is None:
            return VehicleCommand.full_brake(), {**record, "warning": "; ".join(warnings)}
        escape = self._escape_step(observation, tick)
        if escape.target_points_ego is not None:
            observation = self.observations.with_target_points(observation, escape.target_points_ego)
        plan = self.scheduler.step(observation)
        if plan is None:  # the understanding expert has not produced its first cache
            command = VehicleCommand.full_brake()
        else:
            command = self.controller.step(plan, tick, observation.speed, observation.lidar_points,
                                           fallback_route=observation.route, position=observation.ego.position)
        if escape.active:
            command = self.escape.command()
            if observation.speed > self.config.controllers.longitudinal.max_speed_mps:
                command = VehicleCommand.full_brake()
        self.last_plan, self.last_observation = plan, observation
        if self.config.logging.log_decisions and plan is not None and plan.decisions:
            LOG.debug("tick %d decisions: %s", tick, " ".join(plan.decisions))
        if self._debug_frames is not None:
            self._debug_frames.record(tick, observation, plan, command, plan.decisions if plan else ())
        if self._carla_drawer is not None and self.hero_actor is not None:
            self._carla_drawer.update(self.hero_actor.get_transform(), plan, observation)
        estimate = self.observations.last_estimate
        record.update(
            speed=round(observation.speed, 3),
            speed_source=estimate.speed_source if estimate is not None else "none",
            desired_speed=round(self.controller.last_desired_speed, 3),
            command=observation.command,
            decisions=list(plan.decisions) if plan else [],
            steer=round(command.steer, 4), throttle=round(command.throttle, 4), brake=round(command.brake, 4),
            warnings=warnings,
        )
        return command, record
