//! Which of the daemon's two builders todo-dev drives: BuildKit wherever the
//! daemon has it (cache mounts, `RUN --mount`), the legacy builder otherwise.
//! Decided once per daemon, from what it says about itself and the user's
//! `DOCKER_BUILDKIT`, as the docker CLI decides.

/// The first Engine API with BuildKit behind `/build?version=2` (Docker 18.09).
const BUILDKIT_API: (u32, u32) = (1, 39);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    BuildKit,
    Legacy,
}

/// The builder for one daemon, and why when it is the legacy one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub builder: Builder,
    /// Said once in the output: what the fallback costs and how to avoid it.
    pub fallback: Option<String>,
}

/// BuildKit unless the user turned it off (`DOCKER_BUILDKIT=0`, as for the
/// docker CLI), the daemon builds Windows images (BuildKit builds Linux only),
/// or its API predates BuildKit.
pub fn choose(os_type: &str, api_version: &str, docker_buildkit: Option<&str>) -> Choice {
    let legacy = |why: String| {
        Choice {
        builder: Builder::Legacy,
        fallback: Some(format!(
            "building with Docker's legacy builder: {why}; cache mounts are dropped from todo-dev's own Dockerfiles and `RUN --mount` in yours fails"
        )),
    }
    };
    if let Some(v) = docker_buildkit {
        if matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        ) {
            return legacy(format!("DOCKER_BUILDKIT={v} asks for it"));
        }
    }
    if !os_type.is_empty() && os_type != "linux" {
        return legacy(format!(
            "the daemon builds {os_type} images, BuildKit only Linux ones"
        ));
    }
    match parse_api(api_version) {
        Some(v) if v >= BUILDKIT_API => Choice {
            builder: Builder::BuildKit,
            fallback: None,
        },
        _ => legacy(format!(
            "the daemon's API {api_version} predates BuildKit (1.39, Docker 18.09)"
        )),
    }
}

fn parse_api(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `text` with every `--mount=...` flag taken off its `RUN` lines: how
/// todo-dev's own Dockerfiles build on the legacy builder. A cache mount does
/// not change what a step produces, so the image (and its content tag) stay
/// the same; only the cache is lost.
pub fn without_mounts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let is_run = trimmed
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("RUN "));
        if !is_run || !trimmed.contains("--mount=") {
            out.push_str(line);
            continue;
        }
        let indent = &line[..line.len() - trimmed.len()];
        let mut words = trimmed[4..].split(' ').peekable();
        let mut kept: Vec<&str> = Vec::new();
        // Flags come first; the command starts at the first other word.
        while let Some(w) = words.peek() {
            if w.is_empty() || w.starts_with("--mount=") {
                words.next();
            } else {
                break;
            }
        }
        kept.extend(words);
        out.push_str(indent);
        out.push_str("RUN ");
        out.push_str(&kept.join(" "));
    }
    out
}

/// A `RUN --mount=type=secret` of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMount {
    /// `id=`, else the last part of `target=`, as BuildKit defaults it.
    pub id: Option<String>,
    /// 1-based.
    pub line: usize,
}

/// Every secret mount in `text`, in order.
pub fn secret_mounts(text: &str) -> Vec<SecretMount> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for word in line.split_whitespace() {
            let Some(spec) = word.strip_prefix("--mount=") else {
                continue;
            };
            let fields: Vec<(&str, &str)> =
                spec.split(',').filter_map(|f| f.split_once('=')).collect();
            let get = |k: &str| fields.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
            if get("type") != Some("secret") {
                continue;
            }
            let id = get("id")
                .or_else(|| {
                    get("target")
                        .or(get("dst"))
                        .and_then(|t| t.rsplit('/').next())
                })
                .filter(|id| !id.is_empty())
                .map(str::to_string);
            out.push(SecretMount { id, line: i + 1 });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_wherever_the_daemon_has_it() {
        let bk = choose("linux", "1.41", None);
        assert_eq!(bk.builder, Builder::BuildKit);
        assert_eq!(bk.fallback, None);
        assert_eq!(
            choose("linux", "1.39", Some("1")).builder,
            Builder::BuildKit
        );
        // An unknown OS type (a daemon that does not say) is not a reason to fall back.
        assert_eq!(choose("", "1.45", None).builder, Builder::BuildKit);

        for (os, api, env, why) in [
            ("linux", "1.41", Some("0"), "DOCKER_BUILDKIT=0"),
            ("linux", "1.41", Some("false"), "DOCKER_BUILDKIT=false"),
            ("windows", "1.41", None, "windows images"),
            ("linux", "1.38", None, "API 1.38 predates BuildKit"),
            ("linux", "junk", None, "API junk"),
        ] {
            let c = choose(os, api, env);
            assert_eq!(c.builder, Builder::Legacy, "{os} {api} {env:?}");
            let said = c.fallback.unwrap();
            assert!(
                said.contains(why) && said.contains("legacy builder"),
                "{said}"
            );
        }
    }

    #[test]
    fn finds_secret_mounts_and_their_ids() {
        let text = "FROM x\n\
            # RUN --mount=type=secret,id=commented\n\
            RUN --mount=type=cache,target=/c --mount=type=secret,id=pip_token,required=true pip install\n\
            RUN --mount=type=secret,target=/run/secrets/npmrc npm ci\n\
            RUN --mount=type=secret cat nothing\n";
        let found = secret_mounts(text);
        assert_eq!(
            found,
            [
                SecretMount {
                    id: Some("pip_token".into()),
                    line: 3
                },
                SecretMount {
                    id: Some("npmrc".into()),
                    line: 4
                },
                SecretMount { id: None, line: 5 },
            ]
        );
        assert!(secret_mounts("FROM x\nRUN --mount=type=cache,target=/c true\n").is_empty());
    }

    #[test]
    fn legacy_drops_only_the_mount_flags() {
        let text = "FROM x\n\
            RUN --mount=type=cache,target=/root/.cache/pip --mount=type=cache,target=/tmp/c pip install -r r.txt\n\
            run --mount=type=cache,target=/root/.npm npm ci \\\n    --no-audit\n\
            RUN echo --mount=kept-as-an-argument\n\
            COPY . .\n";
        assert_eq!(
            without_mounts(text),
            "FROM x\n\
            RUN pip install -r r.txt\n\
            RUN npm ci \\\n    --no-audit\n\
            RUN echo --mount=kept-as-an-argument\n\
            COPY . .\n"
        );
        let plain = "FROM x\nRUN true\n";
        assert_eq!(without_mounts(plain), plain);
    }
}
