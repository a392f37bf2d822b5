"""Results computed once per data version and shared by every session of the process.

A national assessment takes seconds; pages ask the same questions on every rerun and
from every session. The store counts its committed changes (`Store.data_version`): any
upload, replacement, undo, reference-data change or framework save moves it on, so a
cached result is keyed by that version and can never outlive the data it came from.
Entries are evicted least-recently-used beyond a byte budget, and two sessions asking
the same question at once wait for one computation instead of doing it twice.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import pandas as pd

T = TypeVar("T")

DEFAULT_BUDGET_MB = 1024


def _size_of(value: object) -> int:
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=True).sum())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(_size_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, list | tuple):
        return 64 * (len(value) + 1)
    return 64


def _private(value: T) -> T:
    """A copy the caller may change freely (pandas copy-on-write makes a shallow copy enough)."""
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _private(getattr(value, f.name))  # type: ignore[return-value]
                                              for f in dataclasses.fields(value) if f.init})
    if isinstance(value, list):
        return list(value)  # type: ignore[return-value]
    return value


class ResultCache:
    """A thread-safe, size-bounded, least-recently-used map with single-flight computation."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_MB * 1024 * 1024) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._version = -1
        self.hits = 0
        self.misses = 0

    def get(self, version: int, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of `key` at data `version`, computed once (concurrent callers wait for it).

        A newer version drops every older entry: they can never be asked for again.
        """
        key = (version, key)
        with self._lock:
            if version > self._version:
                self._entries.clear()
                self._bytes = 0
                self._version = version
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return _private(self._entries[key][0])  # type: ignore[return-value]
            flight = self._computing.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                if key in self._entries:  # another session finished it while we waited
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return _private(self._entries[key][0])  # type: ignore[return-value]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            size = _size_of(value)
            with self._lock:
                self.misses += 1
                if version == self._version and size <= self.budget_bytes:
                    self._entries[key] = (value, size)
                    self._bytes += size
                    while self._bytes > self.budget_bytes:
                        _, (_, dropped) = self._entries.popitem(last=False)
                        self._bytes -= dropped
            return _private(value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
