//! What patternmatcher's generated expressions can reach of Go's `regexp`
//! (RE2 syntax, `syntax.Perl` flags): literals and escapes, classes with
//! ranges, negation, Perl (`\d`) and POSIX (`[:alpha:]`) groups, `.`, `^`,
//! `$`, `\A`, `\z`, `\b`, `\B`, `\Q...\E`, groups, `*`, `+` and `?`.
//! Unicode groups (`\pL`) are refused rather than guessed.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Syntax { code: &'static str, expr: String },
    Unsupported(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax { code, expr } => write!(f, "error parsing regexp: {code}: `{expr}`"),
            Error::Unsupported(what) => write!(f, "{what} is not supported"),
        }
    }
}

const INVALID_CHAR_CLASS_RANGE: &str = "invalid character class range";
const INVALID_ESCAPE: &str = "invalid escape sequence";
const INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
const INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
const MISSING_BRACKET: &str = "missing closing ]";
const MISSING_PAREN: &str = "missing closing )";
const MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
const TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
const UNEXPECTED_PAREN: &str = "unexpected )";

const MAX_RUNE: u32 = 0x10ffff;

/// Inclusive (lo, hi) code point ranges.
type Ranges = Vec<(u32, u32)>;

fn syntax(code: &'static str, expr: &str) -> Error {
    Error::Syntax {
        code,
        expr: expr.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assertion {
    BeginText,
    EndText,
    WordBoundary,
    NoWordBoundary,
}

#[derive(Debug, Clone)]
enum Node {
    Literal(u32),
    Class(Ranges),
    AnyCharNotNl,
    Assert(Assertion),
    Star(Box<Node>),
    Plus(Box<Node>),
    Quest(Box<Node>),
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
}

#[derive(Debug, Clone)]
enum Inst {
    Rune(u32),
    Class(Ranges),
    AnyCharNotNl,
    Assert(Assertion),
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// A compiled expression, matched like Go's `Regexp.MatchString`.
#[derive(Debug, Clone)]
pub struct Regexp {
    prog: Vec<Inst>,
}

/// One open group: finished alternatives and the current concatenation.
#[derive(Default)]
struct Frame {
    alternatives: Vec<Node>,
    items: Vec<Node>,
}

impl Frame {
    fn finish(mut self) -> Node {
        self.alternatives.push(Node::Concat(self.items));
        match self.alternatives.len() {
            1 => self.alternatives.swap_remove(0),
            _ => Node::Alternate(self.alternatives),
        }
    }
}

impl Regexp {
    pub fn new(expr: &str) -> Result<Regexp, Error> {
        let node = parse(expr)?;
        let mut prog = Vec::new();
        emit(&node, &mut prog);
        prog.push(Inst::Match);
        Ok(Regexp { prog })
    }

    /// Whether the expression matches anywhere in `s` (a Pike VM).
    pub fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let mut current = Threads::new(self.prog.len());
        let mut next = Threads::new(self.prog.len());
        for pos in 0..=chars.len() {
            if self.add(&mut current, 0, pos, &chars) {
                return true;
            }
            let Some(&c) = chars.get(pos) else {
                break;
            };
            next.clear();
            for &pc in &current.pcs {
                let steps = match &self.prog[pc] {
                    Inst::Rune(r) => *r == c as u32,
                    Inst::Class(ranges) => in_class(ranges, c as u32),
                    Inst::AnyCharNotNl => c != '\n',
                    _ => false,
                };
                if steps && self.add(&mut next, pc + 1, pos + 1, &chars) {
                    return true;
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        false
    }

    /// Adds the thread at `pc` and everything reachable without reading a
    /// character; true when that reaches a match.
    fn add(&self, list: &mut Threads, pc: usize, pos: usize, chars: &[char]) -> bool {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if list.on[pc] {
                continue;
            }
            list.on[pc] = true;
            match &self.prog[pc] {
                Inst::Jmp(to) => stack.push(*to),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Assert(a) => {
                    if holds(*a, pos, chars) {
                        stack.push(pc + 1);
                    }
                }
                Inst::Match => return true,
                _ => list.pcs.push(pc),
            }
        }
        false
    }
}

struct Threads {
    pcs: Vec<usize>,
    on: Vec<bool>,
}

impl Threads {
    fn new(n: usize) -> Threads {
        Threads {
            pcs: Vec::new(),
            on: vec![false; n],
        }
    }

    fn clear(&mut self) {
        self.pcs.clear();
        self.on.iter_mut().for_each(|b| *b = false);
    }
}

fn holds(a: Assertion, pos: usize, chars: &[char]) -> bool {
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_');
    let before = if pos == 0 { None } else { chars.get(pos - 1) };
    let after = chars.get(pos);
    match a {
        Assertion::BeginText => pos == 0,
        Assertion::EndText => pos == chars.len(),
        Assertion::WordBoundary => word(before) != word(after),
        Assertion::NoWordBoundary => word(before) == word(after),
    }
}

fn in_class(ranges: &[(u32, u32)], c: u32) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

fn emit(node: &Node, prog: &mut Vec<Inst>) {
    match node {
        Node::Literal(r) => prog.push(Inst::Rune(*r)),
        Node::Class(ranges) => prog.push(Inst::Class(ranges.clone())),
        Node::AnyCharNotNl => prog.push(Inst::AnyCharNotNl),
        Node::Assert(a) => prog.push(Inst::Assert(*a)),
        Node::Concat(items) => items.iter().for_each(|n| emit(n, prog)),
        Node::Star(sub) => {
            let split = prog.len();
            prog.push(Inst::Split(0, 0));
            emit(sub, prog);
            prog.push(Inst::Jmp(split));
            prog[split] = Inst::Split(split + 1, prog.len());
        }
        Node::Plus(sub) => {
            let start = prog.len();
            emit(sub, prog);
            prog.push(Inst::Split(start, prog.len() + 1));
        }
        Node::Quest(sub) => {
            let split = prog.len();
            prog.push(Inst::Split(0, 0));
            emit(sub, prog);
            prog[split] = Inst::Split(split + 1, prog.len());
        }
        Node::Alternate(alts) => {
            let mut jumps = Vec::new();
            for (i, alt) in alts.iter().enumerate() {
                if i + 1 == alts.len() {
                    emit(alt, prog);
                } else {
                    let split = prog.len();
                    prog.push(Inst::Split(0, 0));
                    emit(alt, prog);
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    prog[split] = Inst::Split(split + 1, prog.len());
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
    }
}

/// Go's regexp/syntax parse loop for the reachable syntax.
fn parse(whole: &str) -> Result<Node, Error> {
    let mut frames = vec![Frame::default()];
    let mut t = whole;
    let mut last_repeat: Option<&str> = None;
    while let Some(c) = t.chars().next() {
        let mut repeat = None;
        let top = frames.len() - 1;
        match c {
            '(' => {
                if t[1..].starts_with('?') {
                    // Flags and named groups: patternmatcher always escapes `(`.
                    return Err(syntax(INVALID_PERL_OP, &t[..2]));
                }
                frames.push(Frame::default());
                t = &t[1..];
            }
            '|' => {
                let items = std::mem::take(&mut frames[top].items);
                frames[top].alternatives.push(Node::Concat(items));
                t = &t[1..];
            }
            ')' => {
                if frames.len() < 2 {
                    return Err(syntax(UNEXPECTED_PAREN, whole));
                }
                let group = frames.pop().map(Frame::finish);
                frames[top - 1].items.extend(group);
                t = &t[1..];
            }
            '^' => {
                frames[top].items.push(Node::Assert(Assertion::BeginText));
                t = &t[1..];
            }
            '$' => {
                frames[top].items.push(Node::Assert(Assertion::EndText));
                t = &t[1..];
            }
            '.' => {
                frames[top].items.push(Node::AnyCharNotNl);
                t = &t[1..];
            }
            '[' => {
                let (class, rest) = parse_class(t)?;
                frames[top].items.push(class);
                t = rest;
            }
            '*' | '+' | '?' => {
                let before = t;
                let mut after = &t[1..];
                // Non-greedy: the same language.
                if after.starts_with('?') {
                    after = &after[1..];
                }
                if let Some(last) = last_repeat {
                    return Err(syntax(INVALID_REPEAT_OP, &last[..last.len() - after.len()]));
                }
                let Some(sub) = frames[top].items.pop() else {
                    return Err(syntax(
                        MISSING_REPEAT_ARGUMENT,
                        &before[..before.len() - after.len()],
                    ));
                };
                let sub = Box::new(sub);
                frames[top].items.push(match c {
                    '*' => Node::Star(sub),
                    '+' => Node::Plus(sub),
                    _ => Node::Quest(sub),
                });
                repeat = Some(before);
                t = after;
            }
            '\\' => {
                let (nodes, rest) = parse_backslash(t)?;
                frames[top].items.extend(nodes);
                t = rest;
            }
            // `{` is literal here: patternmatcher escapes every `{`, so no
            // counted repetition can reach this parser.
            _ => {
                frames[top].items.push(Node::Literal(c as u32));
                t = &t[c.len_utf8()..];
            }
        }
        last_repeat = repeat;
    }
    if frames.len() != 1 {
        return Err(syntax(MISSING_PAREN, whole));
    }
    Ok(frames
        .pop()
        .map_or_else(|| Node::Concat(Vec::new()), Frame::finish))
}

/// A backslash outside a class: assertions, `\Q...\E`, Perl groups, escapes.
fn parse_backslash(t: &str) -> Result<(Vec<Node>, &str), Error> {
    let b = t.as_bytes();
    if b.len() >= 2 {
        let assertion = match b[1] {
            b'A' => Some(Assertion::BeginText),
            b'b' => Some(Assertion::WordBoundary),
            b'B' => Some(Assertion::NoWordBoundary),
            b'z' => Some(Assertion::EndText),
            _ => None,
        };
        if let Some(a) = assertion {
            return Ok((vec![Node::Assert(a)], &t[2..]));
        }
        match b[1] {
            b'C' => return Err(syntax(INVALID_ESCAPE, &t[..2])),
            b'Q' => {
                // Everything up to `\E` (or the end, the trailing `$` too) is literal.
                let rest = &t[2..];
                let (lit, after) = match rest.find("\\E") {
                    Some(i) => (&rest[..i], &rest[i + 2..]),
                    None => (rest, ""),
                };
                return Ok((
                    lit.chars().map(|c| Node::Literal(c as u32)).collect(),
                    after,
                ));
            }
            b'p' | b'P' => return Err(unicode_class(t)),
            _ => {}
        }
    }
    if let Some((ranges, rest)) = perl_class(t) {
        return Ok((vec![Node::Class(ranges)], rest));
    }
    let (r, rest) = parse_escape(t)?;
    Ok((vec![Node::Literal(r)], rest))
}

fn unicode_class(t: &str) -> Error {
    let end = if t[2..].starts_with('{') {
        t.find('}').map_or(t.len(), |i| i + 1)
    } else {
        t.char_indices().nth(3).map_or(t.len(), |(i, _)| i)
    };
    Error::Unsupported(format!("the Unicode class `{}`", &t[..end]))
}

/// parseClass: `s` starts with `[`.
fn parse_class(s: &str) -> Result<(Node, &str), Error> {
    let mut t = &s[1..];
    let negated = t.starts_with('^');
    if negated {
        t = &t[1..];
    }
    let mut ranges = Vec::new();
    // `]` is a member when it comes first.
    let mut first = true;
    while t.is_empty() || !t.starts_with(']') || first {
        first = false;
        if t.len() > 2 && t.starts_with("[:") {
            if let Some((group, rest)) = posix_class(t)? {
                ranges.extend(group);
                t = rest;
                continue;
            }
        }
        if t.starts_with("\\p") || t.starts_with("\\P") {
            return Err(unicode_class(t));
        }
        if let Some((group, rest)) = perl_class(t) {
            ranges.extend(group);
            t = rest;
            continue;
        }
        let range_start = t;
        let (lo, rest) = parse_class_char(t, s)?;
        t = rest;
        let mut hi = lo;
        // `[a-]` is `a` and `-`.
        if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
            let (h, rest) = parse_class_char(&t[1..], s)?;
            t = rest;
            hi = h;
            if hi < lo {
                let expr = &range_start[..range_start.len() - t.len()];
                return Err(syntax(INVALID_CHAR_CLASS_RANGE, expr));
            }
        }
        ranges.push((lo, hi));
    }
    t = &t[1..];
    let ranges = if negated { negate(ranges) } else { ranges };
    Ok((Node::Class(ranges), t))
}

fn parse_class_char<'a>(s: &'a str, whole_class: &str) -> Result<(u32, &'a str), Error> {
    match s.chars().next() {
        None => Err(syntax(MISSING_BRACKET, whole_class)),
        Some('\\') => parse_escape(s),
        Some(c) => Ok((c as u32, &s[c.len_utf8()..])),
    }
}

/// parseEscape: `s` starts with a backslash.
fn parse_escape(s: &str) -> Result<(u32, &str), Error> {
    let t = &s[1..];
    let Some(c) = t.chars().next() else {
        return Err(syntax(TRAILING_BACKSLASH, ""));
    };
    let mut t = &t[c.len_utf8()..];
    let invalid = |t: &str| syntax(INVALID_ESCAPE, &s[..s.len() - t.len()]);
    let is_octal = |t: &str| {
        t.as_bytes()
            .first()
            .is_some_and(|b| (b'0'..=b'7').contains(b))
    };
    match c {
        // A lone `\1`..`\7` would be a backreference, which RE2 refuses.
        '1'..='7' if !is_octal(t) => Err(invalid(t)),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                if !is_octal(t) {
                    break;
                }
                r = r * 8 + u32::from(t.as_bytes()[0] - b'0');
                t = &t[1..];
            }
            Ok((r, t))
        }
        'x' => {
            let Some(c) = t.chars().next() else {
                return Err(invalid(t));
            };
            t = &t[c.len_utf8()..];
            if c == '{' {
                let mut r: u32 = 0;
                let mut digits = 0;
                loop {
                    let Some(c) = t.chars().next() else {
                        return Err(invalid(t));
                    };
                    t = &t[c.len_utf8()..];
                    if c == '}' {
                        break;
                    }
                    let Some(v) = c.to_digit(16) else {
                        return Err(invalid(t));
                    };
                    r = r * 16 + v;
                    if r > MAX_RUNE {
                        return Err(invalid(t));
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return Err(invalid(t));
                }
                return Ok((r, t));
            }
            let Some(y) = t.chars().next() else {
                return Err(invalid(t));
            };
            t = &t[y.len_utf8()..];
            match (c.to_digit(16), y.to_digit(16)) {
                (Some(x), Some(y)) => Ok((x * 16 + y, t)),
                _ => Err(invalid(t)),
            }
        }
        'a' => Ok((7, t)),
        'f' => Ok((12, t)),
        'n' => Ok((10, t)),
        'r' => Ok((13, t)),
        't' => Ok((9, t)),
        'v' => Ok((11, t)),
        // Escaped punctuation is itself; letters, digits and non-ASCII are errors.
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c as u32, t)),
        _ => Err(invalid(t)),
    }
}

const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
const SPACE_PERL: &[(u32, u32)] = &[(0x9, 0xa), (0xc, 0xd), (0x20, 0x20)];
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a)];

