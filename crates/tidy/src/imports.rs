//! The import graph of a crate's modules, and its cycles.
//!
//! Every file is a module (`a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`). A path that a
//! file names (`use crate::x::Y`, `super::z`, an inline `crate::x::f()`, or a child module's
//! `child::f()`) is an edge at the level where the two paths part: from `sync::mailbox` to
//! `crate::sync::report::SyncReport` is `mailbox → report` inside `sync`; to an item of
//! `sync/mod.rs` itself it is `mailbox → (self)`. Test modules (from the first `#[cfg(test)]`
//! on) are left out: a test may reach across layers. A module declaration is not an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::sources::rust_files;

/// Modules of one level of the tree that import each other in a ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The folder module they sit in (`crate` for the top level).
    pub level: String,
    /// The modules in the ring; `(self)` is the folder's own `mod.rs` (or `lib.rs`).
    pub modules: Vec<String>,
    /// The edges between them, `a → b`.
    pub edges: Vec<String>,
}

type Graph = BTreeMap<String, BTreeSet<String>>;
const SELF: &str = "(self)";

/// The import cycles between the modules of the crate whose sources are in `src`.
pub fn import_cycles(src: &Path) -> Vec<Cycle> {
    let files: Vec<_> = rust_files(src)
        .into_iter()
        .filter(|f| !f.path.starts_with(src.join("bin")))
        .collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(src, &f.path)).collect();
    let mut graphs: BTreeMap<Vec<String>, Graph> = BTreeMap::new();
    for file in &files {
        let here = module_path(src, &file.path);
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| m.len() == here.len() + 1 && m.starts_with(&here))
            .map(|m| m[here.len()].clone())
            .collect();
        let code = code_of(&file.text);
        for path in named_paths(&code, &children) {
            let Some(target) = resolve(&here, &path, &children) else {
                continue;
            };
            add_edge(&mut graphs, &modules, &here, &target);
        }
    }
    let mut cycles = Vec::new();
    for (level, graph) in &graphs {
        for ring in strongly_connected(graph) {
            let edges = ring
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| ring.contains(b))
                        .map(move |b| format!("{a} → {b}"))
                })
                .collect();
            cycles.push(Cycle {
                level: if level.is_empty() {
                    "crate".to_string()
                } else {
                    level.join("::")
                },
                modules: ring,
                edges,
            });
        }
    }
    cycles
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts == ["lib"] || parts == ["main"] {
        return Vec::new();
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file's code without its test modules, comments, string and character literals.
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        code.push_str(line);
        code.push('\n');
    }
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A character literal ('x', '\n', '"'); a lifetime ('a) has no closing quote.
            '\'' if chars.get(i + 1) == Some(&'\\') => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 3,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path the code names that could point into this crate: the trees of `use` items, and
/// inline paths starting with `crate`, `super`, `self` or a child module's name.
fn named_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == ':');
        if !boundary || !is_ident(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let word: String = bytes[start..i].iter().collect();
        if word == "use" && bytes.get(i).is_some_and(|c| c.is_whitespace()) {
            let end = bytes[i..]
                .iter()
                .position(|&c| c == ';')
                .map_or(bytes.len(), |p| i + p);
            let tree: String = bytes[i..end].iter().collect();
            expand_use(&without_renames(&tree), &[], &mut out);
            i = end;
        } else if matches!(word.as_str(), "crate" | "super" | "self") || children.contains(&word) {
            let mut path = vec![word];
            while bytes.get(i) == Some(&':') && bytes.get(i + 1) == Some(&':') {
                let s = i + 2;
                let mut e = s;
                while e < bytes.len() && is_ident(bytes[e]) {
                    e += 1;
                }
                if e == s {
                    break;
                }
                path.push(bytes[s..e].iter().collect());
                i = e;
            }
            if path.len() > 1 {
                out.push(path);
            }
        }
    }
    out
}

/// `a::b as c` names `a::b`.
fn without_renames(tree: &str) -> String {
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut kept = String::new();
    let mut skip = false;
    for w in words {
        if skip {
            // The new name, and whatever punctuation follows it.
            kept.push_str(w.trim_start_matches(is_ident));
            skip = false;
        } else if w == "as" {
            skip = true;
        } else {
            kept.push_str(w);
        }
    }
    kept
}

