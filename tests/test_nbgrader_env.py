"""nbgrader used in process: a new gradebook gets the revision nbgrader itself would stamp."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from nbgrader.dbutil import write_alembic_ini

from backproplab.course.nbgrader_env import alembic_head


def test_alembic_head_is_what_alembic_heads_prints(tmp_path):
    # what nbgrader's own get_alembic_version runs: `alembic heads` in a new interpreter
    ini = tmp_path / "alembic.ini"
    write_alembic_ini(str(ini), f"sqlite:///{tmp_path / 'gradebook.db'}")
    alembic = Path(sys.executable).parent / "alembic"
    printed = subprocess.check_output([str(alembic), "-c", str(ini), "heads"], text=True)
    assert printed.split()[0] == alembic_head() and len(alembic_head()) == 12


def test_a_generated_gradebook_is_stamped_with_the_head(hw1_course):
    with sqlite3.connect(hw1_course / "gradebook.db") as db:
        (stamp,) = db.execute("SELECT version_num FROM alembic_version").fetchall()
    assert stamp == (alembic_head(),)
