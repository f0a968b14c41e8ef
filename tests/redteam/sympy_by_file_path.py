# expect: error
# Removes the import blocker from sys.meta_path and loads sympy from its file.
import importlib.util, os, sys
sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in repr(f)]
paths = [os.path.join(d, "sympy", "__init__.py") for d in sys.path]
paths = [p for p in paths if os.path.exists(p)]
spec = importlib.util.spec_from_file_location("sympy", paths[0])
sympy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sympy)
def mse_loss(y_pred, y):
    return float(sympy.Rational(1, 2))
