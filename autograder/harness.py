"""The adapter loaded into a student's sandbox session.

It holds no test, no check and no expected value: it loads a student's cell into
a fresh namespace and runs a batch of calls the grader prepared (so one sandbox
round trip grades a whole task), turns the data-only descriptions of a random
generator or a test function back into objects, and reports what each call
returned (and its inputs afterwards, so the grader can see mutation). The grader
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
    """Load the student's cell `source` into a fresh namespace and run `calls` on it.

    `source` None means the student's functions are already in this module's
    namespace (in-kernel grading). An error while loading the cell propagates:
    the whole task fails with it.
    """
    import builtins

    if source is None:
        return backproplab_harness_run(calls, globals(), cap)
    namespace = {"__name__": "__student__", "__builtins__": builtins}
    exec(compile(source, "<student>", "exec"), namespace)
    return backproplab_harness_run(calls, namespace, cap)


def backproplab_harness_run(calls, fns, cap=10000):
    """Run `calls` (dicts fn, args, again, keep_args, pick, fd) on the functions in `fns`; one result each.

    An argument {"__rng__": seed} becomes numpy.random.default_rng(seed) and
    {"__function__": spec} a test function; a generator the student returns is
    turned into a list (at most `cap` items). An exception becomes {"error": ...}.
    A call with "fd": {"wrt", "h", "dout"} is a finite-difference probe of the
    student's forward: for each element i of the argument `wrt` (an index, or
    [index, key] into a dict argument) it returns sum(dout * f(x + h e_i)) and
    sum(dout * f(x - h e_i)) as an array of shape x.shape + (2,); the grader
    turns those into a gradient.
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

    def perturbed(args, wrt, i, step):
        args = list(args)
        if isinstance(wrt, int):
            args[wrt] = x = args[wrt].copy()
        else:
            args[wrt[0]] = dict(args[wrt[0]])
            args[wrt[0]][wrt[1]] = x = args[wrt[0]][wrt[1]].copy()
        x[i] += step
        return [build(a) for a in args]

    def probe(fn, call):
        spec, pick = call["fd"], call.get("pick")
        wrt = spec["wrt"] if isinstance(spec["wrt"], int) else tuple(spec["wrt"])
        base = call["args"][wrt] if isinstance(wrt, int) else call["args"][wrt[0]][wrt[1]]
        dout = numpy.asarray(spec["dout"], dtype=float)
        sums = numpy.zeros(base.shape + (2,))
        for i in numpy.ndindex(base.shape):
            for k, sign in enumerate((1.0, -1.0)):
                out = plain(fn(*perturbed(call["args"], wrt, i, sign * spec["h"])))
                out = out[pick] if pick is not None else out
                sums[i + (k,)] = numpy.sum(dout * numpy.asarray(out, dtype=float))
        return sums

    results = []
    for call in calls:
        if not callable(fns.get(call["fn"])):
            results.append({"error": f"function {call['fn']!r} is not defined"})
            continue
        fn = fns[call["fn"]]
        if call.get("fd"):
            try:
                results.append({"out": probe(fn, call)})
            except Exception as e:
                results.append(error(e))
            continue
        pristine = copy.deepcopy(call["args"])
        args = [build(a) for a in call["args"]]
        try:
            out = plain(fn(*args))
            if call.get("pick") is not None:
                out = out[call["pick"]]
            result = {"out": out}
            if call.get("again"):
                again = plain(fn(*[build(a) for a in copy.deepcopy(pristine)]))
                result["again"] = again[call["pick"]] if call.get("pick") is not None else again
            if call.get("keep_args"):
                result["args"] = [shown(a) for a in args]
        except Exception as e:
            result = error(e)
        results.append(result)
    return results
