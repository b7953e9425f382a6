# SPDX-License-Identifier: MIT
"""The embedding index: exact cosine top-k search over stored vectors (bmc_index_*)."""
import ctypes
import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, float32_rows, fspath, pointer, text_array, utf8
from .errors import check
from .images import Image
from .model import ImageEncoder, TextEncoder, call_with_progress

_DTYPES = {"float32": _capi.BMC_DTYPE_F32, "float16": _capi.BMC_DTYPE_F16,
           "bfloat16": _capi.BMC_DTYPE_BF16}
_DTYPE_NAMES = {value: name for name, value in _DTYPES.items()}


class Index(Handle):
    """Vectors of one dimension with int64 ids and optional texts, searched by cosine similarity.

    Index(dim, dtype="float32") makes an empty one ("float16" halves the memory; scores then
    agree with float32 to about 1e-3; "bfloat16" halves it too and also rounds the queries, so
    scores agree to about 1e-2, and searches run 1.5 to 1.8 times as fast on CPUs with
    AVX512_BF16);
    Index.load() reads a file, Index.map() memory-maps one
    read-only. Searches and lookups may run in many threads at once; add(), remove(), append()
    and close() need the index to themselves.
    """

    def __init__(self, dim: int, dtype: str = "float32", _pointer=None):
        if _pointer is None:
            if dtype not in _DTYPES:
                raise ValueError("dtype must be float32, float16 or bfloat16, not %r" % (dtype,))
            _pointer = ctypes.POINTER(_capi.bmc_index)()
            check(_capi.bmc_index_create(dim, _DTYPES[dtype], ctypes.byref(_pointer)))
        self._own(_pointer, _capi.bmc_index_free)

    @classmethod
    def load(cls, path: PathLike) -> "Index":
        """Reads an index file into memory, checking every checksum (bmc_index_load)."""
        out = ctypes.POINTER(_capi.bmc_index)()
        check(_capi.bmc_index_load(fspath(path), ctypes.byref(out)))
        return cls(0, _pointer=out)

    @classmethod
    def map(cls, path: PathLike, check_vectors: bool = True) -> "Index":
        """Memory-maps an index file read-only (bmc_index_map); check_vectors=False skips the
        vector section's checksum so that opening does not read the whole file."""
        flags = 0 if check_vectors else _capi.BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM
        out = ctypes.POINTER(_capi.bmc_index)()
        check(_capi.bmc_index_map(fspath(path), flags, ctypes.byref(out)))
        return cls(0, _pointer=out)

    @property
    def dim(self) -> int:
        return _capi.bmc_index_dim(self._ptr)

    @property
    def dtype(self) -> str:
        """"float32" or "float16": how the vectors are stored."""
        return _DTYPE_NAMES.get(_capi.bmc_index_dtype(self._ptr), "?")

    def __len__(self) -> int:
        return _capi.bmc_index_count(self._ptr)

    def add(self, vectors, ids, texts: Optional[Sequence[Union[str, bytes]]] = None) -> None:
        """Adds entries: `vectors` (n, dim), `ids` n unique non-negative integers, `texts` None
        or n strings. Vectors are normalised when stored. All or nothing (bmc_index_add)."""
        vectors = float32_rows(vectors, "vectors", self.dim)
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if ids.size != vectors.shape[0]:
            raise ValueError("%d vectors but %d ids" % (vectors.shape[0], ids.size))
        array = None
        if texts is not None:
            array, count = text_array(texts)
            if count != ids.size:
                raise ValueError("%d ids but %d texts" % (ids.size, count))
        check(_capi.bmc_index_add(self._ptr, pointer(vectors, ctypes.c_float), ids.size,
                                  pointer(ids, ctypes.c_int64), array))

    def remove(self, ids) -> int:
        """Removes the entries with these ids (others are skipped); returns how many went."""
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        removed = ctypes.c_size_t()
        check(_capi.bmc_index_remove(self._ptr, pointer(ids, ctypes.c_int64), ids.size,
                                     ctypes.byref(removed)))
        return removed.value

    def append(self, other: "Index") -> None:
        """Appends every entry of `other` (bmc_index_append), e.g. to merge shards."""
        check(_capi.bmc_index_append(self._ptr, other._ptr))

    def ids(self) -> np.ndarray:
        """Every id, in the order the entries were added."""
        out = np.empty(len(self), np.int64)
        value = ctypes.c_int64()
        for position in range(out.size):
            check(_capi.bmc_index_id_at(self._ptr, position, ctypes.byref(value)))
            out[position] = value.value
        return out

    def vector(self, entry_id: int) -> np.ndarray:
        """The stored (normalised) vector of an id; NotFoundError if absent."""
        out = np.empty(self.dim, np.float32)
        check(_capi.bmc_index_get_vector(self._ptr, entry_id, pointer(out, ctypes.c_float),
                                         out.size))
        return out

    def text(self, entry_id: int) -> str:
        """The text of an id ("" if it has none); NotFoundError if absent."""
        needed = ctypes.c_size_t()
        check(_capi.bmc_index_get_text(self._ptr, entry_id, None, 0, ctypes.byref(needed)))
        buffer = ctypes.create_string_buffer(needed.value)
        check(_capi.bmc_index_get_text(self._ptr, entry_id, buffer, len(buffer),
                                       ctypes.byref(needed)))
        return buffer.value.decode("utf-8")

    def search(self, queries, k: int, threads: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """Exact top-k by cosine similarity for each query row: (ids, scores), both shaped
        (queries, k), best first; missing entries (k > len) get id -1 and score -inf.
        `threads` 0 picks a count, 1 uses only this thread; the results do not depend on it."""
        return _search(_capi.bmc_index_search, self._ptr, self.dim, queries, k, threads)

    def add_text_file(self, encoder: TextEncoder, path: PathLike, first_id: int = 0) -> int:
        """Adds every non-empty line of a UTF-8 text file (a caption bank), encoded with
        `encoder`, with id first_id + the line's number and the line as text; returns how many
        were added (bmc_index_add_text_file). On error, earlier chunks stay added."""
        added = ctypes.c_size_t()
        encoder._call(_capi.bmc_index_add_text_file, self._ptr, encoder._ptr, fspath(path),
                      first_id, ctypes.byref(added))
        return added.value

    def add_image_directory(self, encoder: ImageEncoder, directory: PathLike,
                            first_id: int = 0) -> Tuple[int, int]:
        """Adds the PNG and JPEG files of a folder (an image collection), encoded with
        `encoder`, ids first_id, first_id + 1, ... in name order, the file name as text;
        returns (added, skipped) (bmc_index_add_image_directory). Undecodable files are
        skipped and logged."""
        added, skipped = ctypes.c_size_t(), ctypes.c_size_t()
        encoder._call(_capi.bmc_index_add_image_directory, self._ptr, encoder._ptr,
                      fspath(directory), first_id, ctypes.byref(added), ctypes.byref(skipped))
        return added.value, skipped.value

    def search_image(self, encoder: ImageEncoder, image: Image,
                     k: int) -> Tuple[np.ndarray, np.ndarray]:
        """Captioning by retrieval: the k entries closest to the image, as (ids, scores)
        vectors, best first (bmc_index_search_image); texts come from text(id)."""
        ids, scores = np.empty(k, np.int64), np.empty(k, np.float32)
        encoder._call(_capi.bmc_index_search_image, self._ptr, encoder._ptr, image._ptr, k,
                      pointer(ids, ctypes.c_int64), pointer(scores, ctypes.c_float))
        return ids, scores

    def search_text(self, encoder: TextEncoder, text: Union[str, bytes],
                    k: int) -> Tuple[np.ndarray, np.ndarray]:
        """Text-to-image search: the k entries closest to the text, as (ids, scores) vectors,
        best first (bmc_index_search_text)."""
        data = utf8(text)
        if b"\0" in data:
            raise ValueError("the text contains a NUL character")
        ids, scores = np.empty(k, np.int64), np.empty(k, np.float32)
        encoder._call(_capi.bmc_index_search_text, self._ptr, encoder._ptr, data, k,
                      pointer(ids, ctypes.c_int64), pointer(scores, ctypes.c_float))
        return ids, scores

    def search_composed(self, image_encoder: ImageEncoder, text_encoder: TextEncoder,
                        image: Image, text: Union[str, bytes], k: int,
                        text_weight: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
        """Composed search (image + text -> image): the k entries closest to the normalised
        weighted sum (1 - text_weight) x image + text_weight x text of the two normalised
        embeddings, as (ids, scores) vectors, best first (bmc_index_search_composed)."""
        data = utf8(text)
        if b"\0" in data:
            raise ValueError("the text contains a NUL character")
        ids, scores = np.empty(k, np.int64), np.empty(k, np.float32)
        call_with_progress([image_encoder, text_encoder], _capi.bmc_index_search_composed,
                           self._ptr, image_encoder._ptr, text_encoder._ptr, image._ptr, data,
                           float(text_weight), k, pointer(ids, ctypes.c_int64),
                           pointer(scores, ctypes.c_float))
        return ids, scores

    def save(self, path: PathLike) -> None:
        """Writes the index file (atomically: a temporary file renamed into place)."""
        check(_capi.bmc_index_save(self._ptr, fspath(path)))

    def __repr__(self) -> str:
        if self.closed:
            return "<biomedclip.Index (closed)>"
        return "<biomedclip.Index %d x %d %s>" % (len(self), self.dim, self.dtype)


class IndexSet(Handle):
    """Several index files (shards), each memory-mapped, searched as one index (bmc_index_set_*).

    IndexSet(paths) opens the files in that order; IndexSet.open_manifest(path) opens the set a
    manifest names (shards relative to the manifest's folder), checking each shard's size,
    count and checksum against it; IndexSet.write_manifest(path, shards) writes one.
    search() gives exactly what one Index holding every shard's entries in shard order would
    (same ids, same scores, equal scores ranked by shard, then entry). The shards must share dim
    and dtype, and ids must be unique across them. Read-only; searches may run in many threads.
    """

    def __init__(self, paths: Sequence[PathLike], check_vectors: bool = True, _pointer=None):
        if _pointer is None:
            if isinstance(paths, (str, bytes, os.PathLike)):
                raise TypeError("paths must be a sequence of paths, not one path")
            array, count = text_array([fspath(p) for p in paths], "paths")
            if count == 0:
                raise ValueError("an index set needs at least one shard")
            _pointer = ctypes.POINTER(_capi.bmc_index_set)()
            check(_capi.bmc_index_set_open(array, count, _map_flags(check_vectors),
                                           ctypes.byref(_pointer)))
        self._own(_pointer, _capi.bmc_index_set_free)

    @classmethod
    def open_manifest(cls, path: PathLike, check_vectors: bool = True) -> "IndexSet":
        """Opens the set a manifest file describes (bmc_index_set_open_manifest)."""
        out = ctypes.POINTER(_capi.bmc_index_set)()
        check(_capi.bmc_index_set_open_manifest(fspath(path), _map_flags(check_vectors),
                                                ctypes.byref(out)))
        return cls((), _pointer=out)

    @staticmethod
    def write_manifest(path: PathLike, shards: Sequence[PathLike],
                       check_vectors: bool = True) -> None:
        """Writes a manifest at `path` naming `shards` as given: relative to the manifest's
        folder, or absolute. The shards are opened as a set first, so only a valid set gets a
        manifest (bmc_index_set_write_manifest); the file is replaced atomically."""
        if isinstance(shards, (str, bytes, os.PathLike)):
            raise TypeError("shards must be a sequence of paths, not one path")
        array, count = text_array([fspath(p) for p in shards], "shards")
        if count == 0:
            raise ValueError("a manifest needs at least one shard")
        check(_capi.bmc_index_set_write_manifest(fspath(path), array, count,
                                                 _map_flags(check_vectors)))

    @property
    def dim(self) -> int:
        return _capi.bmc_index_set_dim(self._ptr)

    @property
    def dtype(self) -> str:
        return _DTYPE_NAMES.get(_capi.bmc_index_set_dtype(self._ptr), "?")

    def __len__(self) -> int:
        """The number of entries in all shards."""
        return _capi.bmc_index_set_count(self._ptr)

    @property
    def shard_count(self) -> int:
        return _capi.bmc_index_set_shard_count(self._ptr)

    def shard(self, number: int) -> Index:
        """Shard `number` as a read-only Index that belongs to the set (closed with it)."""
        if not 0 <= number < self.shard_count:
            raise IndexError("shard %d of %d" % (number, self.shard_count))
        index = Index.__new__(Index)
        index._borrow(_capi.bmc_index_set_shard(self._ptr, number), self)
        return index

    def find(self, entry_id: int) -> int:
        """The number of the shard holding `entry_id`; NotFoundError if none does."""
        shard = ctypes.c_size_t()
        check(_capi.bmc_index_set_find(self._ptr, entry_id, ctypes.byref(shard)))
        return shard.value

    def text(self, entry_id: int) -> str:
        """The text of an id ("" if it has none); NotFoundError if absent."""
        return self.shard(self.find(entry_id)).text(entry_id)

    def vector(self, entry_id: int) -> np.ndarray:
        """The stored (normalised) vector of an id; NotFoundError if absent."""
        return self.shard(self.find(entry_id)).vector(entry_id)

    def search(self, queries, k: int, threads: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """Exact top-k over every shard, as Index.search() over one index holding them all:
        (ids, scores), both shaped (queries, k), best first (bmc_index_set_search)."""
        return _search(_capi.bmc_index_set_search, self._ptr, self.dim, queries, k, threads)

    def __repr__(self) -> str:
        if self.closed:
            return "<biomedclip.IndexSet (closed)>"
        return "<biomedclip.IndexSet %d shards, %d x %d %s>" % (self.shard_count, len(self),
                                                              self.dim, self.dtype)


def _search(search, handle, dim: int, queries, k: int,
            threads: int) -> Tuple[np.ndarray, np.ndarray]:
    """Index.search() and IndexSet.search(): `search` is bmc_index_search or
    bmc_index_set_search, which take the same arguments after the handle."""
    queries = float32_rows(queries, "queries", dim)
    if k < 1:
        raise ValueError("k must be at least 1, not %d" % k)
    options = _capi.bmc_index_search_options()
    _capi.bmc_index_search_options_init(ctypes.byref(options))
    options.threads = threads
    ids = np.empty((queries.shape[0], k), np.int64)
    scores = np.empty((queries.shape[0], k), np.float32)
    check(search(handle, pointer(queries, ctypes.c_float), queries.shape[0], k,
                 ctypes.byref(options), pointer(ids, ctypes.c_int64),
                 pointer(scores, ctypes.c_float), ids.size))
    return ids, scores


def _map_flags(check_vectors: bool) -> int:
    return 0 if check_vectors else _capi.BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM
