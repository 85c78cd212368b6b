//! JUnit XML for CI systems: one testcase per check (classname = area); `fail` and `error`
//! become `<failure>`, `skip` becomes `<skipped>`, warnings pass with their text in system-out.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::Report;
use crate::checks::Status;

/// Renders the report as a JUnit XML document (quick-xml escapes text and attributes).
pub fn render(report: &Report) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let emit = |w: &mut Writer<Vec<u8>>, e: Event<'_>| {
        w.write_event(e).expect("writing XML into memory");
    };
    emit(
        &mut w,
        Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
    );

    let s = &report.summary;
    let name = format!("lbctl {}", report.command);
    let tests = s.total.to_string();
    let failures = (s.fail + s.error).to_string();
    let skipped = s.skip.to_string();
    let counts = [
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", "0"),
        ("skipped", skipped.as_str()),
    ];

    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", name.as_str()));
    suites.extend_attributes(counts);
    emit(&mut w, Event::Start(suites));

    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", name.as_str()));
    suite.extend_attributes(counts);
    emit(&mut w, Event::Start(suite));

    let mut properties: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &report.target {
        properties.extend([
            ("server", t.server.clone()),
            ("context", t.context.clone()),
            (
                "serverVersion",
                t.server_version.clone().unwrap_or_default(),
            ),
        ]);
    }
    // With --nodes: which nodes fail, as the human report's `nodes:` line says it.
    if !report.nodes.is_empty() {
        properties.push(("nodes", report.nodes_line()));
    }
    if !properties.is_empty() {
        emit(&mut w, Event::Start(BytesStart::new("properties")));
        for (k, v) in &properties {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", *k));
            p.push_attribute(("value", v.as_str()));
            emit(&mut w, Event::Empty(p));
        }
        emit(&mut w, Event::End(BytesEnd::new("properties")));
    }

    for c in &report.checks {
        let case_name = match &c.node {
            Some(node) => format!("{} {node} {}", c.id, c.title),
            None => format!("{} {}", c.id, c.title),
        };
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("name", case_name.as_str()));
        case.push_attribute(("classname", c.area.as_str()));
        let body = match &c.hint {
            Some(h) => format!("{}\nhint: {h}\ndocs: {}", c.message, c.docs),
            None => format!("{}\ndocs: {}", c.message, c.docs),
        };
        match c.status {
            Status::Pass => emit(&mut w, Event::Empty(case)),
            Status::Fail | Status::Error => {
                emit(&mut w, Event::Start(case));
                let mut failure = BytesStart::new("failure");
                failure.push_attribute(("message", c.message.as_str()));
                failure.push_attribute(("type", c.status.as_str()));
                emit(&mut w, Event::Start(failure));
                emit(&mut w, Event::Text(BytesText::new(&body)));
                emit(&mut w, Event::End(BytesEnd::new("failure")));
                emit(&mut w, Event::End(BytesEnd::new("testcase")));
            }
            Status::Skip => {
                emit(&mut w, Event::Start(case));
                let mut skipped = BytesStart::new("skipped");
                skipped.push_attribute(("message", c.message.as_str()));
                emit(&mut w, Event::Empty(skipped));
                emit(&mut w, Event::End(BytesEnd::new("testcase")));
            }
            Status::Warn => {
                emit(&mut w, Event::Start(case));
                emit(&mut w, Event::Start(BytesStart::new("system-out")));
                emit(
                    &mut w,
                    Event::Text(BytesText::new(&format!("warning: {body}"))),
                );
                emit(&mut w, Event::End(BytesEnd::new("system-out")));
                emit(&mut w, Event::End(BytesEnd::new("testcase")));
            }
        }
    }
    emit(&mut w, Event::End(BytesEnd::new("testsuite")));
    emit(&mut w, Event::End(BytesEnd::new("testsuites")));
    let mut text = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;
    use quick_xml::Reader;

    #[test]
    fn renders_junit() {
        insta::assert_snapshot!(render(&sample::report()));
    }

    #[test]
    fn output_is_well_formed_and_escapes_text() {
        let xml = render(&sample::report());
        assert!(xml.contains("&lt;&amp; &quot;quoted&quot;&gt;"));
        let mut reader = Reader::from_str(&xml);
        let mut depth = 0i32;
        let mut cases = 0;
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) => {
                    depth += 1;
                    cases += usize::from(e.name().as_ref() == b"testcase");
                }
                Event::Empty(e) => cases += usize::from(e.name().as_ref() == b"testcase"),
                Event::End(_) => depth -= 1,
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
        assert_eq!(cases, 5);
    }
}
