"""A per-student nbgrader exchange: each student receives their own notebook, and only theirs.

nbgrader's own `release_assignment` publishes the whole of release/HW/ to every
student, and its `fetch_assignment` copies all of it: with one variant per student,
everyone would receive every classmate's notebook. These classes plug into
nbgrader's `ExchangeFactory` (`configure_exchange`, called by the nbgrader_config.py
that `generate` writes, and by the students' config) and change only where files go:

    <exchange root>/<course_id>/outbound/HW/            mode 0711: students may pass, not list
    <exchange root>/<course_id>/outbound/HW/<student>/  mode 0700, plus a POSIX ACL entry
                                                        that lets the Unix user <student> read it

* `ReleaseAssignment` publishes each release/HW/<student>/ folder (the student's own
  notebook and handout; nothing else is in release/HW/) to that student only. Without
  --force on an assignment already released it adds the students not released yet
  (those whose Unix account did not exist before), and leaves the others as they are.
* `FetchAssignment` copies outbound/HW/<student>/ into the student's HW/ folder, where
  <student> is `--student` or, as in nbgrader, the Unix user name.
* `Submit` checks the submission against the student's own released notebooks;
  `List` shows a student their own; `collect` is nbgrader's (the inbound folder is
  the same), and brings each submission into submitted/<student>/HW/.
* `ReleaseFeedback` releases backproplab's feedback.html (written from the gradebook)
  as the notebook's feedback, or nbgrader's own HW.html when there is no feedback.html,
  so nbgrader's `fetch_feedback` gives the student one page for the notebook.

The access rule is the operating system's: the student folders belong to the instructor
(who can replace them) and an ACL entry grants read access to the Unix user of the same
name, so a student can read neither a classmate's folder nor the list of folders.
`ReleaseAssignment.access = "none"` publishes the folders without the ACL (readable by
anyone who knows a student id): only for a machine where every student is the same Unix
user and isolation is done elsewhere.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from nbgrader.exchange.default import (ExchangeFetchAssignment, ExchangeList, ExchangeReleaseAssignment,
                                       ExchangeReleaseFeedback, ExchangeSubmit)
from nbgrader.utils import get_username, ignore_patterns, notebook_hash
from traitlets import Enum, Unicode

from ..course.layout import Layout
from ..course.roster import RosterError, check_student_id

OUTBOUND_MODE = 0o711  # the instructor writes; everyone may pass through, nobody else may list
OWN_DIR_MODE, OWN_FILE_MODE = 0o700, 0o600  # a student's folder: the instructor's, plus the student's ACL entry
OPEN_DIR_MODE, OPEN_FILE_MODE = 0o755, 0o644  # access = "none"
OUR_FEEDBACK = "feedback.html"  # what `backproplab feedback` writes (course.layout.feedback_html)


def exchange_student(coursedir) -> str:
    """The student an exchange command acts for: `--student`, else the Unix user (as nbgrader)."""
    student = coursedir.student_id if coursedir.student_id not in ("", "*") else get_username()
    try:
        return check_student_id(student)
    except RosterError as e:
        raise ValueError(str(e)) from None


class _OwnFolder:
    """outbound/HW/<student>/ of the student this command acts for."""

    def own_folder(self) -> str:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        try:
            student = exchange_student(self.coursedir)
        except ValueError as e:
            self.fail(str(e))
        return os.path.join(self.root, self.coursedir.course_id, "outbound", self.coursedir.assignment_id, student)


class ReleaseAssignment(ExchangeReleaseAssignment):
    """Publish release/HW/<student>/ to each student only (see the module docstring)."""

    access = Enum(["acl", "none"], default_value="acl",
                  help="acl: a POSIX ACL entry gives each student's folder to the Unix user of that name "
                       "(setfacl); none: no access control beyond unlisted folder names").tag(config=True)
    setfacl = Unicode("setfacl", help="The setfacl program (Debian package acl)").tag(config=True)

    def init_src(self):
        super().init_src()
        stray = sorted(n for n in os.listdir(self.src_path) if not os.path.isdir(os.path.join(self.src_path, n)))
        if stray:  # a generic notebook or a stray file would otherwise never reach anyone: say so
            self.log.warning("Not released (release/%s/ should hold only the students' folders): %s",
                             self.coursedir.assignment_id, ", ".join(stray))
        roster = set(Layout(Path(self.coursedir.root), self.coursedir.assignment_id).roster_ids()) or None
        self.students = []
        for name in sorted(os.listdir(self.src_path)):
            path = os.path.join(self.src_path, name)
            if not os.path.isdir(path) or os.path.islink(path):
                continue
            try:
                check_student_id(name)
            except RosterError:
                self.log.warning("Not released: %s is not a student id", name)
                continue
            if roster is not None and name not in roster:
                self.log.warning("Not released: %s is not on the roster %s was last generated for", name,
                                 self.coursedir.assignment_id)
                continue
            self.students.append(name)
        if not self.students:
            self.fail(f"No student folders in {self.src_path}: run `backproplab generate` first")

    def _without_account(self) -> list[str]:
        if self.access != "acl":
            return []
        missing = []
        for student in self.students:
            try:
                pwd.getpwnam(student)
            except KeyError:
                missing.append(student)
        return missing

    def _grant(self, folder: str, student: str) -> None:
        """Read access to `folder` (recursively) for the Unix user `student`, by an ACL entry."""
        try:
            proc = subprocess.run([self.setfacl, "-R", "-m", f"u:{student}:rX", folder],
                                  capture_output=True, text=True, timeout=60)
        except FileNotFoundError:
            self.fail(f"{self.setfacl} not found: install the acl package (apt-get install acl), or set "
                      "ReleaseAssignment.access = 'none' where every student is the same Unix user")
        if proc.returncode != 0:
            self.fail(f"cannot give {student} access to their folder with {self.setfacl}: "
                      f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:] or ['unknown error']}")

    def _publish(self, student: str, into: str) -> None:
        """Copy release/HW/<student>/ to into/<student>/, readable by that student only."""
        src, dest = os.path.join(self.src_path, student), os.path.join(into, student)
        shutil.copytree(src, dest, ignore=ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                                          max_file_size=self.coursedir.max_file_size, log=self.log))
        open_ = self.access == "none"
        group = 0o050 if self.coursedir.groupshared else 0  # co-instructors in the course's group may read
        self.set_perms(dest, fileperms=(OPEN_FILE_MODE if open_ else OWN_FILE_MODE) | (group & 0o040),
                       dirperms=(OPEN_DIR_MODE if open_ else OWN_DIR_MODE) | group)
        if not open_:
            self._grant(dest, student)

    def copy_files(self):
        missing = set(self._without_account())
        if missing:
            self.log.warning("Not released to %d student(s) without a Unix account (release again once they "
                             "have one): %s", len(missing), ", ".join(sorted(missing)))
        students = [s for s in self.students if s not in missing]
        if not students:
            self.fail("No student of the roster has a Unix account here: nothing released")
        if os.path.isdir(self.dest_path) and not self.force:
            new = [s for s in students if not os.path.isdir(os.path.join(self.dest_path, s))]
            if not new:
                self.fail("Destination already exists, add --force to overwrite: {} {}".format(
                    self.coursedir.course_id, self.coursedir.assignment_id))
            for student in new:
                self._publish(student, self.dest_path)
            self.log.info("Released to %d more student(s): %s %s", len(new), self.coursedir.course_id,
                          self.coursedir.assignment_id)
            return
        # Built beside the destination and renamed into place: a student never sees a half-made release.
        staging = tempfile.mkdtemp(prefix=f".{self.coursedir.assignment_id}.", dir=self.outbound_path)
        try:
            for student in students:
                self._publish(student, staging)
            os.chmod(staging, OUTBOUND_MODE | (0o050 if self.coursedir.groupshared else 0))
            if os.path.isdir(self.dest_path):
                self.log.info("Overwriting files: %s %s", self.coursedir.course_id, self.coursedir.assignment_id)
                shutil.rmtree(self.dest_path)
            os.rename(staging, self.dest_path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.log.info("Released to %d student(s), each their own notebook: %s %s", len(students),
                      self.coursedir.course_id, self.coursedir.assignment_id)


class FetchAssignment(_OwnFolder, ExchangeFetchAssignment):
    """Copy the student's own outbound/HW/<student>/ into their HW/ folder."""

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        if not self.authenticator.has_access(self.coursedir.student_id, self.coursedir.course_id):
            self.fail("You do not have access to this course.")
        self.src_path = self.own_folder()
        if not os.path.isdir(self.src_path):
            released = os.path.dirname(self.src_path)
            self.fail(f"{self.coursedir.assignment_id} has not been released to {os.path.basename(self.src_path)}"
                      if os.path.isdir(released) else f"Assignment not found: {released}")
        if not os.access(self.src_path, os.R_OK | os.X_OK):
            self.fail(f"You don't have read permissions for the directory: {self.src_path}")


