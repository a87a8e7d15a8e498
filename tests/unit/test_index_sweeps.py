"""How the owned index is read: one GetResources query, or three at once for a large index."""

from __future__ import annotations

from controller.aws import reading
from controller.core import kinds


def indexed_types() -> set[str]:
    return {k.tagging_type for k in kinds.indexed_kinds() if k.tagging_type}


def test_a_small_index_is_one_query_over_every_indexed_kind() -> None:
    (only,) = reading.sweeps(split=False)
    assert set(only) == indexed_types()


def test_a_large_index_is_split_endpoints_first_and_every_kind_read_once() -> None:
    queries = reading.sweeps(split=True)

    # Endpoints alone and first: `apply` streams that query to find changed endpoints.
    assert queries[0] == ("sagemaker:endpoint",)
    assert ("sagemaker:model",) in queries
    assert len(queries) == 3
    flat = [t for query in queries for t in query]
    assert sorted(flat) == sorted(indexed_types())  # nothing read twice, nothing left out
