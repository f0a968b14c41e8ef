"""The adapter loaded into a student's sandbox session.

It holds no test, no check and no expected value: it runs a batch of calls the
grader prepared (so one sandbox round trip grades a whole task), each in a fresh
namespace where the student's cell has just run, turns the data-only
descriptions of a random generator or a test function back into objects, and
reports what each call returned (and its inputs afterwards, so the grader can
see mutation). Graded calls and the finite-difference probes of a forward are
the same kind of call: nothing here tells them apart. The grader
imports this same file to evaluate the test functions itself, so the student's
process and the grader agree on them.
"""


def backproplab_make_function(spec):
    """A scalar test function from plain data: {"fn": "sines" | "sines_of_dict", ...}.

    "sines":         f(x) = sum(a * sin(b * x)) + c * sum(x)**2   (x an array)
    "sines_of_dict": f(p) = sum over names of the "sines" of p[name] with that name's a, b, c
    """
    import numpy

    def sines(x, a, b, c):
        return float(numpy.sum(a * numpy.sin(b * x)) + c * numpy.sum(x) ** 2)

    if spec["fn"] == "sines":
        return lambda x: sines(x, spec["a"], spec["b"], spec["c"])
    terms = spec["terms"]
    return lambda p: sum(sines(p[k], *terms[k]) for k in sorted(terms))


def backproplab_harness_task(source, calls, cap=10000):
    """Run `calls` on the student's cell `source`, each in a fresh namespace of its own.

    The cell is compiled once and executed again before every call, and the
    builtins are put back as they were when this adapter was loaded, so no call
    sees what an earlier one left (a counter, a cache of inputs). `source` None
    means the student's functions are already in this module's namespace
    (in-kernel grading). An error while loading the cell propagates: the whole
    task fails with it.
    """
    import builtins

    if source is None:
        return backproplab_harness_run(calls, globals, cap)
    code = compile(source, "<student>", "exec")

    def fresh():
        builtins.__dict__.clear()
        builtins.__dict__.update(BACKPROPLAB_BUILTINS)
        namespace = {"__name__": "__student__", "__builtins__": builtins}
        exec(code, namespace)
        return namespace

    return backproplab_harness_run(calls, fresh, cap)


def backproplab_harness_run(calls, functions, cap=10000):
    """Run `calls` (dicts fn, args, again, keep_args) on the functions `functions()` returns, one result each.

    `functions` is called once per call (a fresh namespace each time). An argument
    {"__rng__": seed} becomes numpy.random.default_rng(seed) and {"__function__":
    spec} a test function; a generator the student returns is turned into a list
    (at most `cap` items). An exception becomes {"error": ...}. With "again" the
    function is called a second time on fresh copies of the same inputs (same
    namespace); with "keep_args" the inputs are returned as they are after the call.
    """
    import copy
    import types

    import numpy

    def build(arg):
        if isinstance(arg, dict) and "__rng__" in arg:
            return numpy.random.default_rng(arg["__rng__"])
        if isinstance(arg, dict) and "__function__" in arg:
            return backproplab_make_function(arg["__function__"])
        return arg

    def plain(out):
        if isinstance(out, types.GeneratorType) or type(out).__name__ in ("map", "zip", "filter"):
            items = []
            for item in out:
                items.append(plain(item))
                if len(items) >= cap:
                    break
            return items
        if isinstance(out, (list, tuple)):
            return type(out)(plain(o) for o in out)
        if isinstance(out, dict):
            return {k: plain(o) for k, o in out.items()}
        if isinstance(out, numpy.generic):
            return out.item()
        return out

    def shown(arg):
        # what the grader may compare after the call: arrays and numbers, not rngs or functions
        return None if callable(arg) or isinstance(arg, numpy.random.Generator) else arg

    def error(e):  # the student's own error, reported back as one line
        return {"error": (f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)[:300]}

    results = []
    for call in calls:
        fns = functions()
        if not callable(fns.get(call["fn"])):
            results.append({"error": f"function {call['fn']!r} is not defined"})
            continue
        fn = fns[call["fn"]]
        pristine = copy.deepcopy(call["args"])
        args = [build(a) for a in call["args"]]
        try:
            result = {"out": plain(fn(*args))}
            if call.get("again"):
                result["again"] = plain(fn(*[build(a) for a in copy.deepcopy(pristine)]))
            if call.get("keep_args"):
                result["args"] = [shown(a) for a in args]
        except Exception as e:
            result = error(e)
        results.append(result)
    return results


import builtins as _builtins  # noqa: E402 — the builtins as they are before any student code runs

BACKPROPLAB_BUILTINS = dict(_builtins.__dict__)
del _builtins