/// `\d`, `\D`, `\s`, `\S`, `\w`, `\W` (ASCII, as in RE2).
fn perl_class(t: &str) -> Option<(Ranges, &str)> {
    let b = t.as_bytes();
    if b.len() < 2 || b[0] != b'\\' {
        return None;
    }
    let (group, negated) = match b[1] {
        b'd' => (DIGIT, false),
        b'D' => (DIGIT, true),
        b's' => (SPACE_PERL, false),
        b'S' => (SPACE_PERL, true),
        b'w' => (WORD, false),
        b'W' => (WORD, true),
        _ => return None,
    };
    Some((group_ranges(group, negated), &t[2..]))
}

/// `[:alpha:]` and friends, `[:^alpha:]` negated; `t` starts with `[:`.
fn posix_class(t: &str) -> Result<Option<(Ranges, &str)>, Error> {
    let Some(i) = t[2..].find(":]") else {
        return Ok(None);
    };
    let end = i + 4;
    let name = &t[..end];
    let (inner, negated) = match name[2..name.len() - 2].strip_prefix('^') {
        Some(inner) => (inner, true),
        None => (&name[2..name.len() - 2], false),
    };
    let group: &[(u32, u32)] = match inner {
        "alnum" => &[(0x30, 0x39), (0x41, 0x5a), (0x61, 0x7a)],
        "alpha" => &[(0x41, 0x5a), (0x61, 0x7a)],
        "ascii" => &[(0x0, 0x7f)],
        "blank" => &[(0x9, 0x9), (0x20, 0x20)],
        "cntrl" => &[(0x0, 0x1f), (0x7f, 0x7f)],
        "digit" => DIGIT,
        "graph" => &[(0x21, 0x7e)],
        "lower" => &[(0x61, 0x7a)],
        "print" => &[(0x20, 0x7e)],
        "punct" => &[(0x21, 0x2f), (0x3a, 0x40), (0x5b, 0x60), (0x7b, 0x7e)],
        "space" => &[(0x9, 0xd), (0x20, 0x20)],
        "upper" => &[(0x41, 0x5a)],
        "word" => WORD,
        "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        _ => return Err(syntax(INVALID_CHAR_CLASS_RANGE, name)),
    };
    Ok(Some((group_ranges(group, negated), &t[end..])))
}

fn group_ranges(group: &[(u32, u32)], negated: bool) -> Ranges {
    if negated {
        negate(group.to_vec())
    } else {
        group.to_vec()
    }
}

/// The complement of a set of ranges within 0..=U+10FFFF.
fn negate(mut ranges: Ranges) -> Ranges {
    ranges.sort_unstable();
    let mut out = Vec::new();
    let mut next_lo = 0u32;
    for (lo, hi) in ranges {
        if lo > next_lo {
            out.push((next_lo, lo - 1));
        }
        next_lo = next_lo.max(hi.saturating_add(1));
    }
    if next_lo <= MAX_RUNE {
        out.push((next_lo, MAX_RUNE));
    }
    out
}
