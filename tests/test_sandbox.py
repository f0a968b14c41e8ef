"""The sandbox: values in and out, errors, limits, isolation facts, fallback, the wire codec."""

from __future__ import annotations

import shutil
import struct
import sys
import warnings

import numpy as np
import pytest

from backproplab.grade.sandbox import STRONG, UNPRIVILEGED_UID, ForbiddenImport, Limits, Sandbox, SandboxError, StudentError, launcher
from backproplab.grade.sandbox.inprocess import InProcessSandbox
from backproplab.grade.sandbox.inside.wire import WireError, decode, encode

HAVE_BWRAP = shutil.which("bwrap") is not None

SOURCE = '''
import os
import numpy as np

def mse_loss(y_pred, y):
    print("computing")
    return np.mean((y_pred - y) ** 2)

def echo(*args, **kwargs):
    return args, kwargs

def noise(rng, n):
    return rng.normal(size=n)

def squares(n):
    for i in range(n):
        yield i * i

def facts():
    with open("scratch.txt", "w") as f:
        f.write("x")
    return {"uid": os.getuid(), "mode": os.stat("scratch.txt").st_mode & 0o777, "cwd": os.getcwd(),
            "pid": os.getpid(), "root": sorted(os.listdir("/"))}

def boom():
    raise ValueError("bad\\nthing")

def big(n):
    return np.ones(n)
'''


@pytest.fixture(scope="module", params=["bubblewrap", "fallback"])
def box(request):
    if request.param == "bubblewrap" and not HAVE_BWRAP:
        pytest.skip("bubblewrap is not installed")
    with Sandbox(Limits(timeout_s=1.0), mode=request.param) as b:
        yield b


@pytest.fixture(scope="module")
def session(box):
    with box.session(SOURCE) as s:
        yield s


def test_isolation_is_named(box):
    assert box.isolation == STRONG or box.isolation == "weak (fallback): requested"


def test_result_matches_float_iteration(session):
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(1, 8))
        y_pred, y = rng.normal(size=n), rng.normal(size=n)
        want = sum((a - b) ** 2 for a, b in zip(y_pred.tolist(), y.tolist())) / n
        got = session.call("mse_loss", y_pred, y)
        assert type(got) is float and abs(got - want) <= 1e-12 * max(1, want)
    assert "computing" in session.stdout


def test_plain_data_round_trips(session):
    arrays = [np.arange(6.0).reshape(2, 3).T, np.array([True, False]), np.arange(4, dtype=np.int32),
              np.zeros((0, 2)), np.array(2.5), np.arange(3, dtype=">f8")]
    args, kwargs = session.call("echo", 1, 2.5, True, None, "s", [1, [2.0]], (3,), *arrays, k={"a": 1, 2: "b"})
    assert args[:7] == (1, 2.5, True, None, "s", [1, [2.0]], (3,))
    for sent, back in zip(arrays, args[7:]):
        assert type(back) is np.ndarray and back.shape == sent.shape and back.dtype == sent.dtype.newbyteorder("=")
        assert np.array_equal(back, sent)
    assert kwargs == {"k": {"a": 1, 2: "b"}}


def test_generator_is_materialised(session):
    assert session.call("squares", 5) == [i * i for i in range(5)]


def test_student_process_is_confined(box, session):
    facts = session.call("facts")
    assert facts["mode"] == 0o600  # umask 077
    if box.isolation == STRONG or launcher.os.geteuid() == 0:
        assert facts["uid"] == UNPRIVILEGED_UID
    if box.isolation == STRONG:
        assert facts["pid"] == 1  # PID 1 of its own namespace
        assert not {"work", "root", "home", "etc"} & set(facts["root"])
    with box.session(SOURCE) as other:  # a fresh private directory per session
        assert other.call("facts")["cwd"] != facts["cwd"]


def test_exceptions_are_one_line_student_errors(session):
    with pytest.raises(StudentError, match=r"^ValueError: bad thing$"):
        session.call("boom")
    with pytest.raises(StudentError, match="not defined"):
        session.call("nope")
    assert session.call("squares", 2) == [0, 1]  # the session survives a student exception


