//! The status page as `watch` and `up --ui` open it (not a subcommand: the
//! part of both that is the same). The page is a second reporter beside the
//! terminal's, served before the engine starts so `up`'s builds show on it;
//! its buttons come back as [`Ask`]s, acted on here through the loop's
//! [`Rebuilds`].

use std::sync::Arc;

use tokio::sync::mpsc;

use super::CommandError;
use crate::pipeline::event::{Event, Events};
use crate::pipeline::rebuild::{Rebuilds, Request};
use crate::pipeline::{attach, Engine};
use crate::project::Project;
use crate::ui::page::{self, last_verify, Ask, Page, Serving};

/// The page being served, and what its buttons ask.
pub struct Live {
    pub page: Arc<Page>,
    pub asks: mpsc::UnboundedReceiver<Ask>,
    _serving: Serving,
    _verify: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `verify` run in another terminal keeps its result: the page shows the
/// newest one (checked each second; the file is small).
async fn follow_verify(page: Arc<Page>, root: std::path::PathBuf) {
    let mut seen = None;
    loop {
        let kept = tokio::task::spawn_blocking({
            let root = root.clone();
            move || last_verify::read_if_newer(&root, seen)
        })
        .await;
        if let Ok(Some((changed, view))) = kept {
            seen = Some(changed);
            page.verified(view);
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Serves the page on 127.0.0.1:`port`, says where, and returns the events
/// that reach both the terminal's reporter and the page.
pub async fn open(
    project: &Project,
    events: &Events,
    port: u16,
) -> Result<(Events, Live), CommandError> {
    let services: Vec<_> = project.services.iter().map(|s| s.name).collect();
    let page = Page::new(&services);
    let (tx, asks) = mpsc::unbounded_channel();
    let serving = page::serve(page.clone(), tx, port).await.map_err(|e| {
        CommandError::failed(anyhow::anyhow!(
            "cannot serve the status page on 127.0.0.1:{port}: {e}\n  help: pick another port with --ui-port, or --no-ui"
        ))
    })?;
    events.emit(Event::PageServing {
        url: serving.url.clone(),
        moved_from: serving.moved_from,
    });
    let both = events.tee(page.clone());
    let verify = tokio::spawn(follow_verify(page.clone(), project.root.clone()));
    Ok((
        both,
        Live {
            page,
            asks,
            _serving: serving,
            _verify: AbortOnDrop(verify),
        },
    ))
}

impl Live {
    /// After `up`: the cluster's secret values are masked from here on, and
    /// the services' logs follow into the page (into the terminal too only
    /// with `--logs`, whose follow already feeds both).
    pub async fn attach(
        &self,
        engine: &Engine,
        also_on_terminal: bool,
    ) -> Result<Option<tokio::task::JoinHandle<()>>, CommandError> {
        self.page.mask(&engine.secret_values().await);
        if also_on_terminal {
            return Ok(None);
        }
        let streams = engine.streams().await?;
        let services: Vec<_> = engine.project.services.iter().map(|s| s.name).collect();
        Ok(Some(attach::follow_logs_in_background(
            streams,
            attach::log_sources(&engine.project, &services),
            Events::new(self.page.clone()),
        )))
    }
}

/// A button's ask, handed to the loop.
pub fn act_on(rebuilds: &mut Rebuilds, ask: Ask) {
    match ask {
        Ask::Rebuild(service) => rebuilds.request(Request::rebuild(service)),
        Ask::Restart(service) => rebuilds.restart(service),
        Ask::Verify => rebuilds.verify(),
    }
}
