"""automot: an AutoMoT driving agent for CARLA / Bench2Drive, with an embedded CPU simulator."""

from setuptools import find_packages, setup

CORE_REQUIREMENTS = [
    # torch is installed first, pinned, by scripts/bootstrap.sh (a plain `torch`
    # requirement would pull a multi-GB CUDA build); the floor is that pin.
    "torch>=2.13",
    # The UE's image processor imports transformers' private image_processing_pil_qwen2_vl
    # module, whose layout moves between minor releases: only the tested minor is allowed.
    "transformers>=5.24,<5.25",
    "tokenizers",
    "safetensors",
    "numpy>=1.24",
    "opencv-python-headless",
    "shapely>=2.0",
    "pyyaml",
    "rich",
    "pillow",
    "matplotlib",
    "imageio",
    "imageio-ffmpeg",
    # PDM-Lite datasets store LiDAR as LAZ: laspy reads/writes it, lazrs is its compression backend.
    "laspy",
    "lazrs",
    # `automot train` writes TensorBoard event files (torch.utils.tensorboard needs the package).
    "tensorboard",
    # The action refiner (AutoMoT+) denoises with diffusers' DDIM scheduler.
    "diffusers",
]

EXTRAS = {
    # The real leaderboard: the CARLA client wheel matching the server (0.9.15 on
    # Python 3.10; 0.9.16 where only that wheel exists) and the leaderboard's pins.
    "carla": ["carla", "py_trees==0.8.3", "networkx", "tabulate", "dictor", "six", "simple-watchdog-timer", "psutil"],
    "dev": ["pytest", "pytest-timeout", "ruff", "hypothesis"],
}

setup(
    name="automot",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.10",
    packages=find_packages(
        include=[f"{top}*" for top in (
            "core", "agent", "sensors", "planner", "controllers", "bench2drive_routes", "launch", "sim", "data", "training",
        )]
    ),
    include_package_data=True,
    package_data={"bench2drive_routes": ["*.xml"], "sim": ["maps/*.json"], "agent": ["*.yaml"], "planner": ["**/*.json"]},
    install_requires=CORE_REQUIREMENTS,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["automot=launch.cli:main"]},
)
