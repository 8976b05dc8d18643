//! Where blob bytes live: files in the relay's folder (`Disk`, the default) or objects in an
//! S3-compatible bucket (`Bucket`). The records (who may read a blob, whose quota it counts
//! against) stay in the database; this layer only keeps bytes under their id.
//!
//! Both keep the same rules: a blob is readable under its id only once it is whole and durable
//! (a file is renamed into place after its sync; an object appears when its upload completes),
//! so a crash or a refused upload never leaves a partial blob behind a name.

mod bucket;
mod contract;
mod disk;

pub(crate) use bucket::Bucket;
pub use bucket::BucketAddress;
pub(crate) use contract::{BlobFiles, Incoming};
pub(crate) use disk::Disk;
