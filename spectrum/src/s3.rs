//! Reaching `s3://bucket/key` objects: COPY, UNLOAD and external tables read and write S3 through
//! this module, on the leader (listing, manifests) and on compute nodes (the data itself).
//!
//! With an endpoint configured (`--s3-endpoint` or `AWS_ENDPOINT_URL`), buckets are reached through
//! object_store's S3 client: SigV4-signed, path-style requests, so any S3-compatible server works.
//! Without one, the embedded store serves `s3://bucket/key` from the file `<root>/bucket/key`, so a
//! laptop cluster can load files without any S3 at all. Failures are sorted into the few causes a
//! user can act on (no such bucket, access denied, nothing under a prefix, endpoint unreachable)
//! instead of object_store's generic request errors.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ObjectMeta, ObjectStore, RetryConfig};

/// Where S3 objects live for this process. It travels with external-table scans to the compute
/// nodes, which reach the same endpoint (or, on one machine, the same embedded store).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct S3Config {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); `None` uses the embedded store.
    pub endpoint: Option<String>,
    /// The embedded store's root: bucket `b` is the folder `<local_root>/b`.
    pub local_root: PathBuf,
    /// The cluster's own keys, standing in for its IAM role: used when a statement names none
    /// (external schemas, COPY with IAM_ROLE). Without them, the `AWS_*` environment is used.
    #[serde(default)]
    pub credentials: S3Credentials,
}

impl S3Config {
    /// `endpoint`, else `AWS_ENDPOINT_URL`, else the embedded store under `local_root`.
    pub fn new(endpoint: Option<String>, local_root: PathBuf) -> S3Config {
        let endpoint = endpoint
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|e| !e.is_empty());
        S3Config {
            endpoint,
            local_root,
            credentials: S3Credentials::default(),
        }
    }
}

/// Credentials named by a statement (ACCESS_KEY_ID, CREDENTIALS, ...). Without keys, the
/// process's configured credentials (the `AWS_*` environment) are used, as for IAM_ROLE.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct S3Credentials {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
}

/// An `s3://bucket/key` address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct S3Url {
    pub bucket: String,
    /// The key, or key prefix, without a leading slash.
    pub key: String,
}

