//! Hash maps for the keys gate looks up by the hundred thousand: blob ids, paths, the names
//! tests refer to. The standard library's SipHash cost a warm run on a 100,000-file tree a tenth
//! of its time; foldhash is several times quicker on short keys and still seeded per process,
//! so a tree cannot be crafted to make every key collide in every run.

/// A `HashMap` with foldhash's per-process seeded hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash's per-process seeded hasher.
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
