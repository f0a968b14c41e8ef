# expect: no-leak
# Removes both import layers (the audit hook, found through gc, is made to do nothing; the
# finder leaves sys.meta_path), puts every site-packages and dist-packages folder it can think
# of on sys.path (the grader's own, named by the test, and the usual ones), and imports sympy,
# backproplab and other installed packages. Only the file system can stop it: nothing of them
# may be on disk inside the sandbox.
import gc, glob, importlib, os, sys, types
HOST_SITES = __HOST_SITES__
def disarm():
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and obj.__code__.co_name == "audit":
            for cell in obj.__closure__ or ():
                if isinstance(cell.cell_contents, (set, frozenset)):
                    cell.cell_contents = frozenset()  # nothing is forbidden any more
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
def candidates():
    yield from HOST_SITES
    for root in ("/usr", "/usr/local", "/opt/python", "/opt/*", "/opt/*/*"):
        for lib in ("lib", "lib64"):
            yield from glob.glob(f"{root}/{lib}/python3*/*-packages")
    yield from glob.glob("/usr/lib/python3/dist-packages")
    yield from (d for d in glob.glob("/opt/*") if d != "/opt/backproplab")
def mse_loss(y_pred, y):
    gc.unfreeze()
    disarm()
    found = []
    for d in candidates():
        try:
            if os.path.basename(d) in ("site-packages", "dist-packages") and os.listdir(d):
                found.append("LEAK:listed " + d)
        except OSError:
            pass
        sys.path.append(d)
    importlib.invalidate_caches()
    for name in ("sympy", "backproplab", "jinja2", "mpmath", "IPython", "pytest", "torch", "nbgrader"):
        try:
            importlib.import_module(name)
            found.append("LEAK:imported " + name)
        except BaseException:
            pass
    return str(found)[:900]
