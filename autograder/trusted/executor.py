"""The executor: runs INSIDE the sandbox, where the student's code runs, and decides nothing.

Started as ``python -I -S executor.py ARENA`` by ``driver.py``, it answers requests framed by
``protocol.py`` (copied beside it) on stdin/stdout: run a notebook's sanitized cells, call one
graded function on given inputs, evaluate a symbolic result. It holds no expected value, no
deadline and no verdict: the driver times each request on its own clock, keeps its own copy of
every input (the arena is shared memory the driver reads after each call) and compares the
returned arrays with the reference in its own process. Whatever student code does to this
process -- patching it, forging a reply -- it can only change what this call returns.

It imports the standard library, numpy, torch and (for symbolic cases) sympy; never
``autograder``.
"""
from __future__ import annotations

import ast
import builtins
import importlib.util
import mmap
import os
import sys
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn

MAX_ERROR_CHARS = 2000
_Tensor = Any  # torch.Tensor: numpy and torch are imported after start-up, not at module level


def _load_protocol() -> ModuleType:
    """protocol.py from beside this file (``-I`` keeps the script's folder off sys.path)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "protocol.py")
    spec = importlib.util.spec_from_file_location("grading_protocol", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _load_protocol()


def main(arena_path: str) -> None:
    # The channel gets private copies of stdin/stdout; fd 1 then points at stderr, so what the
    # student prints never mixes with replies (the sandbox caps and counts it).
    chan_in, chan_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    header, _ = P.read_frame(chan_in, max_header=P.MAX_REQUEST, max_frame=P.MAX_REQUEST)
    sys.path[:] = header["sys_path"]
    import numpy as np
    import torch

    torch.set_num_threads(1)
    executor = Executor(arena_path, np, torch, header.get("device", "cpu"))
    while True:
        try:
            request, blobs = P.read_frame(chan_in, max_header=P.MAX_REQUEST,
                                          max_frame=P.MAX_REQUEST)
        except EOFError:
            return
        if request.get("op") == "bye":
            return
        reply, arrays = executor.handle(request, blobs)
        P.write_frame(chan_out, P.encode(reply, arrays))


class Executor:
    def __init__(self, arena_path: str, np: ModuleType, torch: ModuleType, device: str) -> None:
        self.np, self.torch = np, torch
        self.device = torch.device(device)
        with open(arena_path, "r+b") as f:
            self.arena = mmap.mmap(f.fileno(), 0)
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.blocked_calls: list[str] = []
        self.watched = _watched(np, torch)
        # Kept before any student code runs.
        self.Tensor = torch.Tensor

    # -- requests --------------------------------------------------------------------------
    def handle(self, request: dict[str, Any], blobs: dict[str, Any]) -> tuple[dict, dict]:
        op = request.get("op")
        if op == "exec":
            return self.exec_cells(request["notebook"], request["cells"]), {}
        if op == "call":
            return self.call(request, blobs)
        if op == "symbolic":
            return self.symbolic(request), {}
        return {"error": f"unknown request {op!r}", "error_type": "ProtocolError"}, {}

    def exec_cells(self, notebook: str, cells: list) -> dict[str, Any]:
        """Run each cell in a fresh namespace; a failing statement is recorded, the next runs."""
        _block_torch_optim(self.torch, self.blocked_calls)
        os._exit = _no_exit  # an exit becomes an error of that call, not a lost executor
        # The student's code runs as a module of its own (dataclasses and pickling look their
        # module up in sys.modules), compiled without this file's __future__ flags.
        module = ModuleType("__student__")
        sys.modules["__student__"] = module
        namespace: dict[str, Any] = module.__dict__
        namespace["__builtins__"] = builtins
        errors = []
        for index, source in cells:
            try:  # statement by statement: one failing line does not hide later definitions
                statements = [ast.Module([s], []) for s in ast.parse(source).body]
            except SyntaxError as exc:
                errors.append({"cell": index, **_describe(exc)})
                continue
            for statement in statements:
                try:
                    exec(compile(statement, f"<cell {index}>", "exec", dont_inherit=True), namespace)
                except BaseException as exc:  # noqa: BLE001  SystemExit and KeyboardInterrupt too
                    errors.append({"cell": index, **_describe(exc)})
        self.namespaces[notebook] = namespace
        changed = [name for name, (owner, attr, original) in self.watched.items()
                   if getattr(owner, attr, None) is not original]
        return {"errors": errors, "patched": changed,
                "functions": sorted(k for k, v in namespace.items() if callable(v))[:200]}

    def function(self, request: dict[str, Any]) -> Callable[..., Any] | None:
        fn = self.namespaces.get(request["notebook"], {}).get(request["function"])
        return fn if callable(fn) else None

    def tensor(self, spec: dict[str, Any]) -> _Tensor:
        """A tensor over the arena bytes the driver wrote (shared: in-place changes show)."""
        array = self.np.ndarray(tuple(spec["shape"]), dtype=spec["dtype"], buffer=self.arena,
                                offset=spec["offset"])
        tensor = self.torch.from_numpy(array)
        return tensor if self.device.type == "cpu" else tensor.to(self.device)

    def call(self, request: dict[str, Any], blobs: dict[str, Any]) -> tuple[dict, dict]:
        fn = self.function(request)
        if fn is None:
            return {"missing": True, "error": f"missing: no function named "
                    f"{request['function']!r} is defined", "error_type": "NameError",
                    "defined": sorted(k for k, v in self.namespaces.get(request["notebook"], {})
                                      .items() if callable(v))[:200]}, {}
        kwargs = dict(request.get("kwargs", {}))
        for name, (spec, data) in blobs.items():  # hyperparameters as fresh tensors
            kwargs[name] = self.torch.from_numpy(
                self.np.frombuffer(data, dtype=spec["dtype"]).reshape(spec["shape"]).copy()
            ).to(self.device)
        inputs = {spec["name"]: self.tensor(spec) for spec in request.get("inputs", [])}
        state_keys = request.get("state_keys")
        args: list[Any] = []
        if state_keys is not None:  # the course signature: rule(theta, grad, state, t, **hp)
            args = [inputs["theta"], inputs["grad"],
                    {k: inputs[f"state.{k}"] for k in state_keys}, request["t"]]
        self.blocked_calls.clear()
        try:
            result = fn(*args, **kwargs)
            reply, arrays = (self.step_reply(result, state_keys) if state_keys is not None
                             else self.value_reply(result))
        except BaseException as exc:  # noqa: BLE001  the student's function may raise anything
            reply, arrays = _describe(exc), {}
        reply["blocked_calls"] = sorted(set(self.blocked_calls))
        return reply, arrays

    def step_reply(self, result: Any, state_keys: list[str]) -> tuple[dict, dict]:
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError(f"must return (theta, state), got {type(result).__name__}")
        new_theta, new_state = result
        if not isinstance(new_theta, self.Tensor):
            raise TypeError(f"theta must be returned as a torch.Tensor, got {type(new_theta).__name__}")
        if not isinstance(new_state, dict) or any(k not in new_state for k in state_keys):
            raise TypeError(f"state must be a dict with keys {list(state_keys)}")
        for k in state_keys:
            if not isinstance(new_state[k], self.Tensor):
                raise TypeError(f"state[{k!r}] must be a torch.Tensor, got {type(new_state[k]).__name__}")
        arrays = {"theta": self.array(new_theta)}
        arrays |= {f"state.{k}": self.array(new_state[k]) for k in state_keys}
        return {"dtype": str(new_theta.dtype), "device": str(new_theta.device)}, arrays

    def value_reply(self, value: Any) -> tuple[dict, dict]:
        return {"type": self.describe(value)}, {"value": self.array(value)}

    def symbolic(self, request: dict[str, Any]) -> dict[str, Any]:
        """Call with sympy symbols, then evaluate the returned expression at given points."""
        fn = self.function(request)
        if fn is None:
            return {"error": f"missing: no function named {request['function']!r} is defined",
                    "error_type": "NameError"}
        import sympy
        symbols = {name: sympy.Symbol(name, positive=True) for name in request["symbols"]}
        try:
            expr = fn(**symbols)
            values = [float(expr.subs({symbols[k]: v for k, v in point.items()}))
                      for point in request["points"]]
        except BaseException as exc:  # noqa: BLE001  the student's function may raise anything
            return _describe(exc)
        return {"values": values}

    # -- conversions -----------------------------------------------------------------------
    def describe(self, value: Any) -> str:
        if isinstance(value, self.Tensor):
            return f"tensor:{value.dtype}:{value.device}"
        return type(value).__name__

    def array(self, value: Any) -> Any:
        """A plain numeric numpy array of ``value`` (tensor, ndarray or real number)."""
        np, torch = self.np, self.torch
        if isinstance(value, self.Tensor):
            value = value.detach().to("cpu")
            if value.dtype not in (torch.float32, torch.float64):
                value = value.to(torch.float64)
            return np.array(value.numpy(), order="C")
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
            keep = value.dtype in (np.float32, np.float64)
            return np.array(value if keep else value.astype("float64"), order="C")
        return np.asarray(float(value), dtype="float64")  # Python, numpy and sympy reals


def _describe(exc: BaseException) -> dict[str, str]:
    """{"error": the exception as the student reads it (type, message, last frames),
    "error_type": its class name, from which the grader decides flags}."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return {"error": text[-MAX_ERROR_CHARS:], "error_type": type(exc).__name__}


