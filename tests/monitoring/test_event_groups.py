"""What a flush lets go of, and how."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from modelyard.monitoring.event_groups import release


class _Held:
    """A stand-in for a request's event: something a list may hold the last reference to."""


def test_release_empties_the_list_and_frees_what_only_it_held() -> None:
    items = [_Held() for _ in range(10)]
    watched = [weakref.ref(item) for item in items]
    kept = items[3]  # held elsewhere too: must survive
    release(items, 4)
    assert items == []
    alive = [ref() for ref in watched if ref() is not None]
    assert alive == [kept]


def test_release_frees_a_slice_per_call_last_first() -> None:
    """Objects go a slice at a time, from the end, so no single call frees the lot."""
    items = [_Held() for _ in range(10)]
    freed: list[int] = []
    for index, item in enumerate(items):
        weakref.finalize(item, freed.append, index)
    del item
    gc.collect()
    calls: list[int] = []

    class Watched(list):  # type: ignore[type-arg]
        def __delitem__(self, key: Any) -> None:
            calls.append(len(freed))
            super().__delitem__(key)

    watched = Watched(items)
    del items
    release(watched, 4)
    assert calls == [0, 4, 8]  # freed before each call: nothing, one slice, two slices
    slices = [sorted(freed[:4]), sorted(freed[4:8]), sorted(freed[8:])]
    assert slices == [[6, 7, 8, 9], [2, 3, 4, 5], [0, 1]]
