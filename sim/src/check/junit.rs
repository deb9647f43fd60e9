//! JUnit XML, the report format most CI systems read (GitHub Actions
//! reporters, GitLab, Jenkins): one `<testsuite>` per run, one
//! `<testcase>` per check, with `<failure>`, `<error>` or `<skipped>`.

use super::{Outcome, Status};

/// Escapes text for XML attributes and content.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => s.push('?'),
            c => s.push(c),
        }
    }
    s
}

/// The JUnit document of runs' outcomes, `(target, outcomes)` per run.
pub fn document(runs: &[(String, Vec<Outcome>)]) -> String {
    let count = |o: &[Outcome], f: fn(&Status) -> bool| o.iter().filter(|x| f(&x.status)).count();
    let all: Vec<Outcome> = runs.iter().flat_map(|(_, o)| o.clone()).collect();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"dmlsim check\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        all.len(),
        count(&all, |s| matches!(s, Status::Fail(_))),
        count(&all, |s| matches!(s, Status::Error(_))),
        count(&all, |s| matches!(s, Status::Skipped(_))),
    ));
    for (target, outcomes) in runs {
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">\n",
            escape(target),
            outcomes.len(),
            count(outcomes, |s| matches!(s, Status::Fail(_))),
            count(outcomes, |s| matches!(s, Status::Error(_))),
            count(outcomes, |s| matches!(s, Status::Skipped(_))),
        ));
        for o in outcomes {
            let open = format!(
                "    <testcase classname=\"dmlsim.{}\" name=\"{}\" time=\"0\"",
                o.kind.label(),
                escape(&o.name)
            );
            let first_line = |d: &str| escape(d.lines().next().unwrap_or(""));
            match &o.status {
                Status::Pass => x.push_str(&format!("{open}/>\n")),
                Status::Fail(d) => x.push_str(&format!(
                    "{open}>\n      <failure message=\"{}\" type=\"violation\">{}\n{}</failure>\n    </testcase>\n",
                    first_line(d),
                    escape(&o.what),
                    escape(d)
                )),
                Status::Error(d) => x.push_str(&format!(
                    "{open}>\n      <error message=\"{}\" type=\"bad_input\">{}</error>\n    </testcase>\n",
                    first_line(d),
                    escape(d)
                )),
                Status::Skipped(d) => x.push_str(&format!(
                    "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    escape(d)
                )),
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Kind;

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(
            escape("a < b && c > \"d\" 'e'"),
            "a &lt; b &amp;&amp; c &gt; &quot;d&quot; &apos;e&apos;"
        );
        assert_eq!(escape("x\u{1}y"), "x?y");
    }

    #[test]
    fn counts_and_elements_follow_the_outcomes() {
        let o = |status| Outcome {
            kind: Kind::Check,
            name: "n < 1".into(),
            what: "n < 1".into(),
            status,
        };
        let doc = document(&[(
            "out/x".into(),
            vec![
                o(Status::Pass),
                o(Status::Fail("n = 2".into())),
                o(Status::Error("bad".into())),
                o(Status::Skipped("no table".into())),
            ],
        )]);
        assert!(doc.contains("<testsuites name=\"dmlsim check\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\">"));
        assert!(
            doc.contains("<testcase classname=\"dmlsim.check\" name=\"n &lt; 1\" time=\"0\"/>")
        );
        assert!(doc.contains("<failure message=\"n = 2\" type=\"violation\">"));
        assert!(doc.contains("<skipped message=\"no table\"/>"));
    }
}
