//! Per-service progress rows: indicatif bars on a terminal, plain lines
//! when piped. Only the terminal reporter (`ui::report`) draws them.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use super::{Output, Tone};

pub struct Progress {
    out: Output,
    multi: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
    spinner: ProgressStyle,
    width: usize,
    // Plain lines from concurrent tasks must not interleave mid-line.
    plain: Mutex<()>,
}

impl Progress {
    pub fn new(out: Output, names: &[String]) -> Progress {
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let live = !out.json && std::io::stderr().is_terminal();
        let spinner = ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let (multi, bars) = if live {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = spinner.clone();
            let bars = names
                .iter()
                .map(|n| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(format!("{n:width$}"));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    (n.clone(), bar)
                })
                .collect();
            (Some(multi), bars)
        } else {
            (None, HashMap::new())
        };
        Progress {
            out,
            multi,
            bars,
            spinner,
            width,
            plain: Mutex::new(()),
        }
    }

    /// A running status for `name` (replaced by the next one).
    pub fn status(&self, name: &str, text: &str) {
        match self.bars.get(name) {
            Some(bar) => {
                if bar.is_finished() {
                    return;
                }
                bar.set_style(self.spinner.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message(text.to_string());
            }
            None => self.line(name, text),
        }
    }

    /// A state that lasts until the next status (the watch loop's "up to
    /// date", "failed"): no spinner, the bar stays for the next change.
    pub fn settle(&self, name: &str, tone: Tone, text: &str) {
        match self.bars.get(name) {
            Some(bar) => {
                bar.disable_steady_tick();
                bar.set_style(
                    ProgressStyle::with_template("  {prefix:.bold} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(self.out.paint(tone, text));
            }
            None => self.line(name, &self.out.paint(tone, text)),
        }
    }

    /// A lasting message above the bars (a warning, a note).
    pub fn note(&self, name: &str, tone: Tone, text: &str) {
        let line = format!(
            "{:w$}  {}",
            name,
            self.out.paint(tone, text),
            w = self.width
        );
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => self.raw(&line),
        }
    }

    /// The final word for `name`.
    pub fn finish(&self, name: &str, tone: Tone, text: &str) {
        match self.bars.get(name) {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("  {prefix:.bold} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.finish_with_message(self.out.paint(tone, text));
            }
            None => self.line(name, &self.out.paint(tone, text)),
        }
    }

    fn line(&self, name: &str, text: &str) {
        self.raw(&format!("{:w$}  {text}", name, w = self.width));
    }

    fn raw(&self, line: &str) {
        let _guard = self.plain.lock();
        eprintln!("{line}");
    }
}

/// `{"event": name, ...fields}`.
pub fn event(name: &str, fields: Value) -> Value {
    let mut v = json!({ "event": name });
    if let (Value::Object(m), Value::Object(f)) = (&mut v, fields) {
        m.extend(f);
    }
    v
}
