"""Reading a download (a folder or a zip) safely: size caps, unreadable entries, links, stripped
outputs, atomic writes."""
from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .layouts import path_problem, printable

MAX_NOTEBOOK_BYTES = 20 << 20  # larger notebooks are collected with their outputs stripped
HARD_LIMIT_BYTES = 512 << 20  # never read beyond this (the declared size is checked first)

_CHUNK = 1 << 20


class _Unreadable(Exception):
    """A file of the download that cannot be read."""


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class Source:
    name: str  # the path inside the download, as stored
    read: Callable[[int], bytes]  # at most ``limit`` bytes, else _TooLarge; _Unreadable
    problem: str | None = None

    @property
    def shown(self) -> str:
        return printable(self.name)


def _read_capped(fh: io.RawIOBase | io.BufferedIOBase, limit: int) -> bytes:
    data = bytearray()
    while chunk := fh.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise _TooLarge(len(data))
    return bytes(data)


def _read_file(path: Path, limit: int) -> bytes:
    try:  # O_NOFOLLOW: a link put there after the listing is not followed either
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise _Unreadable(err.strerror or str(err)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable("not a regular file")
        if info.st_size > limit:
            raise _TooLarge(info.st_size)
        with os.fdopen(os.dup(fd), "rb") as fh:
            return _read_capped(fh, limit)
    except OSError as err:
        raise _Unreadable(err.strerror or str(err)) from None
    finally:
        os.close(fd)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:  # the declared size, before a byte is inflated
        raise _TooLarge(info.file_size)
    try:  # zipfile never inflates past the declared size and checks the CRC at the end
        with zf.open(info) as fh:
            return _read_capped(fh, limit)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            OSError, ValueError) as err:
        raise _Unreadable(f"{type(err).__name__}: {err}") from None


def _folder_sources(root: Path) -> Iterator[Source]:
    for here, folders, files in os.walk(root):  # followlinks=False: linked folders are not entered
        here_path = Path(here)
        folders.sort()
        for folder in folders:
            if (here_path / folder).is_symlink() and not folder.startswith("."):
                yield Source((here_path / folder).relative_to(root).as_posix(), _refuse,
                              "symbolic link: not followed")
        folders[:] = [f for f in folders if not f.startswith(".") and f != "__MACOSX"]
        for name in sorted(files):
            path = here_path / name
            try:
                mode = os.lstat(path).st_mode
            except OSError as err:
                mode, problem = 0, f"unreadable: {err.strerror or err}"
            else:
                problem = ("symbolic link: not followed" if stat.S_ISLNK(mode)
                           else None if stat.S_ISREG(mode) else "not a regular file")
            yield Source(path.relative_to(root).as_posix(), partial(_read_file, path), problem)


def _zip_sources(zf: zipfile.ZipFile) -> Iterator[Source]:
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.orig_filename  # zipfile cuts .filename at a NUL byte; the original keeps it
        problem = path_problem(name) if "\x00" in name else None
        if stat.S_ISLNK(info.external_attr >> 16):
            problem = "symbolic link: not followed"
        yield Source(name, partial(_read_member, zf, info), problem)


def _refuse(limit: int) -> bytes:
    raise _Unreadable("not read")


@contextlib.contextmanager
def open_download(path: Path | str) -> Iterator[Iterator[Source]]:
    path = Path(path)
    if path.is_dir():
        yield _folder_sources(path)
    elif path.is_file() and zipfile.is_zipfile(path):
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as err:
            raise ValueError(f"collect: {path} is not a readable zip ({err}); download it "
                             "again") from None
        with zf:
            yield _zip_sources(zf)
    else:
        raise ValueError(f"collect: PATH must be a folder or a .zip file, got {str(path)!r}")


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def _strip_outputs(data: bytes) -> bytes | None:
    """The notebook without outputs and execution counts (sources and metadata kept), or None
    when ``data`` is not a readable notebook."""
    import nbformat

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        for cell in nb.cells:
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
        return nbformat.writes(nb).encode("utf-8")
    except Exception:  # noqa: BLE001  nbformat raises many unrelated types for broken files
        return None


def load_notebook(source: Source) -> tuple[bytes | None, str | None, str | None]:
    """(bytes to write, note, reason it is not collected) for one chosen file."""
    try:
        data = source.read(HARD_LIMIT_BYTES)
    except _TooLarge as big:
        return None, None, (f"refused: {_mib(big.size)}, over the hard limit of "
                            f"{_mib(HARD_LIMIT_BYTES)} (not read)")
    except _Unreadable as err:
        return None, None, f"unreadable: {err}"
    if len(data) <= MAX_NOTEBOOK_BYTES:
        return data, None, None
    stripped = _strip_outputs(data)
    if stripped is None:
        return None, None, (f"refused: {_mib(len(data))}, over {_mib(MAX_NOTEBOOK_BYTES)} and "
                            "not a readable notebook")
    if len(stripped) > MAX_NOTEBOOK_BYTES:
        return None, None, (f"refused: {_mib(len(stripped))} without outputs, still over "
                            f"{_mib(MAX_NOTEBOOK_BYTES)}")
    return stripped, f"outputs stripped ({_mib(len(data))})", None


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and a rename: never a half notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
