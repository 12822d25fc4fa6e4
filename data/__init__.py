"""Driving data: the PDM-Lite route-folder layout (data/layout.py, data/laz.py), label building
(data/labels.py), the streaming torch dataset (data/dataset.py), statistics and sample drawing."""
