//! Files as MTOM attachments for `soapwire call`: `--attach NAME=FILE` streams a file into a
//! request, `--save-attachments DIR` streams a reply's attachments into files. Both show a
//! progress bar (on a terminal) for transfers that last more than a second.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use soapwire::Message;
use tokio::io::AsyncWriteExt as _;

/// How long a transfer runs before its progress bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A progress bar that stays hidden for the first second of a transfer, so short calls
/// print nothing but their result.
pub(crate) struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
}

impl Progress {
    /// A bar for `what`, `total` bytes if known.
    pub(crate) fn new(what: &str, total: Option<u64>) -> Progress {
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
        };
        let template = if total.is_some() {
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{msg} {bytes} {bytes_per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Progress { bar, started: Instant::now(), shown: false }
    }

    /// Counts `n` more bytes.
    pub(crate) fn advance(&mut self, n: u64) {
        self.bar.inc(n);
        if !self.shown && self.started.elapsed() >= SHOW_AFTER {
            self.shown = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Ends the bar (clears it if it was never shown).
    pub(crate) fn finish(&self) {
        if self.shown {
            self.bar.finish();
        }
    }
}

/// A byte stream that reports its progress.
struct Counted<S> {
    inner: S,
    progress: Progress,
}

impl<S: futures_core::Stream<Item = std::io::Result<Bytes>> + Unpin> futures_core::Stream for Counted<S> {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                let n = chunk.len() as u64;
                self.progress.advance(n);
            }
            Poll::Ready(None) => self.progress.finish(),
            _ => {}
        }
        polled
    }
}

/// `--attach NAME=FILE`: adds FILE to `request` as the MTOM part with Content-ID NAME,
/// streamed from disk as the connection takes it.
pub(crate) async fn attach_file(request: &mut Message, spec: &str) -> anyhow::Result<()> {
    let (name, path) = spec.split_once('=').with_context(|| format!("--attach {spec:?}: expected NAME=FILE"))?;
    if name.is_empty() {
        anyhow::bail!("--attach {spec:?}: the Content-ID NAME is empty");
    }
    let file = tokio::fs::File::open(path).await.with_context(|| format!("opening {path}"))?;
    let size = file.metadata().await.ok().map(|m| m.len());
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    let progress = Progress::new(&format!("sending {name}"), size);
    request.add_attachment_stream(name, "application/octet-stream", Counted { inner: stream, progress });
    Ok(())
}

/// A file name for a Content-ID: characters outside `[A-Za-z0-9._@-]` become `_`, and a
/// name that would be empty or hidden gets a prefix.
pub(crate) fn file_name_for(content_id: &str) -> String {
    let mut name: String = content_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') { c } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert_str(0, "part");
    }
    name
}

/// `--save-attachments DIR`: streams every attachment of `reply` into a file in `dir`,
/// printing `saved PATH (N bytes)` to stderr for each.
pub(crate) async fn save_attachments(reply: &Message, dir: &Path) -> Result<(), crate::CallError> {
    let local = |e: anyhow::Error| crate::CallError::Local(e);
    tokio::fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display())).map_err(local)?;
    while let Some(mut attachment) = reply.next_attachment().await? {
        let path: PathBuf = dir.join(file_name_for(attachment.content_id()));
        let mut file = tokio::fs::File::create(&path)
            .await
            .with_context(|| format!("creating {}", path.display()))
            .map_err(local)?;
        let mut progress = Progress::new(&format!("receiving {}", attachment.content_id()), None);
        while let Some(chunk) = attachment.next_chunk().await? {
            file.write_all(&chunk).await.with_context(|| format!("writing {}", path.display())).map_err(local)?;
            progress.advance(chunk.len() as u64);
        }
        file.flush().await.with_context(|| format!("writing {}", path.display())).map_err(local)?;
        progress.finish();
        eprintln!("saved {} ({} bytes)", path.display(), attachment.bytes_received());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_become_safe_file_names() {
        assert_eq!(file_name_for("id1@soapwire"), "id1@soapwire");
        assert_eq!(file_name_for("../../etc/passwd"), "part.._.._etc_passwd");
        assert_eq!(file_name_for("a b<c>"), "a_b_c_");
        assert_eq!(file_name_for(""), "part");
    }
}
