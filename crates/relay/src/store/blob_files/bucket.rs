//! Blobs as objects in an S3-compatible bucket (`s3://bucket/prefix`), for relays that run as
//! several instances: any instance reads what another wrote. The endpoint, region and
//! credentials come from the environment (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), as every S3 tool reads them.
//!
//! An object appears only when its upload completes (S3 has no partial objects), so a blob is
//! never visible half-written. The bucket's client runs on a runtime of its own
//! (`side_runtime`).

use std::io::Read;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};

use super::contract::{BlobFiles, Incoming, Opened, Staged, UNRECORDED_GRACE_MS, id_of, name};

/// A multipart upload's part: S3 takes parts of 5 MiB and more (but the last), and some
/// servers want them all the same size.
const PART: usize = 8 * 1024 * 1024;
use crate::error::{RelayError, Result};
use crate::store::side_runtime::{SideRuntime, wait_on};

/// `s3://bucket/prefix` as the operator wrote it, and what the configuration file says of its
/// server; what it leaves out comes from the environment.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BucketAddress {
    pub bucket: String,
    pub prefix: String,
    /// The server, for a bucket not at Amazon (`https://s3.example.org`).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Plain HTTP to the server: for a server on the same machine or in tests only, since the
    /// credentials then travel in clear.
    pub allow_http: bool,
}

impl std::fmt::Debug for BucketAddress {
    /// Never the secret key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketAddress")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl std::str::FromStr for BucketAddress {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{s:?} is not a bucket address (s3://bucket/prefix)"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{s:?} names no bucket"));
        }
        Ok(BucketAddress {
            bucket: bucket.into(),
            prefix: prefix.trim_matches('/').into(),
            ..BucketAddress::default()
        })
    }
}

pub(crate) struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    runtime: SideRuntime,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A bucket that cannot be reached answers `busy`: the client tries again later.
fn unavailable(e: object_store::Error) -> RelayError {
    match e {
        object_store::Error::NotFound { .. } => RelayError::NotFound,
        other => {
            tracing::warn!(error = %other, "the blob bucket failed");
            RelayError::Busy
        }
    }
}

impl Bucket {
    pub(crate) fn open(address: &BucketAddress) -> Result<Bucket> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&address.bucket);
        if let Some(endpoint) = &address.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &address.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &address.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &address.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if address.allow_http {
            builder = builder.with_allow_http(true);
        }
        let store = builder
            .build()
            .map_err(|e| RelayError::Internal(format!("the blob bucket: {e}")))?;
        Ok(Bucket {
            store: Arc::new(store),
            prefix: address.prefix.clone(),
            runtime: SideRuntime::start("blob-bucket")?,
        })
    }

    /// Runs `work` on the bucket's runtime and waits for it (a task that failed is `busy`).
    fn wait<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = std::result::Result<T, object_store::Error>>
        + Send
        + 'static,
    ) -> Result<T> {
        self.runtime.wait(work)?.map_err(unavailable)
    }

    /// Sends `first` and then each part as it arrives, one at a time.
    fn put_parts(
        &self,
        upload: &mut Box<dyn MultipartUpload>,
        first: Vec<u8>,
        incoming: &mut Incoming<'_>,
    ) -> Result<()> {
        let mut part = first;
        loop {
            self.wait(upload.put_part(PutPayload::from(part)))?;
            let mut next = vec![0u8; PART];
            let n = incoming.fill(&mut next)?;
            if n == 0 {
                return Ok(());
            }
            next.truncate(n);
            part = next;
        }
    }

    /// Drops an upload's parts (a lifecycle rule on the bucket takes what an abort that fails
    /// leaves, as S3 cannot clean up on its own).
    fn abort(&self, mut upload: Box<dyn MultipartUpload>) {
        let aborted = self.runtime.wait(async move { upload.abort().await });
        if !matches!(aborted, Ok(Ok(()))) {
            tracing::warn!("a refused blob upload's parts could not be dropped from the bucket");
        }
    }

    fn path(&self, id: &[u8; 32]) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name(id))
        } else {
            ObjectPath::from(format!("{}/{}", self.prefix, name(id)))
        }
    }
}