def _no_exit(code: int = 0) -> NoReturn:
    raise SystemExit(f"os._exit({code}) was called")


def _watched(np: ModuleType, torch: ModuleType) -> dict[str, tuple[Any, str, Any]]:
    """Functions that test code relies on; the executor reports which ones a cell replaced."""
    import numpy.testing
    pairs = [(torch, "allclose"), (torch, "equal"), (torch, "isclose"), (torch.testing, "assert_close"),
             (np, "allclose"), (np, "isclose"), (np, "array_equal"), (numpy.testing, "assert_allclose"),
             (numpy.testing, "assert_array_equal"), (builtins, "isinstance"), (builtins, "__import__")]
    return {f"{getattr(owner, '__name__', owner)}.{attr}": (owner, attr, getattr(owner, attr))
            for owner, attr in pairs}


_OPTIMIZER_FUNCTIONS = {"sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam", "radam",
                        "asgd", "rprop", "adadelta", "sparse_adam"}


def _block_torch_optim(torch: ModuleType, log: list[str]) -> None:
    """Replace torch.optim's optimizers, their functional and fused kernels with stubs that raise.

    ``Optimizer`` itself stays: subclassing it to implement a rule by hand is fine. This is a
    first line only (student code in this process can reach the originals through other paths);
    the static scan (tamper.py) is the one that flags every route to them.
    """
    import torch.optim as optim
    if getattr(optim, "_grading_blocked", False):
        return
    base = optim.Optimizer

    def stub(name: str) -> Callable[..., NoReturn]:
        def blocked(*args: object, **kwargs: object) -> NoReturn:
            log.append(name)
            raise RuntimeError(f"{name} is disabled while grading: implement the update rule "
                               "yourself instead of calling torch.optim")
        return blocked

    modules = [optim, *(getattr(optim, m, None) for m in (*_OPTIMIZER_FUNCTIONS, "_functional"))]
    for module in filter(None, modules):
        for attr in dir(module):
            obj = getattr(module, attr)
            is_optimizer = isinstance(obj, type) and issubclass(obj, base) and obj is not base
            kernel = callable(obj) and (attr in _OPTIMIZER_FUNCTIONS or
                                        attr.startswith(("_single_tensor_", "_multi_tensor_",
                                                         "_fused_")))
            if is_optimizer or kernel:
                setattr(module, attr, stub(f"torch.optim.{attr}"))
    for name in ("_fused_adam_", "_fused_adamw_", "_fused_sgd_", "_fused_adagrad_"):
        if hasattr(torch, name):
            setattr(torch, name, stub(f"torch.{name}"))
    optim._grading_blocked = True


if __name__ == "__main__":
    main(sys.argv[1])
