"""The foundation every part uses: typed config, atomic writes, frame geometry, CARLA type stand-ins.

It imports no other part of the project (tests/test_import_rules.py keeps it so).
"""