impl BlobFiles for Bucket {
    /// A blob of one part is held (its declared size, at most a part) until published, then
    /// put in one request; a larger one goes up as a multipart upload, part by part as it
    /// arrives, and is completed when published, aborted otherwise. An object appears whole or
    /// not at all, and an upload holds at most one part in memory.
    fn stage<'a>(
        &'a self,
        id: &[u8; 32],
        mut incoming: Incoming<'_>,
    ) -> Result<(u64, Box<dyn Staged + 'a>)> {
        let path = self.path(id);
        // One byte past what was declared tells a sender that said less than it sends.
        let room = usize::try_from(incoming.declared().saturating_add(1))
            .unwrap_or(PART)
            .min(PART);
        let mut first = vec![0u8; room];
        let n = incoming.fill(&mut first)?;
        if n < room {
            first.truncate(n);
            first.shrink_to_fit();
            let len = incoming.length_if_blob(id)?;
            return Ok((
                len,
                Box::new(StagedObject::Whole {
                    bucket: self,
                    path,
                    bytes: first,
                }),
            ));
        }
        let store = self.store.clone();
        let upload = self.wait(async move { store.put_multipart(&path).await })?;
        // Dropped on failure, the staged upload is aborted.
        let mut staged = StagedObject::Parts {
            bucket: self,
            upload: Some(upload),
        };
        if let StagedObject::Parts {
            upload: Some(upload),
            ..
        } = &mut staged
        {
            self.put_parts(upload, first, &mut incoming)?;
        }
        let len = incoming.length_if_blob(id)?;
        Ok((len, Box::new(staged)))
    }

    fn open(&self, id: &[u8; 32]) -> Result<Opened> {
        let (store, path) = (self.store.clone(), self.path(id));
        let got = self.wait(async move { store.get(&path).await })?;
        let len = got.meta.size;
        Ok(Opened {
            reader: Box::new(ObjectReader {
                stream: Some(got.into_stream()),
                chunk: bytes::Bytes::new(),
                runtime: self.runtime.handle(),
            }),
            len,
        })
    }

    /// Asks for an object no one writes: "not found" is an answer, so the bucket is there.
    fn check(&self) -> Result<()> {
        let store = self.store.clone();
        let probe = match self.prefix.as_str() {
            "" => ObjectPath::from("health-check"),
            prefix => ObjectPath::from(format!("{prefix}/health-check")),
        };
        // Asked once, briefly: the client's retries would stretch an outage's answer to minutes.
        let asked = self.runtime.wait(async move {
            tokio::time::timeout(std::time::Duration::from_secs(3), store.head(&probe)).await
        })?;
        match asked {
            Ok(Ok(_)) | Ok(Err(object_store::Error::NotFound { .. })) => Ok(()),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(RelayError::Internal(
                "the bucket did not answer within 3 s".into(),
            )),
        }
    }

    fn remove(&self, id: &[u8; 32]) -> Result<()> {
        let (store, path) = (self.store.clone(), self.path(id));
        match self.wait(async move { store.delete(&path).await }) {
            Ok(()) | Err(RelayError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Other instances may be uploading: only what is older than the grace goes.
    fn sweep(&self, recorded: &dyn Fn(&[u8; 32]) -> bool, now_ms: i64) -> Result<()> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let store = self.store.clone();
        let listed: Vec<_> = self
            .runtime
            .wait(async move { store.list(prefix.as_ref()).collect::<Vec<_>>().await })?;
        for meta in listed {
            let meta = meta.map_err(unavailable)?;
            let old = now_ms - meta.last_modified.timestamp_millis() > UNRECORDED_GRACE_MS;
            let kept = meta
                .location
                .filename()
                .and_then(id_of)
                .is_some_and(|id| recorded(&id));
            if old && !kept {
                let store = self.store.clone();
                let _ = self.wait(async move { store.delete(&meta.location).await });
            }
        }
        Ok(())
    }
}

/// A blob in the bucket not yet readable under its id: held whole (one part), or a multipart
/// upload not yet completed.
enum StagedObject<'a> {
    Whole {
        bucket: &'a Bucket,
        path: ObjectPath,
        bytes: Vec<u8>,
    },
    Parts {
        bucket: &'a Bucket,
        /// Taken when completed; one left at drop is aborted.
        upload: Option<Box<dyn MultipartUpload>>,
    },
}

impl Staged for StagedObject<'_> {
    fn publish(mut self: Box<Self>) -> Result<()> {
        match &mut *self {
            StagedObject::Whole {
                bucket,
                path,
                bytes,
            } => {
                let (store, path) = (bucket.store.clone(), path.clone());
                let payload = PutPayload::from(std::mem::take(bytes));
                bucket.wait(async move { store.put(&path, payload).await })?;
                Ok(())
            }
            StagedObject::Parts { bucket, upload } => {
                let Some(mut taken) = upload.take() else {
                    return Err(RelayError::Internal("an upload published twice".into()));
                };
                let (taken, completed) = bucket.runtime.wait(async move {
                    let completed = taken.complete().await;
                    (taken, completed)
                })?;
                match completed {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        bucket.abort(taken);
                        Err(unavailable(e))
                    }
                }
            }
        }
    }
}

impl Drop for StagedObject<'_> {
    fn drop(&mut self) {
        if let StagedObject::Parts { bucket, upload } = self
            && let Some(upload) = upload.take()
        {
            bucket.abort(upload);
        }
    }
}

/// An object's bytes as a `Read`, pulled from its download as they come.
type Download = futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>;

struct ObjectReader {
    /// Out while its next chunk is fetched on the bucket's runtime; gone after a failure.
    stream: Option<Download>,
    chunk: bytes::Bytes,
    runtime: tokio::runtime::Handle,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(mut stream) = self.stream.take() else {
                return Err(std::io::Error::other("the download failed before"));
            };
            let (next, stream) = wait_on(&self.runtime, async move {
                let next = stream.next().await;
                (next, stream)
            })
            .map_err(std::io::Error::other)?;
            match next {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
            self.stream = Some(stream);
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_addresses_read_as_operators_write_them() {
        let a: BucketAddress = "s3://relay-blobs/eu/prod/".parse().unwrap();
        assert_eq!(
            a,
            BucketAddress {
                bucket: "relay-blobs".into(),
                prefix: "eu/prod".into(),
                ..BucketAddress::default()
            }
        );
        let bare: BucketAddress = "s3://relay-blobs".parse().unwrap();
        assert_eq!(bare.prefix, "");
        assert!("relay-blobs".parse::<BucketAddress>().is_err());
        assert!("s3:///x".parse::<BucketAddress>().is_err());
    }
}
