//! The matcher against moby's own tables (patternmatcher, ignorefile, filepath).

use super::pattern::{compile, MatchType};
use super::regexp as go_regexp;
use super::*;

/// patternmatcher.New over plain patterns (no ReadAll).
fn new(patterns: &[&str]) -> Result<DockerIgnore, PatternError> {
    let lines = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| (i + 1, p.to_string()))
        .collect();
    DockerIgnore::new(lines).map_err(|e| e.reason)
}

/// The package-level (deprecated) `patternmatcher.Matches(file, patterns)`.
fn go_matches(file: &str, patterns: &[&str]) -> Result<bool, PatternError> {
    Ok(new(patterns)?.cli_matches(file))
}

/// Go's `filepath.ErrBadPattern`, which moby returns for both checks.
fn is_bad_pattern(e: &PatternError) -> bool {
    matches!(e, PatternError::Syntax | PatternError::Regexp(_))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Fail,
    Exact,
    Inexact,
}
use Pass::{Exact, Fail, Inexact};

/// patternmatcher_test.go TestMatches `tests`, with the non-Windows rows.
const MATCHES: &[(&str, &str, Pass)] = &[
    ("**", "file", Exact),
    ("**", "file/", Exact),
    ("**/", "file", Exact), // weird one
    ("**/", "file/", Exact),
    ("**", "/", Exact),
    ("**/", "/", Exact),
    ("**", "dir/file", Exact),
    ("**/", "dir/file", Exact),
    ("**", "dir/file/", Exact),
    ("**/", "dir/file/", Exact),
    ("**/**", "dir/file", Exact),
    ("**/**", "dir/file/", Exact),
    ("dir/**", "dir/file", Exact),
    ("dir/**", "dir/file/", Exact),
    ("dir/**", "dir/dir2/file", Exact),
    ("dir/**", "dir/dir2/file/", Exact),
    ("**/dir", "dir", Exact),
    ("**/dir", "dir/file", Inexact),
    ("**/dir2/*", "dir/dir2/file", Exact),
    ("**/dir2/*", "dir/dir2/file/", Inexact),
    ("**/dir2/**", "dir/dir2/dir3/file", Exact),
    ("**/dir2/**", "dir/dir2/dir3/file/", Exact),
    ("**file", "file", Exact),
    ("**file", "dir/file", Exact),
    ("**/file", "dir/file", Exact),
    ("**file", "dir/dir/file", Exact),
    ("**/file", "dir/dir/file", Exact),
    ("**/file*", "dir/dir/file", Exact),
    ("**/file*", "dir/dir/file.txt", Exact),
    ("**/file*txt", "dir/dir/file.txt", Exact),
    ("**/file*.txt", "dir/dir/file.txt", Exact),
    ("**/file*.txt*", "dir/dir/file.txt", Exact),
    ("**/**/*.txt", "dir/dir/file.txt", Exact),
    ("**/**/*.txt2", "dir/dir/file.txt", Fail),
    ("**/*.txt", "file.txt", Exact),
    ("**/**/*.txt", "file.txt", Exact),
    ("a**/*.txt", "a/file.txt", Exact),
    ("a**/*.txt", "a/dir/file.txt", Exact),
    ("a**/*.txt", "a/dir/dir/file.txt", Exact),
    ("a/*.txt", "a/dir/file.txt", Fail),
    ("a/*.txt", "a/file.txt", Exact),
    ("a/*.txt**", "a/file.txt", Exact),
    ("a[b-d]e", "ae", Fail),
    ("a[b-d]e", "ace", Exact),
    ("a[b-d]e", "aae", Fail),
    ("a[^b-d]e", "aze", Exact),
    (".*", ".foo", Exact),
    (".*", "foo", Fail),
    ("abc.def", "abcdef", Fail),
    ("abc.def", "abc.def", Exact),
    ("abc.def", "abcZdef", Fail),
    ("abc?def", "abcZdef", Exact),
    ("abc?def", "abcdef", Fail),
    ("**/foo/bar", "foo/bar", Exact),
    ("**/foo/bar", "dir/foo/bar", Exact),
    ("**/foo/bar", "dir/dir2/foo/bar", Exact),
    ("abc/**", "abc", Fail),
    ("abc/**", "abc/def", Exact),
    ("abc/**", "abc/def/ghi", Exact),
    ("**/.foo", ".foo", Exact),
    ("**/.foo", "bar.foo", Fail),
    ("a(b)c/def", "a(b)c/def", Exact),
    ("a(b)c/def", "a(b)c/xyz", Fail),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", Exact),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        Exact,
    ),
    (
        "dist/*.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        Exact,
    ),
    // runtime.GOOS != "windows"
    ("a\\\\", "a\\", Exact),
    ("a\\*b", "a*b", Exact),
];