class Submit(_OwnFolder, ExchangeSubmit):
    """nbgrader's submit, checking the submission against the student's own released notebooks."""

    def init_release(self):
        self.release_path = self.own_folder()
        if not os.path.isdir(self.release_path):
            self.fail(f"Assignment not released to you: {self.release_path}")
        if not os.access(self.release_path, os.R_OK | os.X_OK):
            self.fail(f"You don't have read permissions for the directory: {self.release_path}")


class List(ExchangeList):
    """nbgrader's list, showing a student the notebooks released to them."""

    def parse_assignments(self):
        assignments = super().parse_assignments()
        if self.inbound or self.cached or self.remove:
            return assignments
        try:
            student = exchange_student(self.coursedir)
        except ValueError:
            return assignments
        for info in assignments:
            own = os.path.join(self.root, info["course_id"], "outbound", info["assignment_id"], student)
            if info["status"] == "released" and os.path.isdir(own):
                info["path"] = own
                info["notebooks"] = [{"notebook_id": os.path.splitext(os.path.basename(nb))[0],
                                      "path": os.path.abspath(nb)}
                                     for nb in sorted(glob.glob(os.path.join(own, "*.ipynb")))]
        return assignments


class ReleaseFeedback(ExchangeReleaseFeedback):
    """Release each student's feedback page as the feedback of their notebook: backproplab's
    feedback.html (from the gradebook) when there is one, else nbgrader's <notebook>.html."""

    def copy_files(self):
        exclude = set(self.coursedir.student_id_exclude.split(",")) if self.coursedir.student_id_exclude else set()
        notebook_id = self.coursedir.assignment_id  # backproplab's assignments have one notebook, HW.ipynb
        for folder in sorted(glob.glob(self.src_path)):
            student = os.path.basename(os.path.dirname(folder))
            if student in exclude or not os.path.isdir(folder):
                continue
            page = next((os.path.join(folder, n) for n in (OUR_FEEDBACK, f"{notebook_id}.html")
                         if os.path.isfile(os.path.join(folder, n))), None)
            if page is None:
                continue
            try:
                with open(os.path.join(folder, "timestamp.txt")) as f:
                    timestamp = f.read()
                with open(os.path.join(folder, "submission_secret.txt")) as f:
                    secret = f.read()
            except OSError:
                self.log.warning("Not released: feedback of %s has no timestamp.txt and submission_secret.txt "
                                 "(was the submission collected through the exchange?)", student)
                continue
            name = notebook_hash(secret=secret, notebook_id=notebook_id)
            tmp = os.path.join(self.dest_path, f"{name}-tmp.html")
            shutil.copy(page, tmp)
            os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            shutil.move(tmp, os.path.join(self.dest_path, f"{name}.html"))
            self.log.info("Releasing feedback for student '%s' on assignment '%s/%s' (%s) from %s", student,
                          self.coursedir.course_id, self.coursedir.assignment_id, timestamp, os.path.basename(page))


def configure_exchange(c) -> None:
    """Make nbgrader's exchange per-student (from the course's or a student's nbgrader_config.py)."""
    c.ExchangeFactory.release_assignment = ReleaseAssignment
    c.ExchangeFactory.fetch_assignment = FetchAssignment
    c.ExchangeFactory.submit = Submit
    c.ExchangeFactory.list = List
    c.ExchangeFactory.release_feedback = ReleaseFeedback
