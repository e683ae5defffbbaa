"""I/O at the edges: the network (fetch/), the database (store/), files (files.py), the config
file (configedit.py) and the on_change command (hooks.py). Each turns library errors into ours
and imports steps/, config, models and errors only; run/ and cli/ use them.
"""