/// TestMatches `multiPatternTests`.
const MULTI: &[(&[&str], &str, Pass)] = &[
    (&["**", "!util/docker/web"], "util/docker/web/foo", Fail),
    (
        &["**", "!util/docker/web", "util/docker/web/foo"],
        "util/docker/web/foo",
        Exact,
    ),
    (
        &[
            "**",
            "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        ],
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        Fail,
    ),
    (
        &["**", "!dist/*.whl"],
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        Fail,
    ),
];

/// The walk TarWithOptions does for `text`: parent info for each parent directory.
fn using_parent_results(pm: &DockerIgnore, text: &str) -> bool {
    let parent = go_dir(text);
    let mut info = Vec::new();
    if parent != "." {
        let dirs: Vec<&str> = parent.split('/').collect();
        for i in 1..=dirs.len() {
            info = pm
                .matches_using_parent_results(&dirs[..i].join("/"), &info)
                .1;
        }
    }
    pm.matches_using_parent_results(text, &info).0
}

#[test]
fn moby_matches_table_has_every_row() {
    assert_eq!(MATCHES.len(), 68);
    assert_eq!(MULTI.len(), 4);
}

/// Runs `check` over every TestMatches row (and the multi-pattern rows when
/// `multi`), expecting `want(pass)`.
fn run_matches_table(
    check: impl Fn(&DockerIgnore, &str) -> bool,
    want: impl Fn(Pass) -> bool,
    multi: bool,
) {
    let single = MATCHES.iter().map(|&(p, text, pass)| (vec![p], text, pass));
    let multi_rows = MULTI
        .iter()
        .filter(|_| multi)
        .map(|&(ps, text, pass)| (ps.to_vec(), text, pass));
    for (patterns, text, pass) in single.chain(multi_rows) {
        let pm = new(&patterns).unwrap();
        assert_eq!(
            check(&pm, text),
            want(pass),
            "patterns={patterns:?} text={text:?}"
        );
    }
}

#[test]
fn moby_matches_exact() {
    run_matches_table(|pm, t| pm.matches_exact(t), |pass| pass == Exact, false);
}

#[test]
fn moby_matches_or_parent_matches() {
    run_matches_table(
        |pm, t| pm.matches_or_parent_matches(t),
        |pass| pass != Fail,
        true,
    );
}

#[test]
fn moby_matches_using_parent_results() {
    run_matches_table(using_parent_results, |pass| pass != Fail, true);
}

#[test]
fn moby_matches_using_parent_results_no_context() {
    let check = |pm: &DockerIgnore, t: &str| pm.matches_using_parent_results(t, &[]).0;
    run_matches_table(check, |pass| pass != Fail, true);
}

/// patternmatcher_test.go `matchTests` (from Go's filepath tests), run
/// through `Matches` as TestMatch does: (pattern, name, match, ErrBadPattern).
const GO_MATCH: &[(&str, &str, bool, bool)] = &[
    ("abc", "abc", true, false),
    ("*", "abc", true, false),
    ("*c", "abc", true, false),
    ("a*", "a", true, false),
    ("a*", "abc", true, false),
    ("a*", "ab/c", true, false),
    ("a*/b", "abc/b", true, false),
    ("a*/b", "a/c/b", false, false),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", true, false),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false),
    ("a*b?c*x", "abxbbxdbxebxczzx", true, false),
    ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
    ("ab[c]", "abc", true, false),
    ("ab[b-d]", "abc", true, false),
    ("ab[e-g]", "abc", false, false),
    ("ab[^c]", "abc", false, false),
    ("ab[^b-d]", "abc", false, false),
    ("ab[^e-g]", "abc", true, false),
    ("a\\*b", "a*b", true, false),
    ("a\\*b", "ab", false, false),
    ("a?b", "a☺b", true, false),
    ("a[^a]b", "a☺b", true, false),
    ("a???b", "a☺b", false, false),
    ("a[^a][^a][^a]b", "a☺b", false, false),
    ("[a-ζ]*", "α", true, false),
    ("*[a-ζ]", "A", false, false),
    ("a?b", "a/b", false, false),
    ("a*b", "a/b", false, false),
    ("[\\]a]", "]", true, false),
    ("[\\-]", "-", true, false),
    ("[x\\-]", "x", true, false),
    ("[x\\-]", "-", true, false),
    ("[x\\-]", "z", false, false),
    ("[\\-x]", "x", true, false),
    ("[\\-x]", "-", true, false),
    ("[\\-x]", "a", false, false),
    ("[]a]", "]", false, true),
    ("[-]", "-", false, true),
    ("[x-]", "x", false, true),
    ("[x-]", "-", false, true),
    ("[x-]", "z", false, true),
    ("[-x]", "x", false, true),
    ("[-x]", "-", false, true),
    ("[-x]", "a", false, true),
    ("\\", "a", false, true),
    ("[a-b-c]", "a", false, true),
    ("[", "a", false, true),
    ("[^", "a", false, true),
    ("[^bc", "a", false, true),
    ("a[", "a", false, true), // was nil but IMO its wrong
    ("a[", "ab", false, true),
    ("*x", "xxx", true, false),
];

#[test]
fn moby_match_go_filepath_table() {
    assert_eq!(GO_MATCH.len(), 54);
    for &(pattern, name, want, bad) in GO_MATCH {
        match go_matches(name, &[pattern]) {
            Ok(got) => {
                assert!(
                    !bad,
                    "pattern={pattern:?}: want ErrBadPattern, got Ok({got})"
                );
                assert_eq!(got, want, "pattern={pattern:?} name={name:?}");
            }
            Err(e) => assert!(
                bad && is_bad_pattern(&e),
                "pattern={pattern:?} name={name:?}: {e}"
            ),
        }
    }
}

/// patternmatcher_test.go `compileTests` (the "slash" run).
const COMPILE: &[(&str, MatchType, &str)] = &[
    ("*", MatchType::Regexp, "^[^/]*$"),
    ("file*", MatchType::Regexp, "^file[^/]*$"),
    ("*file", MatchType::Regexp, "^[^/]*file$"),
    ("a*/b", MatchType::Regexp, "^a[^/]*/b$"),
    ("**", MatchType::Suffix, ""),
    ("**/**", MatchType::Regexp, "^(.*/)?.*$"),
    ("dir/**", MatchType::Prefix, ""),
    ("**/dir", MatchType::Suffix, ""),
    ("**/dir2/*", MatchType::Regexp, "^(.*/)?dir2/[^/]*$"),
    ("**/dir2/**", MatchType::Regexp, "^(.*/)?dir2/.*$"),
    ("**file", MatchType::Suffix, ""),
    ("**/file*txt", MatchType::Regexp, "^(.*/)?file[^/]*txt$"),
    (
        "**/**/*.txt",
        MatchType::Regexp,
        "^(.*/)?(.*/)?[^/]*\\.txt$",
    ),
    ("a[b-d]e", MatchType::Regexp, "^a[b-d]e$"),
    (".*", MatchType::Regexp, "^\\.[^/]*$"),
    ("abc.def", MatchType::Exact, ""),
    ("abc?def", MatchType::Regexp, "^abc[^/]def$"),
    ("**/foo/bar", MatchType::Suffix, ""),
    ("a(b)c/def", MatchType::Exact, ""),
    ("a.|)$(}+{bc", MatchType::Exact, ""),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        MatchType::Exact,
        "",
    ),
];

