// SPDX-License-Identifier: MIT
//! The embedding index: exact cosine top-k search over stored vectors (`bmc_index_*`).
use std::ffi::CString;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_path, c_string, c_strings, check, Error, Result};
use crate::image::Image;
use crate::model::{rows_of, ImageEncoder, TextEncoder};

/// How an index stores its vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexDtype {
    F32,
    /// Half the memory; scores within about 1e-3 of float32.
    F16,
    /// Half the memory, and the queries are rounded too: scores within about 1e-2 of float32,
    /// searches 1.5 to 1.8 times as fast on CPUs with AVX512_BF16.
    BF16,
}

impl IndexDtype {
    /// The dtype of a `BMC_DTYPE_*` code an index or a set reports.
    fn from_code(code: i32) -> IndexDtype {
        match code {
            sys::BMC_DTYPE_F16 => IndexDtype::F16,
            sys::BMC_DTYPE_BF16 => IndexDtype::BF16,
            _ => IndexDtype::F32,
        }
    }
}

/// Vectors of one dimension with int64 ids and optional texts, searched by cosine similarity.
///
/// `Send` and `Sync`: searches and lookups (`&self`) may run in many threads at once, while
/// adding, removing and appending take `&mut self`, which is exactly the header's rule.
pub struct Index {
    raw: NonNull<sys::bmc_index>,
}

// SAFETY: see above; the header allows concurrent read-only calls and requires exclusive
// access for the modifying ones, which Rust's borrows enforce.
unsafe impl Send for Index {}
unsafe impl Sync for Index {}

/// The results of [`Index::search`]: for query q, rank r (best first) is at q * k + r; slots
/// beyond the index's size hold id -1 and score -inf.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub k: usize,
    pub ids: Vec<i64>,
    pub scores: Vec<f32>,
}

impl SearchResults {
    /// The (ids, scores) of query `q`.
    pub fn query(&self, q: usize) -> (&[i64], &[f32]) {
        (&self.ids[q * self.k..(q + 1) * self.k], &self.scores[q * self.k..(q + 1) * self.k])
    }
}

impl Index {
    fn from_raw(raw: *mut sys::bmc_index) -> Index {
        Index { raw: NonNull::new(raw).expect("BMC_OK and no index") }
    }

    /// An empty index for vectors of `dim` floats (`bmc_index_create`).
    pub fn new(dim: usize, dtype: IndexDtype) -> Result<Index> {
        let dim = i32::try_from(dim).map_err(|_| Error::invalid("dim too large"))?;
        let dtype = match dtype {
            IndexDtype::F32 => sys::BMC_DTYPE_F32,
            IndexDtype::F16 => sys::BMC_DTYPE_F16,
            IndexDtype::BF16 => sys::BMC_DTYPE_BF16,
        };
        let mut out = ptr::null_mut();
        // SAFETY: an out-pointer.
        check(unsafe { sys::bmc_index_create(dim, dtype, &mut out) })?;
        Ok(Index::from_raw(out))
    }