impl S3Url {
    pub fn parse(url: &str) -> Result<S3Url, S3Error> {
        let invalid = || S3Error::InvalidUrl(url.to_string());
        let rest = url
            .strip_prefix("s3://")
            .or_else(|| url.strip_prefix("S3://"))
            .ok_or_else(invalid)?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains(['\\', ' ']) {
            return Err(invalid());
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    pub fn object(&self, key: &str) -> S3Url {
        S3Url {
            bucket: self.bucket.clone(),
            key: key.to_string(),
        }
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Why an S3 operation failed, in terms a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum S3Error {
    #[error("invalid S3 location '{0}': expected s3://bucket/key")]
    InvalidUrl(String),
    #[error("S3 bucket '{0}' does not exist")]
    NoSuchBucket(String),
    #[error("access denied to S3 bucket '{bucket}': {detail}")]
    AccessDenied { bucket: String, detail: String },
    #[error("no S3 object found under '{0}'")]
    NoObjects(String),
    #[error("S3 object '{0}' does not exist")]
    NoSuchKey(String),
    #[error("cannot reach the S3 endpoint {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
    #[error("S3 request for '{url}' failed: {detail}")]
    Other { url: String, detail: String },
}

/// Requests are retried briefly: a wrong endpoint should fail in seconds, not minutes.
fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
    }
}

/// The store holding `bucket`, signed with `credentials` when they name keys, else with the
/// cluster's own.
pub fn bucket_store(
    config: &S3Config,
    bucket: &str,
    credentials: &S3Credentials,
) -> Result<Arc<dyn ObjectStore>, S3Error> {
    let Some(endpoint) = &config.endpoint else {
        let dir = config.local_root.join(bucket);
        if !dir.is_dir() {
            return Err(S3Error::NoSuchBucket(bucket.to_string()));
        }
        let store = LocalFileSystem::new_with_prefix(&dir).map_err(|e| S3Error::Other {
            url: format!("s3://{bucket}"),
            detail: e.to_string(),
        })?;
        return Ok(Arc::new(store));
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_bucket_name(bucket)
        .with_retry(retry());
    let credentials = if credentials.access_key_id.is_some() {
        credentials
    } else {
        &config.credentials
    };
    if let (Some(key), Some(secret)) = (&credentials.access_key_id, &credentials.secret_access_key) {
        builder = builder.with_access_key_id(key).with_secret_access_key(secret);
        if let Some(token) = &credentials.session_token {
            builder = builder.with_token(token);
        }
    }
    builder = builder.with_region(
        credentials
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into()),
    );
    let store = builder.build().map_err(|e| S3Error::Other {
        url: format!("s3://{bucket}"),
        detail: e.to_string(),
    })?;
    Ok(Arc::new(store))
}

/// The objects whose keys start with `url.key` (S3 prefix semantics: `data/part` matches
/// `data/part-0001` and `data/part/x`), in key order. No match is [`S3Error::NoObjects`].
pub async fn list_prefix(
    store: &Arc<dyn ObjectStore>,
    config: &S3Config,
    url: &S3Url,
) -> Result<Vec<ObjectMeta>, S3Error> {
    // object_store lists whole path segments, so list from the prefix's folder and filter.
    let folder = url.key.rsplit_once('/').map(|(folder, _)| folder).unwrap_or("");
    let listing = if folder.is_empty() {
        store.list(None)
    } else {
        store.list(Some(&Path::from(folder)))
    };
    let mut objects: Vec<ObjectMeta> = match listing.try_collect::<Vec<_>>().await {
        Ok(objects) => objects,
        // The embedded store reports a missing folder as not found; S3 lists nothing.
        Err(object_store::Error::NotFound { .. }) if config.endpoint.is_none() => Vec::new(),
        Err(e) => return Err(classify(e, config, url)),
    };
    objects.retain(|o| o.location.as_ref().starts_with(url.key.as_str()));
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    if objects.is_empty() {
        return Err(S3Error::NoObjects(url.to_string()));
    }
    Ok(objects)
}

/// The object at `url`'s listing entry (size), or [`S3Error::NoSuchKey`].
pub async fn head(store: &Arc<dyn ObjectStore>, config: &S3Config, url: &S3Url) -> Result<ObjectMeta, S3Error> {
    use object_store::ObjectStoreExt;
    store
        .head(&Path::from(url.key.as_str()))
        .await
        .map_err(|e| classify(e, config, url))
}

/// One store per bucket, built on first use: a load's files (a manifest may name several
/// buckets) share their clients.
pub struct Stores {
    pub config: S3Config,
    credentials: S3Credentials,
    stores: std::sync::Mutex<std::collections::HashMap<String, Arc<dyn ObjectStore>>>,
}

impl Stores {
    pub fn new(config: S3Config, credentials: S3Credentials) -> Stores {
        Stores {
            config,
            credentials,
            stores: Default::default(),
        }
    }

    pub fn get(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, S3Error> {
        let mut stores = self.stores.lock().unwrap();
        if let Some(store) = stores.get(bucket) {
            return Ok(Arc::clone(store));
        }
        let store = bucket_store(&self.config, bucket, &self.credentials)?;
        stores.insert(bucket.to_string(), Arc::clone(&store));
        Ok(store)
    }
}

/// The whole object at `url`.
pub async fn get(store: &Arc<dyn ObjectStore>, config: &S3Config, url: &S3Url) -> Result<bytes::Bytes, S3Error> {
    use object_store::ObjectStoreExt;
    let path = Path::from(url.key.as_str());
    let result = store.get(&path).await.map_err(|e| classify(e, config, url))?;
    result.bytes().await.map_err(|e| classify(e, config, url))
}

/// Bytes `range` of the object at `url`.
pub async fn get_range(
    store: &Arc<dyn ObjectStore>,
    config: &S3Config,
    url: &S3Url,
    range: std::ops::Range<u64>,
) -> Result<bytes::Bytes, S3Error> {
    use object_store::ObjectStoreExt;
    store
        .get_range(&Path::from(url.key.as_str()), range)
        .await
        .map_err(|e| classify(e, config, url))
}

/// Sorts an object_store failure into the cause a user can act on. S3's error code is in the
/// response body, which object_store keeps in the error's text.
pub fn classify(error: object_store::Error, config: &S3Config, url: &S3Url) -> S3Error {
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    let has = |code: &str| detail.contains(code);
    if has("NoSuchBucket") {
        return S3Error::NoSuchBucket(url.bucket.clone());
    }
    if has("AccessDenied")
        || has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("403 Forbidden")
        || matches!(error, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })
    {
        let reason = ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"]
            .into_iter()
            .find(|c| has(c))
            .unwrap_or("forbidden");
        return S3Error::AccessDenied {
            bucket: url.bucket.clone(),
            detail: reason.to_string(),
        };
    }
    if has("NoSuchKey") || matches!(error, object_store::Error::NotFound { .. }) {
        return S3Error::NoSuchKey(url.to_string());
    }
    if let Some(endpoint) = &config.endpoint
        && (has("error sending request") || has("onnection refused") || has("dns error") || has("timed out"))
    {
        return S3Error::Unreachable {
            endpoint: endpoint.clone(),
            detail: "connection failed".into(),
        };
    }
    S3Error::Other {
        url: url.to_string(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let url = S3Url::parse("s3://tpch/sf1/lineitem.csv").unwrap();
        assert_eq!(url.bucket, "tpch");
        assert_eq!(url.key, "sf1/lineitem.csv");
        assert_eq!(S3Url::parse("s3://b").unwrap().key, "");
        assert!(matches!(S3Url::parse("http://x/y"), Err(S3Error::InvalidUrl(_))));
        assert!(matches!(S3Url::parse("s3:///k"), Err(S3Error::InvalidUrl(_))));
    }

    #[tokio::test]
    async fn embedded_store_has_prefix_semantics() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("b/data/sub")).unwrap();
        for name in ["data/part-1", "data/part-2", "data/sub/x", "other"] {
            std::fs::write(root.path().join("b").join(name), name).unwrap();
        }
        let config = S3Config::new(None, root.path().to_path_buf());
        let store = bucket_store(&config, "b", &S3Credentials::default()).unwrap();
        let keys = |prefix: &str| {
            let store = Arc::clone(&store);
            let config = config.clone();
            let url = S3Url::parse(&format!("s3://b/{prefix}")).unwrap();
            async move {
                list_prefix(&store, &config, &url)
                    .await
                    .map(|v| v.into_iter().map(|o| o.location.to_string()).collect::<Vec<_>>())
            }
        };
        assert_eq!(keys("data/part").await.unwrap(), ["data/part-1", "data/part-2"]);
        assert_eq!(keys("data/").await.unwrap().len(), 3);
        assert_eq!(keys("").await.unwrap().len(), 4);
        assert!(matches!(keys("nothing/here").await, Err(S3Error::NoObjects(_))));
        let url = S3Url::parse("s3://b/data/part-2").unwrap();
        assert_eq!(&get(&store, &config, &url).await.unwrap()[..], b"data/part-2");
        assert!(matches!(
            bucket_store(&config, "missing", &S3Credentials::default()),
            Err(S3Error::NoSuchBucket(_))
        ));
    }
}
