//! Maps field paths such as `populations[1].profile` to the line and column
//! where they stand in the YAML text, so every error can point at its place.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Line and column (both 1-based) of a node in the source.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Where each path's key and value start in the document.
#[derive(Default, Debug)]
pub struct LocationIndex {
    values: HashMap<String, Location>,
    keys: HashMap<String, Location>,
}

enum Frame {
    Map {
        path: String,
        pending_key: Option<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

struct Builder {
    index: LocationIndex,
    stack: Vec<Frame>,
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Builder {
    /// The path of the node that starts now, or None if it is a mapping key.
    fn next_node_path(&mut self, mark: Marker, scalar: Option<&str>) -> Option<String> {
        let loc = Location {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, pending_key }) => match pending_key.take() {
                Some(key) => Some(child(path, &key)),
                None => {
                    // This node is a key; only scalar keys get a path.
                    let key = scalar.unwrap_or("?").to_string();
                    self.index.keys.entry(child(path, &key)).or_insert(loc);
                    *pending_key = Some(key);
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let loc = Location {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match ev {
            Event::Scalar(value, ..) => {
                if let Some(p) = self.next_node_path(mark, Some(&value)) {
                    self.index.values.entry(p).or_insert(loc);
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.next_node_path(mark, None) {
                    self.index.values.entry(p).or_insert(loc);
                }
            }
            Event::MappingStart(..) => {
                let p = self.next_node_path(mark, None).unwrap_or_default();
                self.index.values.entry(p.clone()).or_insert(loc);
                self.stack.push(Frame::Map {
                    path: p,
                    pending_key: None,
                });
            }
            Event::SequenceStart(..) => {
                let p = self.next_node_path(mark, None).unwrap_or_default();
                self.index.values.entry(p.clone()).or_insert(loc);
                self.stack.push(Frame::Seq { path: p, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

impl LocationIndex {
    /// Indexes a YAML document; an unparsable one gives an empty index.
    pub fn build(text: &str) -> LocationIndex {
        let mut b = Builder {
            index: LocationIndex::default(),
            stack: Vec::new(),
        };
        let mut parser = Parser::new_from_str(text);
        // Errors were already reported by the real parser; keep what we have.
        let _ = parser.load(&mut b, false);
        b.index
    }

    /// Location of the value at `path`, or of its nearest indexed ancestor.
    pub fn value(&self, path: &str) -> Option<Location> {
        let mut p = path.to_string();
        loop {
            if let Some(l) = self.values.get(&p) {
                return Some(*l);
            }
            p = parent(&p)?;
        }
    }

    /// Where to point a reader for `path`: its key when it has one (a block
    /// list's first item sits on the next line), else its value, else the
    /// nearest ancestor's.
    pub fn find(&self, path: &str) -> Option<Location> {
        let mut p = path.to_string();
        loop {
            if let Some(l) = self.keys.get(&p).or_else(|| self.values.get(&p)) {
                return Some(*l);
            }
            p = parent(&p)?;
        }
    }

    /// Location of the key that names `path` (for unknown fields), if any.
    pub fn key(&self, path: &str) -> Option<Location> {
        self.keys.get(path).copied()
    }
}

/// The path one level up: `a.b[2].c` → `a.b[2]` → `a.b` → `a` → `` → None.
pub fn parent(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(path[..cut].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: x\npopulations:\n  - profile: a\n    count: 3\n  - profile: b\n    regions: {eu: 1}\n";

    #[test]
    fn finds_nested_paths() {
        let ix = LocationIndex::build(DOC);
        assert_eq!(ix.value("name"), Some(Location { line: 1, column: 7 }));
        assert_eq!(
            ix.value("populations[1].profile"),
            Some(Location {
                line: 5,
                column: 14
            })
        );
        assert_eq!(
            ix.value("populations[1].regions.eu"),
            Some(Location {
                line: 6,
                column: 19
            })
        );
        assert_eq!(
            ix.key("populations[0].count"),
            Some(Location { line: 4, column: 5 })
        );
        // Unknown deeper paths fall back to the nearest ancestor.
        assert_eq!(
            ix.value("populations[0].count.deeper"),
            ix.value("populations[0].count")
        );
    }

    #[test]
    fn parent_walks_up() {
        assert_eq!(parent("a.b[2].c").as_deref(), Some("a.b[2]"));
        assert_eq!(parent("a.b[2]").as_deref(), Some("a.b"));
        assert_eq!(parent("a").as_deref(), Some(""));
        assert_eq!(parent(""), None);
    }
}
