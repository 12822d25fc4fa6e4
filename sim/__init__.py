"""The embedded closed-loop simulator: Bench2Drive-style routes on CPU, without CARLA.

The same agent object the leaderboard drives is driven here, with the same call
sequence, input_data formats, CARLA frame conventions, criteria and results JSON:

    automot sim --routes bench2drive_routes/embedded_quick.xml --agent automot --out runs/sim

Layout (one job per module):
  maps/*.json, map_builder.py, map_designs.py   the four towns as data, and the code that writes them
  world_map.py, routing.py, lane_path.py         lanes, waypoints, lights, signs; keypoints -> dense route
  world.py, actors.py, vehicle_dynamics.py       actors, the ego's control response, one 20 Hz step
  behaviors.py, background.py                    IDM traffic, walkers, ambient 'background' cars
  scenarios/                                     Bench2Drive scenario types on the embedded towns
  criteria_route.py, criteria_events.py, events.py, statistics.py   the leaderboard's scoring
  camera.py, lidar.py, raster.py, sensor_suite.py, hero.py          sensors and the hero actor facade
  route_runner.py, evaluation.py, agents.py      one route / a route file, resume, agent factories
  privileged.py, expert*.py                      ground truth and the privileged expert planner
  topdown.py, map_provider.py                    top-down video, metrics map hook (the end-of-run
                                                 report is launch/sim_summary.py)
  scripted_driver.py                             a rule-blind driver for tests
"""
