# expect: no-leak
# Walks gc, every frame, sys.modules, the environment and /proc looking for the grader's
# expected value (the test holds a sentinel; we get only its SHA-256 to recognise it).
import gc, hashlib, os, sys
WANT = "__SENTINEL_SHA__"
def hit(s):
    if isinstance(s, str):
        s = s.encode("utf-8", "replace")
    if isinstance(s, (bytes, bytearray)):
        if hashlib.sha256(bytes(s)).hexdigest() == WANT:
            return True
        return any(hashlib.sha256(bytes(w)).hexdigest() == WANT for w in bytes(s).split())
    return False
def mse_loss(y_pred, y):
    gc.unfreeze()  # the zygote froze its objects; look at those too
    seen = 0
    found = []
    for obj in gc.get_objects():
        items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else [obj]
        for x in items:
            seen += 1
            if hit(x):
                found.append("LEAK:gc")
    f = sys._getframe()
    while f is not None:
        for x in list(f.f_locals.values()) + list(f.f_globals.values()):
            if hit(x) or hit(repr(x)[:10000]):
                found.append("LEAK:frame")
        f = f.f_back
    for m in list(sys.modules.values()):
        for x in list(getattr(m, "__dict__", {}).values()):
            if hit(x):
                found.append("LEAK:module")
    for x in os.environ.values():
        if hit(x):
            found.append("LEAK:environ")
    for pid in os.listdir("/proc"):
        for part in ("cmdline", "environ"):
            try:
                data = open(f"/proc/{pid}/{part}", "rb").read().replace(b"\0", b" ")
                if hit(data):
                    found.append("LEAK:proc")
            except OSError:
                pass
    return f"searched {seen} objects: {found}"[:900]
