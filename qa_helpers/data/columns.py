"""Helpers for Arrow columns that ingest and the cleaning rules share.

Ten million rows stay in Arrow from the CSV reader to the parquet writer. Columns that repeat
few values (channel, category, yes/no) are worked on once per distinct value; SQL expressions
that Arrow has no kernel for (strict date parsing, number syntax) run in DuckDB on every core.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DISTINCT_SAMPLE = 100_000  # rows looked at to decide whether a column repeats few values


@contextlib.contextmanager
def ingest_memory_pool() -> Iterator[pa.MemoryPool]:
    """pyarrow's jemalloc memory pool as the default pool while an ingest or append runs; the previous
    default afterwards.

    pyarrow's default pool on Linux is mimalloc, which here gave the memory of freed buffers back to the
    system and took it again, at the cost of system time: reading a 1.2 GB GB18030 export took 8.3-11.2 s
    with 7.6-13.2 s of system CPU, against 5.5-6.4 s and 2.3-2.8 s with jemalloc; the whole ingest of
    10.1 M rows 24.5-25.4 s (18-21 s system) against 19.1-22.3 s (8-10 s), peak 5.3 against 4.5 GB
    (2026-12-05, 2 cores, three alternating runs each). The pool is the process's default, so arrays
    other threads make meanwhile come from it too (they are freed into it whenever they are freed).
    Kept as it is where pyarrow lacks jemalloc (Windows) or ``ARROW_DEFAULT_MEMORY_POOL`` chooses a pool.

    Yields
    ------
    pyarrow.MemoryPool
        The pool in use.
    """
    previous = pa.default_memory_pool()
    try:
        pool = previous if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") else pa.jemalloc_memory_pool()
    except NotImplementedError:
        pool = previous
    pa.set_memory_pool(pool)
    try:
        yield pool
    finally:
        pa.set_memory_pool(previous)


@contextlib.contextmanager
def archive_text_storage() -> Iterator[None]:
    """pandas' own default text storage (pyarrow, on pandas 3 with pyarrow) while an ingest or append
    runs, whatever the process set; the process's setting again afterwards.

    The storage shows in what is written: the pandas metadata of every parquet file names it, and the
    quarantine's text columns are ``large_string`` from pyarrow's, ``string`` from Python's. A report sets
    Python's (:func:`qa_helpers.report.context.python_text_columns`); an archive written after one in
    the same process must still be the same bytes, with the same fingerprint. Process-wide, as every
    pandas option: a report opened in another thread of the same process meanwhile would change it.
    """
    import pandas as pd

    previous = pd.get_option("mode.string_storage")
    pd.reset_option("mode.string_storage")
    try:
        yield
    finally:
        pd.set_option("mode.string_storage", previous)


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB connection (no progress bar in logs and notebooks)."""
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    return connection


def sql(expression: str, values: pa.Array, **params) -> pa.Array:
    """Evaluate a DuckDB expression of ``x`` over ``values``, in row order, on every core."""
    frame = pa.table({"x": values})  # noqa: F841 -- read by DuckDB by name
    return as_array(connect().sql(f"SELECT {expression} AS v FROM frame", params=params or None)
                    .to_arrow_table()["v"])


def per_value(values: pa.Array | pa.ChunkedArray, func: Callable[[pa.Array], pa.Array],
              share: float = 0.05) -> pa.Array:
    """``func`` applied to each distinct value once when a column repeats few values (channel,
    category, yes/no: at most ``share`` of a sample distinct), else to the whole column; the
    result keeps the column's length. A costly ``func`` (number syntax in DuckDB) pays off with
    a larger ``share``."""
    if not pa.types.is_dictionary(values.type):
        sample = values.slice(0, DISTINCT_SAMPLE)
        if len(sample) < DISTINCT_SAMPLE or pc.count_distinct(sample).as_py() > DISTINCT_SAMPLE * share:
            return func(values)
        values = pc.dictionary_encode(values)
    if isinstance(values, pa.ChunkedArray):
        values = as_array(values)
    result = func(values.dictionary)
    if not pa.types.is_string(result.type):
        return result.take(values.indices)
    if result.null_count == 0:
        return pa.DictionaryArray.from_arrays(values.indices, result)
    # a null must be null in the indices too: null checks look at those, not at the dictionary;
    # one take of a small remapping table nulls them (a null index stays null)
    remap = pa.array(np.arange(len(result)), pa.int64(), mask=result.is_null().to_numpy(zero_copy_only=False))
    # built in int64: a dictionary may hold more entries than its index type counts; the taken ones fit it
    return pa.DictionaryArray.from_arrays(remap.take(values.indices).cast(values.indices.type), result)


def take_rows(table: pa.Table, positions) -> pa.Table:
    """Rows at ``positions``, column by column on every core (Arrow's kernels release the GIL;
    a whole-table take of many chunks is far slower); each column comes back as one chunk.

    Increasing integer positions that keep most rows (the rows an ingest keeps from an export in
    time order) are a filter: Arrow copies runs of kept rows instead of gathering one row at a time.
    The columns are then joined into one chunk, as a take gives them: the parquet writer's pages
    (where it stops dictionary-encoding a column) depend on the chunks, and the archive's bytes must
    not depend on the CSV reader's blocks.
    """
    positions = np.asarray(positions)
    if positions.dtype.kind == "u":  # as Arrow's sort_indices gives: signed, or the test of order below wraps
        positions = positions.astype(np.int64)
    dense = (positions.dtype.kind == "i" and 2 * len(positions) > table.num_rows
             and positions[0] >= 0 and positions[-1] < table.num_rows and (np.diff(positions) > 0).all())
    if dense:
        mask = np.zeros(table.num_rows, bool)
        mask[positions] = True
        selector, pick = pa.array(mask), lambda column: as_array(column.filter(selector))
    else:
        selector, pick = pa.array(positions, pa.int64()), lambda column: column.take(selector)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        columns = list(pool.map(lambda name: pick(table[name]), table.column_names))
    return pa.table(dict(zip(table.column_names, columns)))


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The column as one array: a column of one chunk as it is (pyarrow's ``combine_chunks`` copies
    even that, and at 10 M rows such copies were a quarter of the memory an ingest touched), else
    its chunks joined."""
    if isinstance(values, pa.Array):
        return values
    if values.num_chunks == 1:
        return values.chunk(0)
    if pa.types.is_dictionary(values.type):
        values = values.unify_dictionaries()
    return values.combine_chunks()


def decoded(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The column as plain values, whether or not :func:`per_value` left it as a dictionary."""
    values = as_array(values)
    return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values
