"""Using nbgrader from inside backproplab."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def prepare_nbgrader() -> None:
    """Ready nbgrader for use in this process.

    A new gradebook is stamped with the revision that nbgrader asks of `alembic heads`, run in
    a new interpreter that imports nbgrader again: 2 s of CPU for every new course. alembic's
    own API reads the same migration scripts in this process in under 0.1 s, so nbgrader's
    function is pointed at that (tests/test_nbgrader_env.py checks both give one revision).
    The interpreter's scripts stay on PATH for whatever else nbgrader runs, even when the
    virtual environment is not activated.
    """
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def alembic_head() -> str:
    """The head revision of nbgrader's gradebook migrations, as `alembic heads` prints it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def gradebook_url(course: Path) -> str:
    return f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"