#[test]
fn moby_compile_table() {
    assert_eq!(COMPILE.len(), 21);
    for &(pattern, want_type, want_re) in COMPILE {
        let (got_type, got_re) = compile(&go_clean(pattern));
        assert_eq!(got_type, want_type, "pattern={pattern:?}");
        if want_type == MatchType::Regexp {
            assert_eq!(got_re, want_re, "pattern={pattern:?}");
            assert!(go_regexp::Regexp::new(&got_re).is_ok(), "{got_re}");
        }
    }
}

#[test]
fn moby_small_matches_tests() {
    // (moby test, file, patterns, the result or None for an error)
    let cases: &[(&str, &str, &[&str], Option<bool>)] = &[
        ("TestWildcardMatches", "fileutils.go", &["*"], Some(true)),
        ("TestPatternMatches", "fileutils.go", &["*.go"], Some(true)),
        (
            "TestExclusionPatternMatchesPatternBefore",
            "fileutils.go",
            &["!fileutils.go", "*.go"],
            Some(true),
        ),
        (
            "TestPatternMatchesFolderExclusions",
            "docs/README.md",
            &["docs", "!docs/README.md"],
            Some(false),
        ),
        (
            "TestPatternMatchesFolderWithSlashExclusions",
            "docs/README.md",
            &["docs/", "!docs/README.md"],
            Some(false),
        ),
        (
            "TestPatternMatchesFolderWildcardExclusions",
            "docs/README.md",
            &["docs/*", "!docs/README.md"],
            Some(false),
        ),
        (
            "TestExclusionPatternMatchesPatternAfter",
            "fileutils.go",
            &["*.go", "!fileutils.go"],
            Some(false),
        ),
        (
            "TestExclusionPatternMatchesWholeDirectory",
            ".",
            &["*.go"],
            Some(false),
        ),
        ("TestSingleExclamationError", "fileutils.go", &["!"], None),
        (
            "TestMatchesWithNoPatterns",
            "/any/path/there",
            &[],
            Some(false),
        ),
        (
            "TestMatchesWithMalformedPatterns",
            "/any/path/there",
            &["["],
            None,
        ),
    ];
    for &(name, file, patterns, want) in cases {
        match (go_matches(file, patterns), want) {
            (Ok(got), Some(want)) => assert_eq!(got, want, "{name}"),
            (Err(e), None) => assert!(
                is_bad_pattern(&e) || e == PatternError::LoneExclamation,
                "{name}: {e}"
            ),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn moby_clean_patterns_tests() {
    // TestCleanPatterns, TestCleanPatternsStripEmptyPatterns
    assert_eq!(new(&["docs", "config"]).unwrap().patterns.len(), 2);
    assert_eq!(new(&["docs", "config", ""]).unwrap().patterns.len(), 2);
    // TestCleanPatternsExceptionFlag, ...LeadingSpaceTrimmed, ...TrailingSpaceTrimmed
    assert!(new(&["docs", "!docs/README.md"]).unwrap().has_exceptions());
    assert!(new(&["docs", "  !docs/README.md"])
        .unwrap()
        .has_exceptions());
    assert!(new(&["docs", "!docs/README.md  "])
        .unwrap()
        .has_exceptions());
    // TestCleanPatternsErrorSingleException
    assert_eq!(new(&["!"]).unwrap_err(), PatternError::LoneExclamation);
}

#[test]
fn moby_malformed_pattern_that_passes_filepath_match() {
    // TestMatchesOrParentMatchesMalformedPatternDoesNotPanicOnRepeatedCall:
    // moby accepts `[Local-Only]/` and fails each match with ErrBadPattern
    // (the class range `l-O` runs backwards); we refuse it up front.
    let err = DockerIgnore::parse("[Local-Only]/\n").unwrap_err();
    assert_eq!(err.line, 1);
    assert_eq!(err.pattern, "[Local-Only]");
    assert!(
        matches!(&err.reason, PatternError::Regexp(m) if m.contains("l-O")),
        "{err}"
    );
}

#[test]
fn moby_ignorefile_read_all() {
    // ignorefile_test.go TestReadAll
    assert!(read_all("").unwrap().is_empty());
    let content =
        "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    let got: Vec<String> = read_all(content)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let want = [
        "test1",
        "test2",
        "a/file/here",
        "lastfile",
        "!inverted/abs/path",
        "!",
        "!",
    ];
    assert_eq!(got, want);
    // patternmatcher.New then rejects the lone `!`, on line 8.
    let err = DockerIgnore::parse(content).unwrap_err();
    assert_eq!(
        (err.line, err.pattern.as_str(), &err.reason),
        (8, "!", &PatternError::LoneExclamation)
    );
    assert_eq!(
        err.to_string(),
        "line 8: `!`: illegal exclusion pattern: \"!\"; fix or remove that line"
    );
}

#[test]
fn read_all_lines_like_bufio_and_ignorefile() {
    let cases: &[(&str, &[(usize, &str)])] = &[
        ("", &[]),
        ("\n\n", &[]),
        ("a\r\nb\r\n", &[(1, "a"), (2, "b")]),
        ("\u{feff}a\n\u{feff}b", &[(1, "a"), (2, "\u{feff}b")]),
        ("\u{feff}# bom then comment\nx", &[(2, "x")]),
        // `#` only at the very start of a line makes a comment.
        ("  # not a comment\n#comment", &[(1, "# not a comment")]),
        ("\t spaced \t\n", &[(1, "spaced")]),
        ("\u{a0}nbsp\u{3000}\n", &[(1, "nbsp")]),
        (
            "./a/../b/\n/abs\n//x//y/\n/\n.\n",
            &[(1, "b"), (2, "abs"), (3, "x/y"), (4, "/"), (5, ".")],
        ),
        (
            "!  /x/./y\n! ./\n!!a",
            &[(1, "!x/y"), (2, "!."), (3, "!!a")],
        ),
        ("a\\ b\n", &[(1, "a\\ b")]),
    ];
    for &(text, want) in cases {
        let got = read_all(text).unwrap();
        let got: Vec<(usize, &str)> = got.iter().map(|(l, p)| (*l, p.as_str())).collect();
        assert_eq!(got, want, "text={text:?}");
    }
    let long = format!("ok\n{}\n", "x".repeat(MAX_LINE));
    let err = read_all(&long).unwrap_err();
    assert_eq!((err.line, err.reason), (2, PatternError::LineTooLong));
    assert!(read_all(&"x".repeat(MAX_LINE - 1)).is_ok());
}

#[test]
fn go_clean_matches_go() {
    let cases = [
        ("", "."),
        (".", "."),
        ("..", ".."),
        ("../..", "../.."),
        ("a/../..", ".."),
        ("/..", "/"),
        ("/../a", "/a"),
        ("a/b/../../c", "c"),
        ("a//b/./c/", "a/b/c"),
        ("abc/def/..", "abc"),
        ("/", "/"),
        ("!a/../b", "b"),
        ("!/", "!"),
    ];
    for (input, want) in cases {
        assert_eq!(go_clean(input), want, "{input:?}");
    }
    assert_eq!(go_dir("a/b/c"), "a/b");
    assert_eq!(go_dir("file"), ".");
    assert_eq!(go_dir("file/"), "file");
    assert_eq!(go_dir("/"), "/");
}

#[test]
fn errors_name_the_line_and_the_pattern() {
    let text = "# header\n\nok\nbad[\n";
    let err = DockerIgnore::parse(text).unwrap_err();
    assert_eq!(
        (err.line, err.pattern.as_str(), &err.reason),
        (4, "bad[", &PatternError::Syntax)
    );
    assert_eq!(
        err.to_string(),
        "line 4: `bad[`: syntax error in pattern; fix or remove that line"
    );
    // `!/` cleans to `!`: a lone exclamation mark, like docker says.
    assert_eq!(
        DockerIgnore::parse("!/").unwrap_err().reason,
        PatternError::LoneExclamation
    );
}

/// (pattern, path, excluded) for the corners where Docker surprises.
const SURPRISES: &[(&str, &str, bool)] = &[
    // `!` negates nothing in a class: RE2 reads `[!a]` as `!` or `a`.
    ("[!a]", "b", false),
    ("[!a]", "!", true),
    ("[!a]", "a", true),
    ("[^a]", "b", true),
    // `^` is literal in an exact pattern but an anchor once the pattern
    // becomes a regexp: `^x*` matches `xy`, never `^xy`.
    ("^x", "^x", true),
    ("^x*", "xy", true),
    ("^x*", "^xy", false),
    ("a^b*", "a^b", false),
    // Escapes go to the regexp: `\d` is a digit, `\n` a newline.
    ("a\\d", "a1", true),
    ("a\\d", "ad", false),
    ("a\\x41", "aA", true),
    ("a\\.b", "a.b", true),
    ("a\\.b", "axb", false),
    // POSIX groups inside classes work as in RE2.
    ("[[:digit:]]x", "7x", true),
    ("[[:^digit:]]x", "7x", false),
    // `**file` is a plain suffix: `xfile` matches too.
    ("**file", "dir/xfile", true),
    // A trailing `\Q` swallows the final `$`: the match is a prefix.
    ("a\\Q", "a$b", true),
    // Inside `\Q...\E` the backslash patternmatcher put before `.` is literal.
    ("a\\Qb.c\\E?", "ab\\.cX", true),
    ("a\\Qb.c\\E?", "ab.cX", false),
    // `**` cannot cross a newline (`.` in Go's regexp).
    ("**/*.pyc", "a\nb/c.pyc", false),
    ("**/*.pyc", "ab/c.pyc", true),
    // `*` and `?` in a class become `[^/]*` and `[^/]` inside it.
    ("[?]", "[]", true),
    ("[?]", "?", false),
    // An exact pattern is compared raw, escapes and all.
    ("a.b", "a.b", true),
    // A pattern matching a directory excludes all below it.
    ("build", "build/x/y", true),
    ("/build", "build/x", true),
    ("build/", "build/x", true),
    ("sub/build", "build/x", false),
    ("*.pyc", "sub/x.pyc", false),
    ("**/*.pyc", "sub/x.pyc", true),
];

#[test]
fn surprising_docker_behaviour_is_kept() {
    for &(pattern, path, want) in SURPRISES {
        let ignore = DockerIgnore::parse(pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
        assert_eq!(
            ignore.excludes(path),
            want,
            "pattern={pattern:?} path={path:?}"
        );
    }
}

#[test]
fn regexp_failures_are_pattern_errors() {
    let cases = [
        // Backwards range: filepath.Match accepts it, RE2 does not.
        ("[z-a]", "invalid character class range"),
        // Go's Match stops at the first chunk that fails, so `[` after `*` slips through.
        ("a*[", "missing closing ]"),
        ("[[:alpha:]", "missing closing ]"),
        ("[[:nope:]]", "invalid character class range"),
        ("a\\y", "invalid escape sequence"),
        ("a\\é", "invalid escape sequence"),
        ("a\\1", "invalid escape sequence"),
        ("a\\C", "invalid escape sequence"),
    ];
    for (pattern, code) in cases {
        let err = DockerIgnore::parse(pattern).unwrap_err();
        assert!(
            matches!(&err.reason, PatternError::Regexp(m) if m.contains(code)),
            "{pattern:?}: {err}"
        );
    }
    let err = DockerIgnore::parse("x\n\\pL*").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(matches!(err.reason, PatternError::Unsupported(_)), "{err}");
    // Go's Match never checks this class, and RE2 reads `[-]` as `-`.
    assert!(DockerIgnore::parse("a*[-]").unwrap().excludes("ab-"));
}

#[test]
fn last_matching_pattern_wins() {
    let cases: &[(&str, &str, bool)] = &[
        ("*.md\n!README.md", "README.md", false),
        ("!README.md\n*.md", "README.md", true),
        ("*.md\n!README.md\nREADME.md", "README.md", true),
        ("docs\n!docs/keep.md", "docs/keep.md", false),
        ("docs\n!docs/keep.md", "docs/other.md", true),
        ("!docs/keep.md\ndocs", "docs/keep.md", true),
        ("", "anything", false),
        ("*", ".", false),
    ];
    for &(text, path, want) in cases {
        assert_eq!(
            DockerIgnore::parse(text).unwrap().excludes(path),
            want,
            "{text:?} {path:?}"
        );
    }
    assert!(!DockerIgnore::empty().excludes("x"));
    assert!(!DockerIgnore::empty().has_exceptions());
}

#[test]
fn build_files_get_exceptions_as_the_cli_adds_them() {
    let keep = |text: &str, files: &[&str], path: &str| {
        let rules = DockerIgnore::parse(text)
            .unwrap()
            .keep_build_files(files)
            .unwrap();
        !rules.excludes(path)
    };
    assert!(keep("*", &["Dockerfile", ".dockerignore"], "Dockerfile"));
    assert!(keep("*", &["Dockerfile", ".dockerignore"], ".dockerignore"));
    assert!(keep("docker", &["docker/Dockerfile"], "docker/Dockerfile"));
    assert!(!keep("docker", &["docker/Dockerfile"], "docker/other"));
    // The CLI's check looks at one parent only, as deep as the pattern:
    // `**/c` hides `a/b/c/Dockerfile` from it, so no exception is added.
    assert!(!keep("**/c", &["a/b/c/Dockerfile"], "a/b/c/Dockerfile"));
    // Nothing excluded, nothing added.
    let rules = DockerIgnore::parse("x")
        .unwrap()
        .keep_build_files(&["Dockerfile"])
        .unwrap();
    assert!(!rules.has_exceptions());
    // A build file whose name is not a valid pattern cannot be kept.
    let err = DockerIgnore::parse("*")
        .unwrap()
        .keep_build_files(&["Docker[file"])
        .unwrap_err();
    assert!(matches!(err, WalkError::BuildFile { .. }), "{err}");
}
