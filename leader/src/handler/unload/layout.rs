//! What is already under an UNLOAD's prefix, and what may happen to it: by default UNLOAD refuses
//! to replace objects it could have written (naming them), CLEANPATH deletes everything under the
//! prefix first, and a failed UNLOAD removes the files it completed before failing, so that only
//! a whole output is ever left behind.

use std::sync::Arc;

use blueshift_compute::s3::{self, S3Config, S3Error, S3Url};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore};

use crate::error::{Error, Result, SqlState};

/// Objects whose keys start with the prefix (none is not an error here).
pub async fn existing(store: &Arc<dyn ObjectStore>, config: &S3Config, url: &S3Url) -> Result<Vec<ObjectMeta>> {
    match s3::list_prefix(store, config, url).await {
        Ok(objects) => Ok(objects),
        Err(S3Error::NoObjects(_)) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Whether the rest of a key after the prefix is a name this UNLOAD could write: a slice's part
/// (`0000_part_00...`), a serial part (`000...`), the manifest, or a partition folder.
fn could_write(rest: &str, partition_by: &[String], manifest: bool) -> bool {
    let digits = |s: &str, n: usize| s.len() >= n && s[..n].bytes().all(|b| b.is_ascii_digit());
    let folder = rest.trim_start_matches('/');
    (digits(rest, 4) && rest[4..].starts_with("_part_"))
        || digits(rest, 3)
        || (manifest && rest == "manifest")
        || partition_by.first().is_some_and(|c| folder.starts_with(&format!("{c}=")))
}

/// Refuses to go on when existing objects could be overwritten, naming a few of them.
pub fn refuse_overwrite(existing: &[ObjectMeta], url: &S3Url, partition_by: &[String], manifest: bool) -> Result<()> {
    let clashes: Vec<String> = existing
        .iter()
        .filter(|o| {
            let key = o.location.as_ref();
            key.strip_prefix(url.key.as_str()).is_some_and(|rest| could_write(rest, partition_by, manifest))
        })
        .map(|o| format!("s3://{}/{}", url.bucket, o.location))
        .collect();
    if clashes.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = clashes.iter().take(3).map(String::as_str).collect();
    let more = if clashes.len() > shown.len() { format!(" and {} more", clashes.len() - shown.len()) } else { String::new() };
    Err(Error::new(
        SqlState::DuplicateObject,
        format!(
            "UNLOAD would overwrite existing files: {}{more}. Use ALLOWOVERWRITE to replace them or CLEANPATH to remove them first",
            shown.join(", ")
        ),
    ))
}

/// Deletes `objects` (CLEANPATH, or cleaning up after a failure).
pub async fn delete(store: &Arc<dyn ObjectStore>, config: &S3Config, url: &S3Url, objects: Vec<ObjectMeta>) -> Result<()> {
    let locations = futures::stream::iter(objects.into_iter().map(|o| Ok(o.location))).boxed();
    store
        .delete_stream(locations)
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| Error::from(s3::classify(e, config, url)))?;
    Ok(())
}

/// After a failure: deletes the objects under the prefix that this UNLOAD created or replaced.
pub async fn remove_written(store: &Arc<dyn ObjectStore>, config: &S3Config, url: &S3Url, before: &[ObjectMeta]) {
    let Ok(now) = existing(store, config, url).await else {
        return;
    };
    let written: Vec<ObjectMeta> = now
        .into_iter()
        .filter(|o| !before.iter().any(|b| b.location == o.location && b.e_tag == o.e_tag && b.last_modified == o.last_modified))
        .collect();
    if let Err(e) = delete(store, config, url, written).await {
        tracing::warn!("cannot remove the files of a failed UNLOAD under {url}: {e}");
    }
}

/// Checks that an UNLOAD's query has no LIMIT in its outermost SELECT, as Redshift requires.
pub fn refuse_outer_limit(query: &sqlparser::ast::Query) -> Result<()> {
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return Err(Error::new(
            SqlState::FeatureNotSupported,
            "Limit clause is not supported in the outer SELECT of an UNLOAD query; \
             put it in a subquery: SELECT * FROM (SELECT ... LIMIT n)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_an_unload_could_write() {
        let partitions = ["year".to_string()];
        assert!(could_write("0000_part_00", &[], false));
        assert!(could_write("0012_part_03.parquet.gz", &[], false));
        assert!(could_write("000", &[], false));
        assert!(could_write("012.gz", &[], false));
        assert!(could_write("manifest", &[], true));
        assert!(!could_write("manifest", &[], false));
        assert!(could_write("/year=2019/0000_part_00", &partitions, false));
        assert!(could_write("year=__HIVE_DEFAULT_PARTITION__/000", &partitions, false));
        assert!(!could_write("notes.txt", &partitions, true));
        assert!(!could_write("01", &[], false));
    }
}
