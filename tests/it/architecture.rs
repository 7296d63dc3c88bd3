//! The layers as rules, read from the source: a file of `src/` imports only its own layer and
//! the layers below it, and no files import each other in a circle (a `mod.rs` and its own
//! children aside). docs/architecture.md draws the same picture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer and the layers it may import. `error` is below everything.
const LAYERS: [(&str, &[&str]); 10] = [
    ("error", &[]),
    ("domain", &["error"]),
    ("contract", &["domain", "error"]),
    ("adapters", &["contract", "domain", "error"]),
    ("pipeline", &["adapters", "contract", "domain", "error"]),
    (
        "config",
        &["pipeline", "adapters", "contract", "domain", "error"],
    ),
    (
        "cli",
        &[
            "config", "pipeline", "adapters", "contract", "domain", "error", "sim",
        ],
    ),
    (
        "lambda",
        &[
            "config", "pipeline", "adapters", "contract", "domain", "error",
        ],
    ),
    ("sim", &["adapters", "contract", "domain", "error"]),
    (
        "testutil",
        &["pipeline", "adapters", "contract", "domain", "error"],
    ),
];

type Module = Vec<String>;

/// Every module file of `src/` (the binaries aside) by its module path.
fn modules() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .filter(|p| !p.starts_with(src.join("bin")))
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut m: Module = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if m.last().is_some_and(|l| l == "mod" || l == "lib") {
                m.pop();
            }
            (m, p)
        })
        .collect()
}

/// The code of a file, its comments and its unit tests left out.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths `text` names from module `at` (`crate::…` and `super::…`, and the items
/// of a `{…}` group after them).
fn references(at: &Module, text: &str) -> Vec<Module> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for (start, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        if start > 0
            && (ident(text[..start].chars().last().unwrap()) || text[..start].ends_with(':'))
        {
            continue;
        }
        let rest = &text[start..];
        // `super::` of `a/b.rs` and of `a/b/mod.rs` is `a`.
        let mut base: Module = if rest.starts_with("crate::") {
            vec![]
        } else {
            at[..at.len().saturating_sub(1)].to_vec()
        };
        let mut path = rest.split_once("::").unwrap().1;
        loop {
            let end = path.find(|c: char| !ident(c)).unwrap_or(path.len());
            let (segment, after) = path.split_at(end);
            if segment.is_empty() || segment == "self" || segment == "super" {
                break;
            }
            base.push(segment.to_string());
            match after.strip_prefix("::") {
                Some(next) if next.starts_with('{') => {
                    let group = &next[1..next.find('}').unwrap_or(next.len())];
                    for item in group.split(',') {
                        let mut m = base.clone();
                        m.extend(
                            item.trim()
                                .split(" as ")
                                .next()
                                .unwrap()
                                .split("::")
                                .filter(|s| !s.is_empty() && *s != "self")
                                .map(str::to_string),
                        );
                        found.push(m);
                    }
                    break;
                }
                Some(next) => path = next,
                None => break,
            }
        }
        found.push(base);
    }
    found
}

/// File-to-file imports: each reference resolved to the longest module path that is a file.
fn imports() -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, path) in &modules {
        if module.last().is_some_and(|l| l == "tests") {
            continue;
        }
        for r in references(module, &code(path)) {
            let Some(target) = (0..=r.len())
                .rev()
                .map(|k| r[..k].to_vec())
                .find(|m| modules.contains_key(m))
            else {
                continue;
            };
            // A module and its own descendants, and the crate root, aside.
            if target.is_empty() || target.starts_with(module) || module.starts_with(&target) {
                continue;
            }
            graph.entry(module.clone()).or_default().insert(target);
        }
    }
    graph
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let mut leaks = Vec::new();
    for (from, targets) in imports() {
        let Some((_, allowed)) = LAYERS.iter().find(|(l, _)| from[0] == *l) else {
            continue;
        };
        for to in targets {
            if to[0] != from[0] && !allowed.contains(&to[0].as_str()) {
                leaks.push(format!("{} -> {}", from.join("/"), to.join("/")));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "imports against the layers:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let graph = imports();
    // A file that can reach itself again is on a circle.
    let mut circles = Vec::new();
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Module> = graph[start].iter().collect();
        while let Some(m) = stack.pop() {
            if m == start {
                circles.push(start.join("/"));
                break;
            }
            if seen.insert(m) {
                stack.extend(graph.get(m).into_iter().flatten());
            }
        }
    }
    assert!(
        circles.is_empty(),
        "files on an import circle: {}",
        circles.join(", ")
    );
}

#[test]
fn the_reader_sees_real_imports() {
    // The rules above could pass by reading nothing: the pipeline's run must be seen to
    // import the planner, the adapters and the domain.
    let graph = imports();
    let run = &graph[&vec!["pipeline".to_string(), "run".to_string()]];
    for m in [
        ["pipeline", "plan"],
        ["adapters", "fortiflex"],
        ["domain", "report"],
    ] {
        let m: Module = m.iter().map(|s| s.to_string()).collect();
        assert!(run.contains(&m), "pipeline/run imports {m:?}: {run:?}");
    }
}
