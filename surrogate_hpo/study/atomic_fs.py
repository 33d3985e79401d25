"""A local filesystem for Tune's storage in which every written file appears whole or not at all.

Tune keeps its experiment state (``tuner.pkl``, ``experiment_state-*.json``, the searcher's
state, trial results and checkpoints) in a staging folder and copies it to the storage path
in the background. A study killed during such a copy (SIGKILL, a lost node, power) left a
truncated file at the storage path, and the next ``resume=true`` failed to unpickle it
(``EOFError: Ran out of input``). Through this filesystem each copied file is written to a
hidden temporary name next to its target and renamed into place when complete, so a resumed
study finds either the previous version of a file or the new one.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

_counter = itertools.count()


class _RenameOnClose:
    """A writable binary file that becomes ``target`` (atomic rename) when closed."""

    def __init__(self, target: str) -> None:
        head, name = os.path.split(target)
        self.target = target
        self.tmp = os.path.join(head, f".{name}.part-{os.getpid()}-{next(_counter)}")
        self._f = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
        self.closed = False

    def write(self, data: Any) -> int:
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()

    def tell(self) -> int:
        return self._f.tell()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._f.close()
        os.replace(self.tmp, self.target)


class AtomicLocalHandler(pafs.FileSystemHandler):
    """``pyarrow.fs.LocalFileSystem`` with atomic ``open_output_stream`` (write, then rename)."""

    def __init__(self) -> None:
        self._fs = pafs.LocalFileSystem()

    def __reduce__(self):  # trial actors get the storage context, filesystem included
        return (AtomicLocalHandler, ())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AtomicLocalHandler)

    def __hash__(self) -> int:
        return hash(AtomicLocalHandler)

    def get_type_name(self) -> str:
        return "atomic-local"

    def normalize_path(self, path: str) -> str:
        return self._fs.normalize_path(path)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return self._fs.get_file_info(paths)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return self._fs.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self._fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path: str) -> None:
        self._fs.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self._fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise OSError("atomic-local: refusing to delete the contents of the root directory")

    def delete_file(self, path: str) -> None:
        self._fs.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self._fs.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        with self._fs.open_input_stream(src) as source, self.open_output_stream(dest, None) as sink:
            while chunk := source.read(16 << 20):
                sink.write(chunk)

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return self._fs.open_input_stream(path)

    def open_input_file(self, path: str) -> pa.NativeFile:
        return self._fs.open_input_file(path)

    def open_output_stream(self, path: str, metadata: Any) -> pa.NativeFile:
        return pa.PythonFile(_RenameOnClose(path), mode="w")

    def open_append_stream(self, path: str, metadata: Any) -> pa.NativeFile:
        return self._fs.open_append_stream(path)


def atomic_local_filesystem() -> pafs.PyFileSystem:
    """The filesystem to hand Tune as ``storage_filesystem`` for a local storage path."""
    return pafs.PyFileSystem(AtomicLocalHandler())
