"""The grading worker: runs INSIDE the sandbox, one process per submission.

It is copied into the job folder and started as ``python -I -S worker.py JOB``; it imports only
the standard library, numpy and torch (never ``autograder``). For each notebook in
JOB/request.json it executes the student's sanitized cells in a fresh namespace (each cell in
try/except, errors kept as text), then calls each graded function on the inputs in
JOB/in/<key>.npz and writes what the function returned to JOB/out/<key>.npz (plain arrays,
``allow_pickle=False``) and JOB/out/<key>.json (errors, dtypes, devices). Step rules are run as
free trajectories: the gradient of the case's quadratic is evaluated at the student's own
iterates. The worker decides nothing: it never knows the expected values or reports pass/fail.
Every file name, array key and phase line comes from ``protocol.py`` (copied beside this file).
"""
from __future__ import annotations

import ast
import builtins
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, NoReturn

MAX_ERROR_CHARS = 2000

# numpy and torch are passed in as modules, never imported here: their types are named in words.
_Tensor = Any  # torch.Tensor
_Array = Any   # numpy.ndarray


def _load_protocol() -> ModuleType:
    """protocol.py from beside this file (``-I`` keeps the script's folder off sys.path)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "protocol.py")
    spec = importlib.util.spec_from_file_location("protocol", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


P = _load_protocol()


def main(job: str) -> None:
    """Grade the job folder ``job``: read its request, then run every notebook's items."""
    with open(os.path.join(job, P.REQUEST)) as f:
        request = json.load(f)
    sys.path[:] = request["sys_path"]
    import numpy as np
    import torch

    torch.set_num_threads(1)
    Worker(job, request, np, torch).run()