def test_student_errors_are_reported_while_other_sessions_come_and_go(box):
    """Stress: a raise in a call and a raise at load, a few hundred times each, with sessions overlapping.

    The bug this guards against: ending one session (here every failed load ends
    one) killed every other open session of the same Sandbox, because the
    zygote's orphan reaper took live sessions for orphans; the open session's next
    call then reported "closed the result channel" instead of the student's error.
    """
    with box.session(SOURCE) as s:
        for _ in range(300):
            with pytest.raises(StudentError, match=r"^ValueError: bad thing$"):
                s.call("boom")
            with pytest.raises(StudentError, match=r"^ValueError: bad thing$"):
                box.session('raise ValueError("bad\\nthing")\n')
        assert s.call("squares", 3) == [0, 1, 4]


def _same(a, b) -> bool:
    """Equal plain data, arrays compared by dtype, shape and values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_in_process_stand_in_answers_as_the_sandbox_does(box):
    """InProcessSandbox (stock nbgrader's in-kernel grading) gives what the sandbox gives: values and errors."""
    kernel = {"__name__": "__main__"}  # a kernel's globals, where the student's cell already ran
    exec(compile(SOURCE, "<cell>", "exec"), kernel)
    calls = [("mse_loss", (np.arange(3.0), np.ones(3)), {}), ("squares", (4,), {}),
             ("echo", (1, 2.5, True, None, "s", [1, (2,)], np.arange(4, dtype=">i4")), {"k": {"a": np.zeros((0, 2))}})]
    with box.session(SOURCE) as real, InProcessSandbox(kernel).session("") as fake:
        for fn, args, kwargs in calls:
            assert _same(real.call(fn, *args, **kwargs), fake.call(fn, *args, **kwargs)), fn
        for fn in ("boom", "nope"):
            with pytest.raises(StudentError) as want:
                real.call(fn)
            with pytest.raises(StudentError) as got:
                fake.call(fn)
            assert str(got.value) == str(want.value)
        assert fake.stdout == real.stdout == "computing\n"  # captured, not printed into the cell


def test_in_process_stand_in_blocks_imports_and_liars_and_leaves_the_kernel_as_it_was(box):
    import sympy  # noqa: F401 — loaded in this process, so the stand-in must hide it while it grades

    source = ("def uses():\n    import sympy\n    return 1\n"
              "class Liar:\n    def __eq__(self, other):\n        return True\n"
              "def liar():\n    return Liar()\n")
    kernel: dict = {}
    exec(compile(source, "<cell>", "exec"), kernel)
    meta_path = list(sys.meta_path)
    with box.session(source) as real, InProcessSandbox(kernel).session("") as fake:
        for s in (real, fake):
            with pytest.raises(ForbiddenImport, match="importing sympy is not allowed"):
                s.call("uses")
            with pytest.raises(StudentError, match="an object of type Liar"):
                s.call("liar")
    assert "sympy" in sys.modules and sys.meta_path == meta_path


def test_load_errors(box):
    with pytest.raises(StudentError, match="SyntaxError"):
        box.session("def f(:\n")
    with pytest.raises(ForbiddenImport, match="sympy"):
        box.session("import sympy.core\n")
    with pytest.raises(ForbiddenImport, match="torch"):
        box.session("import importlib\nimportlib.import_module('torch.nn')\n")


def test_timeout_then_next_session_works(box):
    with box.session("def spin():\n    while True:\n        pass\n") as s:
        with pytest.raises(StudentError, match="timed out"):
            s.call("spin")
        with pytest.raises(StudentError, match="timed out"):  # the session stays dead
            s.call("spin")
    with box.session(SOURCE) as s:
        assert s.call("squares", 3) == [0, 1, 4]


def test_output_is_capped():
    with Sandbox(Limits(output_bytes=1000)) as box, box.session("print('x' * 100_000)\ndef f():\n    return 1\n") as s:
        assert s.call("f") == 1
        assert s.stdout.startswith("x" * 1000) and s.stdout.endswith("[output truncated]")


def test_result_size_is_capped():
    with Sandbox(Limits(result_mb=1)) as box, box.session(SOURCE) as s:
        assert s.call("big", 1000).shape == (1000,)
        with pytest.raises(StudentError, match="more than 1 MB"):
            s.call("big", 1_000_000)


def test_missing_bubblewrap_is_refused_unless_weak_isolation_is_allowed(monkeypatch):
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    monkeypatch.setattr(launcher, "_warned", False)
    with pytest.raises(SandboxError, match=r"^bubblewrap cannot start: bubblewrap \(bwrap\) is not installed; "
                                           r"pass --allow-weak-isolation") as refused:
        Sandbox()
    assert "\n" not in str(refused.value)
    with pytest.warns(RuntimeWarning, match="fallback"):
        with Sandbox(weak_ok=True) as box:
            assert box.isolation == "weak (fallback): bubblewrap (bwrap) is not installed"
            with box.session(SOURCE) as s:
                assert s.call("squares", 2) == [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Sandbox(weak_ok=True).close()  # no second warning
    with pytest.raises(SandboxError):
        Sandbox(mode="bubblewrap", weak_ok=True)


# ------------------------------------------------------------------ codec

def test_codec_rejects_non_plain_values():
    class Liar:
        def __eq__(self, other):
            return True
    for bad in [Liar(), np.array([Liar()], dtype=object), np.array([1j]), b"bytes", {1, 2}]:
        with pytest.raises(WireError):
            encode(bad)


def test_decode_survives_random_corruption():
    """Mutated frames raise WireError or decode to plain data: never anything else."""
    rng = np.random.default_rng(1)
    good = encode({"seq": 1, "ok": [np.arange(5.0), (1, "a"), {"k": None}]})[8:]
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        if rng.random() < 0.2:
            data = data[: int(rng.integers(0, len(data)))]
        try:
            value = decode(bytes(data), max_str=1000)
        except WireError:
            continue
        assert type(value) in (dict, list, tuple, int, float, bool, str, type(None))


def test_decode_rejects_hostile_headers():
    def payload(header: bytes, blob: bytes = b"") -> bytes:
        return struct.pack("<I", len(header)) + header + blob
    cases = [
        payload(b'{"v": ["a", 0, "|O", [1]], "n": [8]}', b"\0" * 8),  # object dtype
        payload(b'{"v": ["a", 0, "<f8", [1000000]], "n": [8]}', b"\0" * 8),  # shape larger than data
        payload(b'{"v": ["r", 3], "n": []}'),  # a tag the codec no longer has
        payload(b'{"v": ["x", 1], "n": []}'),  # unknown tag
        payload(b'{"v": "' + b"a" * 2000 + b'", "n": []}'),  # long string
        payload(b'{"v": ' + b"[\"l\"," * 100 + b"1" + b"]" * 100 + b', "n": []}'),  # too deep
        payload(b"not json"),
    ]
    for data in cases:
        with pytest.raises(WireError):
            decode(data, max_str=1000)


def test_inside_the_sandbox_only_its_own_package_numpy_and_the_stdlib_are_loaded(box):
    """The zygote runs `inside/` as a package of its own: nothing of backproplab beyond it is
    loaded (or visible) in a session, only the standard library and numpy."""
    import sys

    source = ("import sys\n"
              "def loaded():\n"
              "    return sorted({m.split('.')[0] for m in sys.modules})\n"
              "def where():\n"
              "    return sys.modules['inside'].__path__[0]\n")
    with box.session(source) as s:
        tops = s.call("loaded")
        assert "inside" in tops and "numpy" in tops and "backproplab" not in tops
        # numpy.random's Cython runtime, and setuptools' .pth hook that comes with a site-packages folder
        allowed = set(sys.stdlib_module_names) | {"inside", "numpy", "__main__", "cython_runtime", "_distutils_hack"}
        assert {t for t in tops if not t.startswith("_cython_")} <= allowed, set(tops) - allowed
        if box.isolation == "bubblewrap":
            assert s.call("where") == "/opt/backproplab/inside"