    /// Reads an index file into memory, checking every checksum (`bmc_index_load`).
    pub fn load<P: AsRef<Path>>(path: P) -> Result<Index> {
        let path = c_path(path.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: a valid C string and out-pointer.
        check(unsafe { sys::bmc_index_load(path.as_ptr(), &mut out) })?;
        Ok(Index::from_raw(out))
    }

    /// Memory-maps an index file read-only (`bmc_index_map`); `check_vectors` false skips the
    /// vector section's checksum. Modifying calls then fail with `Status::Unsupported`.
    pub fn map<P: AsRef<Path>>(path: P, check_vectors: bool) -> Result<Index> {
        let path = c_path(path.as_ref())?;
        let flags = if check_vectors { 0 } else { sys::BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM };
        let mut out = ptr::null_mut();
        // SAFETY: a valid C string and out-pointer.
        check(unsafe { sys::bmc_index_map(path.as_ptr(), flags, &mut out) })?;
        Ok(Index::from_raw(out))
    }

    pub fn dim(&self) -> usize {
        // SAFETY: a live index.
        unsafe { sys::bmc_index_dim(self.raw.as_ptr()) as usize }
    }

    pub fn dtype(&self) -> IndexDtype {
        // SAFETY: a live index.
        IndexDtype::from_code(unsafe { sys::bmc_index_dtype(self.raw.as_ptr()) })
    }

    pub fn len(&self) -> usize {
        // SAFETY: a live index.
        unsafe { sys::bmc_index_count(self.raw.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds entries: `vectors` holds one row of dim floats per id; `texts`, if given, one
    /// text per id. All or nothing (`bmc_index_add`).
    pub fn add(&mut self, vectors: &[f32], ids: &[i64], texts: Option<&[&str]>) -> Result<()> {
        let count = rows_of(vectors, self.dim(), "vectors")?;
        if count != ids.len() || texts.map_or(false, |t| t.len() != ids.len()) {
            return Err(Error::invalid("vectors, ids and texts differ in number"));
        }
        let (_owned, pointers) = c_strings(texts.unwrap_or(&[]), "a text")?;
        let texts_ptr: *const *const c_char =
            if texts.is_some() { pointers.as_ptr() } else { ptr::null() };
        // SAFETY: count rows, count ids and (if any) count C strings.
        check(unsafe {
            sys::bmc_index_add(self.raw.as_ptr(), vectors.as_ptr(), count, ids.as_ptr(), texts_ptr)
        })
    }

    /// Removes the entries with these ids (others are skipped); returns how many were removed.
    pub fn remove(&mut self, ids: &[i64]) -> Result<usize> {
        let mut removed = 0usize;
        // SAFETY: ids.len() ids and an out-pointer.
        check(unsafe {
            sys::bmc_index_remove(self.raw.as_ptr(), ids.as_ptr(), ids.len(), &mut removed)
        })?;
        Ok(removed)
    }

    /// Appends every entry of `other` (`bmc_index_append`).
    pub fn append(&mut self, other: &Index) -> Result<()> {
        // SAFETY: two live indexes; &mut self and &other cannot be the same one.
        check(unsafe { sys::bmc_index_append(self.raw.as_ptr(), other.raw.as_ptr()) })
    }

    /// Every id, in the order the entries were added.
    pub fn ids(&self) -> Result<Vec<i64>> {
        (0..self.len())
            .map(|position| {
                let mut id = 0i64;
                // SAFETY: an out-pointer.
                check(unsafe { sys::bmc_index_id_at(self.raw.as_ptr(), position, &mut id) })?;
                Ok(id)
            })
            .collect()
    }

    /// The stored (normalised) vector of an id; `Status::NotFound` if absent.
    pub fn vector(&self, id: i64) -> Result<Vec<f32>> {
        let mut vector = vec![0f32; self.dim()];
        // SAFETY: vector holds dim floats.
        check(unsafe {
            sys::bmc_index_get_vector(self.raw.as_ptr(), id, vector.as_mut_ptr(), vector.len())
        })?;
        Ok(vector)
    }

    /// The text of an id ("" if none); `Status::NotFound` if absent.
    pub fn text(&self, id: i64) -> Result<String> {
        let mut needed = 0usize;
        // SAFETY: a size query (NULL buffer).
        check(unsafe {
            sys::bmc_index_get_text(self.raw.as_ptr(), id, ptr::null_mut(), 0, &mut needed)
        })?;
        let mut buffer = vec![0u8; needed];
        // SAFETY: buffer holds `needed` bytes.
        check(unsafe {
            sys::bmc_index_get_text(self.raw.as_ptr(), id, buffer.as_mut_ptr() as *mut c_char,
                                    buffer.len(), &mut needed)
        })?;
        buffer.truncate(needed.saturating_sub(1)); // the NUL
        String::from_utf8(buffer).map_err(|_| Error::invalid("the stored text is not UTF-8"))
    }

    /// Exact top-`k` by cosine similarity for each query row (`bmc_index_search`). `threads`
    /// 0 picks a count, 1 uses only this thread; the results are the same for every value.
    pub fn search(&self, queries: &[f32], k: usize, threads: usize) -> Result<SearchResults> {
        search_with(self.dim(), queries, k, threads, |queries, count, k, options, ids, scores, n| {
            // SAFETY: a live handle; search_with passes count query rows and n = count * k
            // entries of ids and of scores.
            unsafe {
                sys::bmc_index_search(self.raw.as_ptr(), queries, count, k, options, ids, scores, n)
            }
        })
    }

    /// Adds every non-empty line of a UTF-8 text file (a caption bank), encoded with `encoder`,
    /// with id first_id + the line's number and the line as text; returns how many were added
    /// (`bmc_index_add_text_file`). On error, earlier chunks stay added.
    pub fn add_text_file<P: AsRef<Path>>(
        &mut self,
        encoder: &mut TextEncoder<'_>,
        path: P,
        first_id: i64,
    ) -> Result<usize> {
        let path = c_path(path.as_ref())?;
        let mut added = 0usize;
        // SAFETY: live handles, a valid C string, an out-pointer.
        let status = unsafe {
            sys::bmc_index_add_text_file(self.raw.as_ptr(), encoder.as_mut_ptr(), path.as_ptr(),
                                         first_id, &mut added)
        };
        encoder.finish_call(status)?;
        Ok(added)
    }

    /// Adds the PNG and JPEG files of a folder (an image collection), encoded with `encoder`,
    /// ids first_id, first_id + 1, ... in name order, the file name as text; returns (added,
    /// skipped) (`bmc_index_add_image_directory`).
    pub fn add_image_directory<P: AsRef<Path>>(
        &mut self,
        encoder: &mut ImageEncoder<'_>,
        directory: P,
        first_id: i64,
    ) -> Result<(usize, usize)> {
        let directory = c_path(directory.as_ref())?;
        let (mut added, mut skipped) = (0usize, 0usize);
        // SAFETY: live handles, a valid C string, out-pointers.
        let status = unsafe {
            sys::bmc_index_add_image_directory(self.raw.as_ptr(), encoder.as_mut_ptr(),
                                               directory.as_ptr(), first_id, &mut added,
                                               &mut skipped)
        };
        encoder.finish_call(status)?;
        Ok((added, skipped))
    }

    /// Captioning by retrieval: the `k` entries closest to the image, best first
    /// (`bmc_index_search_image`); the captions come from [`text`](Index::text).
    pub fn search_image(
        &self,
        encoder: &mut ImageEncoder<'_>,
        image: &Image,
        k: usize,
    ) -> Result<SearchResults> {
        let k32 = i32::try_from(k).map_err(|_| Error::invalid("k too large"))?;
        let (mut ids, mut scores) = (vec![0i64; k], vec![0f32; k]);
        // SAFETY: live handles; ids and scores hold k entries.
        let status = unsafe {
            sys::bmc_index_search_image(self.raw.as_ptr(), encoder.as_mut_ptr(), image.as_ptr(),
                                        k32, ids.as_mut_ptr(), scores.as_mut_ptr())
        };
        encoder.finish_call(status)?;
        Ok(SearchResults { k, ids, scores })
    }

    /// Text-to-image search: the `k` entries closest to the text, best first
    /// (`bmc_index_search_text`).
    pub fn search_text(
        &self,
        encoder: &mut TextEncoder<'_>,
        text: &str,
        k: usize,
    ) -> Result<SearchResults> {
        let text = c_string(text, "the text")?;
        let k32 = i32::try_from(k).map_err(|_| Error::invalid("k too large"))?;
        let (mut ids, mut scores) = (vec![0i64; k], vec![0f32; k]);
        // SAFETY: live handles, a valid C string; ids and scores hold k entries.
        let status = unsafe {
            sys::bmc_index_search_text(self.raw.as_ptr(), encoder.as_mut_ptr(), text.as_ptr(),
                                       k32, ids.as_mut_ptr(), scores.as_mut_ptr())
        };
        encoder.finish_call(status)?;
        Ok(SearchResults { k, ids, scores })
    }

    /// Composed search (image + text -> image): the `k` entries closest to the normalised
    /// weighted sum (1 - text_weight) x image + text_weight x text of the two normalised
    /// embeddings, best first (`bmc_index_search_composed`; see [`compose_query`](crate::compose_query)).
    pub fn search_composed(
        &self,
        image_encoder: &mut ImageEncoder<'_>,
        text_encoder: &mut TextEncoder<'_>,
        image: &Image,
        text: &str,
        text_weight: f32,
        k: usize,
    ) -> Result<SearchResults> {
        let text = c_string(text, "the text")?;
        let k32 = i32::try_from(k).map_err(|_| Error::invalid("k too large"))?;
        let (mut ids, mut scores) = (vec![0i64; k], vec![0f32; k]);
        // SAFETY: live handles, a valid C string; ids and scores hold k entries.
        let status = unsafe {
            sys::bmc_index_search_composed(self.raw.as_ptr(), image_encoder.as_mut_ptr(),
                                           text_encoder.as_mut_ptr(), image.as_ptr(),
                                           text.as_ptr(), text_weight, k32, ids.as_mut_ptr(),
                                           scores.as_mut_ptr())
        };
        // A panic in either encoder's progress callback is resumed here, the text's first.
        text_encoder.finish_call(sys::BMC_OK)?;
        image_encoder.finish_call(status)?;
        Ok(SearchResults { k, ids, scores })
    }

    /// Writes the index file (atomically, by renaming a temporary file into place).
    pub fn save<P: AsRef<Path>>(&self, path: P) -> Result<()> {
        let path = c_path(path.as_ref())?;
        // SAFETY: a valid C string.
        check(unsafe { sys::bmc_index_save(self.raw.as_ptr(), path.as_ptr()) })
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        // SAFETY: we own the index and nothing else uses it any more.
        unsafe { sys::bmc_index_free(self.raw.as_ptr()) }
    }
}

/// Several index files (shards), each memory-mapped, searched as one index
/// (`bmc_index_set_*`): [`search`](IndexSet::search) gives exactly what one [`Index`] holding
/// every shard's entries in shard order would (same ids, same scores, equal scores ranked by
/// shard, then entry). The shards share dim and dtype; ids are unique across them.
///
/// Read-only, so `Send` and `Sync`: any number of threads may search at once.
pub struct IndexSet {
    raw: NonNull<sys::bmc_index_set>,
}

// SAFETY: an opened set is immutable; the header allows concurrent read-only calls.
unsafe impl Send for IndexSet {}
unsafe impl Sync for IndexSet {}

/// One shard of an [`IndexSet`], a read-only [`Index`] owned by the set (it derefs to one).
pub struct Shard<'a> {
    index: ManuallyDrop<Index>,
    _set: PhantomData<&'a IndexSet>,
}

impl Deref for Shard<'_> {
    type Target = Index;
    fn deref(&self) -> &Index {
        &self.index
    }
}

fn map_flags(check_vectors: bool) -> u32 {
    if check_vectors { 0 } else { sys::BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM }
}

/// [`Index::search`] and [`IndexSet::search`]: checks the arguments, makes the options and the
/// result buffers, and hands them to `search` (`bmc_index_search` or `bmc_index_set_search`,
/// which take the same arguments after the handle).
fn search_with(
    dim: usize,
    queries: &[f32],
    k: usize,
    threads: usize,
    search: impl FnOnce(*const f32, usize, i32, *const sys::bmc_index_search_options, *mut i64,
                        *mut f32, usize) -> sys::bmc_status,
) -> Result<SearchResults> {
    let count = rows_of(queries, dim, "queries")?;
    let k32 = i32::try_from(k).map_err(|_| Error::invalid("k too large"))?;
    let mut options: sys::bmc_index_search_options = unsafe { std::mem::zeroed() };
    // SAFETY: a valid, writable struct.
    unsafe { sys::bmc_index_search_options_init(&mut options) };
    options.threads = i32::try_from(threads).map_err(|_| Error::invalid("too many threads"))?;
    let mut ids = vec![0i64; count * k];
    let mut scores = vec![0f32; count * k];
    check(search(queries.as_ptr(), count, k32, &options, ids.as_mut_ptr(), scores.as_mut_ptr(),
                 ids.len()))?;
    Ok(SearchResults { k, ids, scores })
}

fn c_paths<P: AsRef<Path>>(paths: &[P]) -> Result<(Vec<CString>, Vec<*const c_char>)> {
    let owned = paths.iter().map(|p| c_path(p.as_ref())).collect::<Result<Vec<CString>>>()?;
    let pointers = owned.iter().map(|s| s.as_ptr()).collect();
    Ok((owned, pointers))
}

impl IndexSet {
    fn from_raw(raw: *mut sys::bmc_index_set) -> IndexSet {
        IndexSet { raw: NonNull::new(raw).expect("BMC_OK and no index set") }
    }

    /// Opens index files as one set, in this order (`bmc_index_set_open`); `check_vectors`
    /// false skips each vector section's checksum.
    pub fn open<P: AsRef<Path>>(paths: &[P], check_vectors: bool) -> Result<IndexSet> {
        let (_owned, pointers) = c_paths(paths)?;
        let mut out = ptr::null_mut();
        // SAFETY: pointers.len() valid C strings and an out-pointer.
        check(unsafe {
            sys::bmc_index_set_open(pointers.as_ptr(), pointers.len(), map_flags(check_vectors),
                                    &mut out)
        })?;
        Ok(IndexSet::from_raw(out))
    }

    /// Opens the set a manifest file describes, checking each shard against it
    /// (`bmc_index_set_open_manifest`).
    pub fn open_manifest<P: AsRef<Path>>(path: P, check_vectors: bool) -> Result<IndexSet> {
        let path = c_path(path.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: a valid C string and an out-pointer.
        check(unsafe {
            sys::bmc_index_set_open_manifest(path.as_ptr(), map_flags(check_vectors), &mut out)
        })?;
        Ok(IndexSet::from_raw(out))
    }

    /// Writes a manifest at `path` naming `shards` as given (relative to the manifest's folder,
    /// or absolute), after opening them as a set (`bmc_index_set_write_manifest`).
    pub fn write_manifest<P: AsRef<Path>, S: AsRef<Path>>(
        path: P,
        shards: &[S],
        check_vectors: bool,
    ) -> Result<()> {
        let path = c_path(path.as_ref())?;
        let (_owned, pointers) = c_paths(shards)?;
        // SAFETY: valid C strings.
        check(unsafe {
            sys::bmc_index_set_write_manifest(path.as_ptr(), pointers.as_ptr(), pointers.len(),
                                              map_flags(check_vectors))
        })
    }

    pub fn dim(&self) -> usize {
        // SAFETY: a live set.
        unsafe { sys::bmc_index_set_dim(self.raw.as_ptr()) as usize }
    }

    pub fn dtype(&self) -> IndexDtype {
        // SAFETY: a live set.
        IndexDtype::from_code(unsafe { sys::bmc_index_set_dtype(self.raw.as_ptr()) })
    }

    /// The number of entries in all shards.
    pub fn len(&self) -> usize {
        // SAFETY: a live set.
        unsafe { sys::bmc_index_set_count(self.raw.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn shard_count(&self) -> usize {
        // SAFETY: a live set.
        unsafe { sys::bmc_index_set_shard_count(self.raw.as_ptr()) }
    }

    /// Shard `number`, borrowed from the set; `None` past the last.
    pub fn shard(&self, number: usize) -> Option<Shard<'_>> {
        // SAFETY: a live set; the shard lives as long as the set, which the borrow ensures.
        let raw = unsafe { sys::bmc_index_set_shard(self.raw.as_ptr(), number) };
        NonNull::new(raw as *mut sys::bmc_index).map(|raw| Shard {
            index: ManuallyDrop::new(Index { raw }),
            _set: PhantomData,
        })
    }

    /// The number of the shard holding `id`; `Status::NotFound` if none does.
    pub fn find(&self, id: i64) -> Result<usize> {
        let mut shard = 0usize;
        // SAFETY: a live set and an out-pointer.
        check(unsafe { sys::bmc_index_set_find(self.raw.as_ptr(), id, &mut shard) })?;
        Ok(shard)
    }

    /// The text of an id ("" if none); `Status::NotFound` if absent.
    pub fn text(&self, id: i64) -> Result<String> {
        let shard = self.find(id)?;
        self.shard(shard).expect("find gives a shard").text(id)
    }

    /// Exact top-`k` over every shard, as [`Index::search`] over one index holding them all
    /// (`bmc_index_set_search`).
    pub fn search(&self, queries: &[f32], k: usize, threads: usize) -> Result<SearchResults> {
        search_with(self.dim(), queries, k, threads, |queries, count, k, options, ids, scores, n| {
            // SAFETY: a live handle; search_with passes count query rows and n = count * k
            // entries of ids and of scores.
            unsafe {
                sys::bmc_index_set_search(self.raw.as_ptr(), queries, count, k, options, ids,
                                          scores, n)
            }
        })
    }
}

impl Drop for IndexSet {
    fn drop(&mut self) {
        // SAFETY: we own the set; no Shard outlives it (they borrow it).
        unsafe { sys::bmc_index_set_free(self.raw.as_ptr()) }
    }
}
