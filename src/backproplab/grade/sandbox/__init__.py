"""Running untrusted student code and getting plain data back.

    with Sandbox() as box, box.session(source) as s:
        y = s.call("mse_loss", y_pred, y_true)

`launcher` starts the warm zygote (under bubblewrap, or the documented fallback)
and hands out sessions; `mounts` is bubblewrap's mount plan; `session` talks to
one session; `protocol` holds the errors and the reading of replies; `inside/`
is what runs inside the sandbox; `inprocess` is the insecure in-kernel stand-in
for stock nbgrader. docs/sandbox.md has the threat model.
"""

from .launcher import STRONG, Sandbox
from .limits import Limits
from .mounts import UNPRIVILEGED_UID
from .protocol import ForbiddenImport, SandboxError, StudentError
from .session import Session

__all__ = ["STRONG", "ForbiddenImport", "Limits", "Sandbox", "SandboxError", "Session", "StudentError", "UNPRIVILEGED_UID"]
