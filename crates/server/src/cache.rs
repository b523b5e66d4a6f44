//! The cramfs-type media of live download links, built once per link: a cramfs type's
//! per-node `cramfs.img` takes seconds to build, and a download is asked for again by every
//! resumed or parallel range request. A medium is kept (its `cramfs.img` an unlinked temporary
//! file) until its link expires, or until room is needed: at most `max_media` media and
//! `max_bytes` bytes of temporary files, the least recently used going first. A dropped medium
//! stays readable by the transfers that still use it; only new requests build it again.

use bootmedium_media::PreparedMedium;
use bootmedium_plc::Fault;
use bootmedium_plc::fault::MethodResult;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::OnceCell;

pub(crate) struct MediaCache {
    max_media: usize,
    max_bytes: u64,
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    medium: Arc<OnceCell<Arc<PreparedMedium>>>,
    /// Epoch seconds after which the link is dead.
    expires: i64,
    /// Bytes of its temporary files (0 until built).
    bytes: u64,
    used: Instant,
}

impl MediaCache {
    pub(crate) fn new(max_media: usize, max_bytes: u64) -> Self {
        MediaCache { max_media, max_bytes, entries: Mutex::default() }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The medium of download `id`, built by `build` unless a live one is kept; concurrent
    /// requests for one link wait for one build. `None` when `build` says the link no longer
    /// comes out as issued.
    pub(crate) async fn get_or_build(
        &self,
        id: &str,
        expires: i64,
        build: impl FnOnce() -> MethodResult<Option<PreparedMedium>>,
    ) -> MethodResult<Option<Arc<PreparedMedium>>> {
        if self.max_media == 0 {
            return Ok(build()?.map(Arc::new));
        }
        let cell = {
            let mut entries = self.lock();
            let now = bootmedium_plc::now();
            entries.retain(|_, e| e.expires >= now);
            let entry = entries.entry(id.to_owned()).or_insert_with(|| Entry {
                medium: Arc::new(OnceCell::new()),
                expires,
                bytes: 0,
                used: Instant::now(),
            });
            entry.used = Instant::now();
            Arc::clone(&entry.medium)
        };
        let built = cell
            .get_or_try_init(|| async {
                match build() {
                    Ok(Some(m)) => Ok(Arc::new(m)),
                    Ok(None) => Err(None),
                    Err(f) => Err(Some(f)),
                }
            })
            .await
            .cloned();
        match built {
            Ok(medium) => {
                self.keep(id, medium.slot_file_bytes());
                Ok(Some(medium))
            }
            Err(e) => {
                self.lock().remove(id);
                e.map_or(Ok(None), Err::<_, Fault>)
            }
        }
    }

    /// Records a built medium's size and drops the least recently used others until the bounds
    /// hold. The medium just used stays even when it alone is over the byte bound: dropping it
    /// would make every request for its link build it again.
    fn keep(&self, id: &str, bytes: u64) {
        let mut entries = self.lock();
        if let Some(e) = entries.get_mut(id) {
            e.bytes = bytes;
        }
        loop {
            let total: u64 = entries.values().map(|e| e.bytes).sum();
            if entries.len() <= self.max_media && total <= self.max_bytes {
                break;
            }
            let oldest = entries.iter().filter(|(k, _)| *k != id).min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone());
            let Some(oldest) = oldest else {
                tracing::warn!(
                    bytes,
                    max_bytes = self.max_bytes,
                    "a download medium alone exceeds download_cache_bytes"
                );
                break;
            };
            entries.remove(&oldest);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_build_is_not_kept() {
        let cache = MediaCache::new(4, 1 << 30);
        let far = bootmedium_plc::now() + 3600;
        assert!(cache.get_or_build("a", far, || Ok(None)).await.unwrap().is_none());
        assert!(cache.get_or_build("b", far, || Err(Fault::internal("x"))).await.is_err());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_medium_just_used_is_kept_even_alone_over_the_byte_bound() {
        let cache = MediaCache::new(4, 100);
        let far = bootmedium_plc::now() + 3600;
        for id in ["old", "new"] {
            let entry = Entry { medium: Arc::new(OnceCell::new()), expires: far, bytes: 0, used: Instant::now() };
            cache.lock().insert(id.to_owned(), entry);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        cache.keep("old", 60);
        cache.keep("new", 500);
        let entries = cache.lock();
        assert!(entries.contains_key("new") && !entries.contains_key("old"), "{:?}", entries.keys());
    }
}