class Worker:
    def __init__(self, job: str, request: dict[str, Any], np: ModuleType, torch: ModuleType) -> None:
        self.job, self.request, self.np, self.torch = job, request, np, torch
        self.device = torch.device(request.get("device", "cpu"))
        # Kept before any student code runs: what the student patches later does not reach them.
        self.Tensor, self.ndarray = torch.Tensor, np.ndarray
        self.savez, self.zeros_like, self.equal = np.savez, torch.zeros_like, torch.equal
        self.from_numpy, self.isnan = torch.from_numpy, torch.isnan
        self.watched = _watched(np, torch)
        self.blocked_calls: list[str] = []
        os.makedirs(os.path.join(job, P.OUTPUTS), exist_ok=True)
        self.progress = open(os.path.join(job, P.PROGRESS), "a", buffering=1)

    def run(self) -> None:
        """Every notebook of the request: its cells, then each of its graded items."""
        for notebook in self.request["notebooks"]:
            phase = P.exec_phase(notebook["name"])
            self.progress.write(P.start_line(phase))
            namespace, report = self.exec_cells(notebook["cells"])
            self.write_json(P.cells_report_path(self.job, notebook["name"]), report)
            for item in notebook["items"]:
                self.progress.write(P.start_line(item["key"]))
                self.run_item(namespace, item)
            self.progress.write(P.done_line(phase))
        self.progress.write(P.FINISHED + "\n")

    # -- student cells ---------------------------------------------------------------------
    def exec_cells(self, cells: Iterable[Sequence[Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run each cell in a fresh namespace; a failing cell is recorded and the next one runs."""
        _block_torch_optim(self.torch, self.blocked_calls)
        os._exit = _no_exit  # an exit becomes an error of that call, not a lost worker
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        errors = []
        for index, source in cells:
            try:  # statement by statement: one failing line does not hide later definitions
                statements = [ast.Module([s], []) for s in ast.parse(source).body]
            except SyntaxError as exc:
                errors.append({"cell": index, **_describe(exc)})
                continue
            for statement in statements:
                try:
                    exec(compile(statement, f"<cell {index}>", "exec"), namespace)
                except BaseException as exc:  # noqa: BLE001 -- SystemExit, KeyboardInterrupt from cells too
                    errors.append({"cell": index, **_describe(exc)})
        changed = [name for name, (owner, attr, original) in self.watched.items()
                   if getattr(owner, attr, None) is not original]
        return namespace, {"errors": errors, "patched": changed,
                           "functions": sorted(k for k, v in namespace.items() if callable(v))}

    # -- graded items ----------------------------------------------------------------------
    def run_item(self, namespace: dict[str, Any], item: dict[str, Any]) -> None:
        """Call the item's function on each of its cases; write the reply (.json and .npz)."""
        key = item["key"]
        with self.np.load(P.inputs_path(self.job, key), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        fn = namespace.get(item["function"])
        meta = {"cases": [], "blocked_calls": []}
        out = {}
        if not callable(fn):
            meta["error"] = f"missing: no function named {item['function']!r} is defined"
            meta["defined"] = sorted(k for k, v in namespace.items() if callable(v))[:200]
        else:
            for i, case in enumerate(item["cases"]):
                if any(P.error_flag(c.get("error_type")) == "memory" for c in meta["cases"]):
                    meta["cases"].append({"error": "MemoryError: skipped after an earlier case "
                                          "ran out of memory", "error_type": "MemoryError",
                                          "steps_done": 0, "types": []})
                    continue
                self.blocked_calls.clear()
                start = time.perf_counter()
                runner = self.run_steps if item["kind"] == "step" else self.run_calls
                case_meta = runner(fn, case, arrays, out, P.case_prefix(i))
                case_meta["seconds"] = time.perf_counter() - start
                case_meta["blocked_calls"] = sorted(set(self.blocked_calls))
                meta["cases"].append(case_meta)
        meta_path, arrays_path = P.reply_paths(self.job, key)
        self.savez(arrays_path, **out)
        self.write_json(meta_path, meta)

    def tensor(self, array: _Array) -> _Tensor:
        """A fresh tensor on the worker's device with a copy of ``array``."""
        return self.from_numpy(array.copy()).to(self.device)

    def hparams(self, case: dict[str, Any], arrays: dict[str, _Array], prefix: str) -> dict[str, Any]:
        """Keyword arguments of a call: JSON numbers, or arrays passed as fresh tensors."""
        kwargs = dict(case.get("kwargs", {}))
        for name in case.get("tensor_kwargs", []):
            kwargs[name] = self.tensor(arrays[P.input_key(prefix, name)])
        return kwargs

    def run_steps(self, fn: Callable[..., Any], case: dict[str, Any], arrays: dict[str, _Array],
                  out: dict[str, _Array], prefix: str) -> dict[str, Any]:
        """Free trajectory: theta_t, state_t = fn(theta_{t-1}, grad(theta_{t-1}), state, t)."""
        theta, h, c, noise = (self.tensor(arrays[P.input_key(prefix, name)])
                              for name in ("theta0", "h", "c", "noise"))
        eta = case.get("eta")
        state = {k: self.zeros_like(theta) for k in case["state_keys"]}
        thetas, states, meta = [], {k: [] for k in case["state_keys"]}, {"mutated": []}
        for t in range(1, case["steps"] + 1):
            grad = h * (theta - c) + noise[t - 1]
            kwargs = self.hparams(case, arrays, prefix)
            if eta is not None:
                kwargs["eta"] = eta[t - 1]
            before = [theta.clone(), grad.clone(), *(state[k].clone() for k in state)]
            try:
                result = fn(theta, grad, state, t, **kwargs)
                new_theta, new_state = self.unpack(result, case["state_keys"])
            except BaseException as exc:  # noqa: BLE001 -- student code may raise anything, exit too
                meta |= _describe(exc)
                meta["error_step"] = t
                break
            after = [theta, grad, *(state[k] for k in state)]
            names = ["theta", "grad", *(f"state[{k!r}]" for k in state)]
            changed = [n for n, b, a in zip(names, before, after) if not self.same(a, b)]
            if changed:
                meta["mutated"].append([t, changed])
            meta.setdefault("dtype", str(new_theta.dtype))
            meta.setdefault("device", str(new_theta.device))
            thetas.append(self.array(new_theta))
            for k in states:
                states[k].append(self.array(new_state[k]))
            theta = new_theta.detach().clone()
            state = {k: new_state[k].detach().clone() for k in case["state_keys"]}
        meta["steps_done"] = len(thetas)
        if thetas:
            out[P.theta_key(prefix)] = self.np.stack(thetas)
            for k, values in states.items():
                out[P.state_key(prefix, k)] = self.np.stack(values)
        return meta

    def run_calls(self, fn: Callable[..., Any], case: dict[str, Any], arrays: dict[str, _Array],
                  out: dict[str, _Array], prefix: str) -> dict[str, Any]:
        """Plain functions: each call's return value as an array, plus its type."""
        meta = {"types": []}
        if case.get("symbolic"):
            return self.run_symbolic(fn, case, out, prefix)
        for j in range(case["calls"]):
            kwargs = self.hparams(case["call_kwargs"][j], arrays, P.call_prefix(prefix, j))
            try:
                value = fn(**kwargs)
                meta["types"].append(self.describe_value(value))
                out[P.call_prefix(prefix, j)] = self.array(value)
            except BaseException as exc:  # noqa: BLE001 -- student code may raise anything, exit too
                meta |= _describe(exc)
                meta["error_call"] = j
                break
        return meta

    def run_symbolic(self, fn: Callable[..., Any], case: dict[str, Any], out: dict[str, _Array],
                     prefix: str) -> dict[str, Any]:
        """Call with sympy symbols, then evaluate the returned expression at given points."""
        import sympy
        symbols = {name: sympy.Symbol(name, positive=True) for name in case["symbolic"]}
        try:
            expr = fn(**symbols)
            values = [float(expr.subs({symbols[k]: v for k, v in point.items()}))
                      for point in case["points"]]
        except BaseException as exc:  # noqa: BLE001 -- student code may raise anything, exit too
            return {**_describe(exc), "error_call": 0}
        out[P.call_prefix(prefix, 0)] = self.np.asarray(values, dtype="float64")
        return {"types": ["sympy"]}

    # -- conversions -----------------------------------------------------------------------
    def unpack(self, result: Any, state_keys: Sequence[str]) -> tuple[_Tensor, dict[str, _Tensor]]:
        """(theta, state) from what a step rule returned; TypeError when it has another form."""
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
        return new_theta, new_state

    def same(self, a: Any, b: _Tensor) -> bool:
        """Whether ``a`` is still a tensor equal to ``b`` (NaNs in the same places count as equal)."""
        if not isinstance(a, self.Tensor) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(self.equal(a, b)) or bool(((a == b) | (self.isnan(a) & self.isnan(b))).all())

    def describe_value(self, value: Any) -> str:
        """What the function returned, as text: tensor:<dtype>:<device>, else the type's name."""
        if isinstance(value, self.Tensor):
            return f"tensor:{value.dtype}:{value.device}"
        return type(value).__name__

    def array(self, value: Any) -> _Array:
        """A plain numeric numpy array of ``value`` (tensor, ndarray or real number)."""
        np = self.np
        if isinstance(value, self.Tensor):
            value = value.detach().to("cpu")
            if value.dtype not in (self.torch.float32, self.torch.float64):
                value = value.to(self.torch.float64)
            return np.array(value.numpy(), copy=True)
        if isinstance(value, self.ndarray) and value.dtype.kind in "fiub":
            return np.array(value, copy=True)
        if isinstance(value, (bool, int, float, np.number)):
            return np.asarray(float(value), dtype="float64")
        return np.asarray(float(value), dtype="float64")  # sympy numbers and other reals

    def write_json(self, path: str, data: dict[str, Any]) -> None:
        """Write ``data`` to ``path`` as JSON."""
        with open(path, "w") as f:
            json.dump(data, f)


def _describe(exc: BaseException) -> dict[str, str]:
    """{"error": the exception as the student reads it (type, message, last frames),
    "error_type": its class name, from which the grader decides flags}."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return {"error": text[-MAX_ERROR_CHARS:], "error_type": type(exc).__name__}


def _no_exit(code: int = 0) -> NoReturn:
    raise SystemExit(f"os._exit({code}) was called")


def _watched(np: ModuleType, torch: ModuleType) -> dict[str, tuple[ModuleType, str, Callable[..., Any]]]:
    """Functions that test code relies on; the worker reports which ones a cell replaced."""
    import numpy.testing
    pairs = [(torch, "allclose"), (torch, "equal"), (torch, "isclose"), (torch.testing, "assert_close"),
             (np, "allclose"), (np, "isclose"), (np, "array_equal"), (numpy.testing, "assert_allclose"),
             (numpy.testing, "assert_array_equal"), (builtins, "isinstance"), (builtins, "__import__")]
    return {f"{getattr(owner, '__name__', owner)}.{attr}": (owner, attr, getattr(owner, attr))
            for owner, attr in pairs}


def _block_torch_optim(torch: ModuleType, log: list[str]) -> None:
    """Replace torch.optim's optimizers and their functional forms with stubs that raise.

    ``Optimizer`` itself stays: subclassing it to implement a rule by hand is fine.
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
            if is_optimizer or (attr in _OPTIMIZER_FUNCTIONS and callable(obj)):
                setattr(module, attr, stub(f"torch.optim.{attr}"))
    for name in ("_fused_adam_", "_fused_adamw_", "_fused_sgd_", "_fused_adagrad_"):
        if hasattr(torch, name):
            setattr(torch, name, stub(f"torch.{name}"))
    optim._grading_blocked = True


_OPTIMIZER_FUNCTIONS = {"sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam", "radam",
                        "asgd", "rprop", "adadelta", "sparse_adam"}


if __name__ == "__main__":
    main(sys.argv[1])
