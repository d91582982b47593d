#!/usr/bin/python3
"""Runs every Python tool test of this folder (tests/tools/*_test.py) in one process.

Bazel's `//tests/tools:tools_py` runs this file; ctest's `tools_py` runs the same tests
with `python3 -m unittest discover -s tests/tools -p '*_test.py'`.
"""
import os
import sys
import unittest

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    suite = unittest.defaultTestLoader.discover(here, pattern="*_test.py", top_level_dir=here)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
