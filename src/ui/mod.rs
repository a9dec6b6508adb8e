//! Terminal output: colour when wanted, plain otherwise, JSON on request.

pub mod page;
pub mod progress;
pub mod report;

use std::io::IsTerminal;

/// How this run prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub color: bool,
    pub verbose: u8,
}

impl Output {
    /// Colour only on a terminal, and never with --no-color or NO_COLOR set
    /// (https://no-color.org: any non-empty value).
    pub fn new(json: bool, no_color: bool, verbose: u8) -> Output {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Output {
            json,
            color: !json && !no_color && !no_color_env && std::io::stdout().is_terminal(),
            verbose,
        }
    }

    pub fn paint(&self, tone: Tone, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match tone {
            Tone::Good => "32",
            Tone::Warn => "33",
            Tone::Bad => "31",
            Tone::Dim => "2",
            Tone::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Prints a value as pretty JSON on stdout.
    pub fn print_json<T: serde::Serialize>(&self, value: &T) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(value)?);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Dim,
    Bold,
}