/// Expands `a::{b, c::{d, self}}` into `a::b`, `a::c::d`, `a::c`.
fn expand_use(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let Some(open) = tree.find('{') else {
        let mut path = prefix.to_vec();
        path.extend(tree.split("::").filter(|s| !s.is_empty()).map(String::from));
        out.push(path);
        return;
    };
    let mut head = prefix.to_vec();
    head.extend(
        tree[..open]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from),
    );
    let close = tree.rfind('}').unwrap_or(tree.len());
    let body = &tree[open + 1..close];
    let (mut depth, mut part) = (0, String::new());
    let mut parts = Vec::new();
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            parts.push(std::mem::take(&mut part));
        } else {
            part.push(c);
        }
    }
    parts.push(part);
    for p in parts.iter().filter(|p| !p.is_empty()) {
        if p == "self" {
            out.push(head.clone());
        } else {
            expand_use(p, &head, out);
        }
    }
}

/// The path from the crate root that `path`, named in module `here`, points to; `None` for a
/// path outside the crate.
fn resolve(here: &[String], path: &[String], children: &BTreeSet<String>) -> Option<Vec<String>> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "super" => {
            let mut target = here.to_vec();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                target.pop();
                rest = &rest[1..];
            }
            target.extend(rest.iter().cloned());
            Some(target)
        }
        "self" => Some(here.iter().chain(&path[1..]).cloned().collect()),
        name if children.contains(name) => Some(here.iter().chain(path).cloned().collect()),
        _ => None,
    }
}

fn add_edge(
    graphs: &mut BTreeMap<Vec<String>, Graph>,
    modules: &BTreeSet<Vec<String>>,
    from: &[String],
    to: &[String],
) {
    let mut level: Vec<String> = Vec::new();
    loop {
        let n = level.len();
        let a = from.get(n).cloned();
        let b = to.get(n).filter(|seg| {
            let mut m = level.clone();
            m.push((*seg).clone());
            modules.contains(&m)
        });
        match (a, b) {
            (Some(a), Some(b)) if a == *b => level.push(a),
            (a, b) => {
                let a = a.unwrap_or_else(|| SELF.to_string());
                let b = b.cloned().unwrap_or_else(|| SELF.to_string());
                if a != b {
                    graphs
                        .entry(level)
                        .or_default()
                        .entry(a)
                        .or_default()
                        .insert(b);
                }
                return;
            }
        }
    }
}

/// The graph's strongly connected components of more than one node (Tarjan).
fn strongly_connected(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        rings: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            // A tree edge passes up the child's low-link; a back edge, the ancestor's index.
            let reach = if !s.index.contains_key(w) {
                visit(s, w);
                s.low[w]
            } else if s.on_stack.contains(w) {
                s.index[w]
            } else {
                continue;
            };
            if let Some(l) = s.low.get_mut(v) {
                *l = (*l).min(reach);
            }
        }
        if s.low[v] == s.index[v] {
            let mut ring = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                ring.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if ring.len() > 1 {
                ring.sort();
                s.rings.push(ring);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        rings: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.rings
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn crate_with(files: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        for (name, text) in files {
            let path = dir.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    mod tempdir {
        /// A folder removed when dropped (the crate has no dependencies to bring `tempfile`).
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let path = std::env::temp_dir().join(format!(
                    "tidy-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&path).unwrap();
                Dir(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_ring_through_grouped_uses_super_and_inline_paths_is_found() {
        let dir = crate_with(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "use crate::{b::{self, B}, c as see};\n"),
            ("b.rs", "fn f() { crate::c::g(\"use crate::a;\"); }\n"),
            ("c.rs", "// use crate::a;\nuse super::a::A;\n"),
        ]);
        let cycles = import_cycles(&dir.0);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert_eq!(cycles[0].modules, ["a", "b", "c"]);
    }

    #[test]
    fn a_folder_module_and_its_children_are_a_level_of_their_own() {
        let dir = crate_with(&[
            ("lib.rs", "mod sync;\nmod engine;\n"),
            ("engine.rs", "pub struct Engine;\n"),
            (
                "sync/mod.rs",
                "mod log;\nmod report;\npub use report::Report;\nuse crate::engine::Engine;\n",
            ),
            ("sync/report.rs", "pub struct Report;\n"),
            (
                "sync/log.rs",
                "use super::report::Report;\nuse crate::engine::Engine;\n",
            ),
        ]);
        assert!(import_cycles(&dir.0).is_empty());
        // A child that names an item of its folder's own file, which re-exports the child.
        std::fs::write(dir.0.join("sync/report.rs"), "use super::Report;\n").unwrap();
        let cycles = import_cycles(&dir.0);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].level, "sync");
        assert_eq!(cycles[0].modules, ["(self)", "report"]);
    }

    #[test]
    fn tests_comments_and_strings_are_not_imports() {
        let dir = crate_with(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\n"),
            (
                "b.rs",
                "// crate::a::A\nconst S: &str = \"crate::a::A\";\n#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
            ),
        ]);
        assert!(import_cycles(&dir.0).is_empty());
    }
}
