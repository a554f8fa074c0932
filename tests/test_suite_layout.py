"""The test folders are not packages (no __init__.py), so pytest imports each test file by its basename: two
files with one name in different folders collide ("import file mismatch") and one of them never runs."""

import collections
import os

from tests.train.runs import REPO


def test_every_test_file_has_a_name_of_its_own():
    names = collections.defaultdict(list)
    for directory, _, files in os.walk(os.path.join(REPO, "tests")):
        for file in files:
            if file.startswith("test_") and file.endswith(".py"):
                names[file].append(os.path.relpath(os.path.join(directory, file), REPO))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
