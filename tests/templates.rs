//! Templates as comms teams write them: files per language, phrasings,
//! escaping, strict rendering and variable checking.

use serde_json::{json, Value};
use squall::templates::{
    reference_markdown, Escape, StepContext, TemplateError, TemplateProblem, TemplateSet,
};
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates/good")
}

fn fixtures() -> TemplateSet {
    let (set, problems) = TemplateSet::load_dir(&fixture_dir(), "en");
    assert_eq!(problems, vec![], "the fixture templates load cleanly");
    set
}

/// A templates directory holding exactly `files` (relative path, content).
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, TemplateSet, Vec<TemplateProblem>) {
    let dir = dir_with(files);
    let (set, problems) = TemplateSet::load_dir(dir.path(), "en");
    (dir, set, problems)
}

fn draft_data(mention_text: &str) -> Value {
    let mut data = StepContext::Draft.sample_data();
    data["mention"]["text"] = json!(mention_text);
    data
}

fn render_text(set: &TemplateSet, name: &str, lang: &str, data: &Value) -> String {
    set.render(name, lang, data, 0, Escape::Text).unwrap().text
}

#[test]
fn templates_are_named_by_their_path_and_languages_by_their_suffix() {
    let set = fixtures();
    assert_eq!(
        set.names(),
        [
            "draft/apology",
            "draft/quote",
            "status/site-down",
            "webhook/event"
        ]
    );
    assert_eq!(
        set.languages("status/site-down"),
        ["en", "he", "ja", "pl", "ru"]
    );
    assert_eq!(set.languages("draft/apology"), ["en", "pl"]);
    assert!(set.contains("draft/quote"));
    assert!(!set.contains("draft/quote.en"));
    assert_eq!(set.languages("no/such"), Vec::<String>::new());
}

#[test]
fn a_language_without_a_variant_falls_back_to_the_default_language() {
    let set = fixtures();
    let data = StepContext::Status.sample_data();
    let german = set
        .render("status/site-down", "de", &data, 0, Escape::Text)
        .unwrap();
    assert_eq!(german.lang, "en");
    assert!(german
        .text
        .starts_with("Acme Mobile: we know about the problem"));
    let polish = set
        .render("status/site-down", "pl-PL", &data, 0, Escape::Text)
        .unwrap();
    assert_eq!(polish.lang, "pl");
    assert!(polish.text.contains("wiemy o problemie"));
}

#[test]
fn the_seed_picks_the_phrasing_and_the_same_seed_picks_the_same_one() {
    let set = fixtures();
    let data = StepContext::Draft.sample_data();
    let texts: Vec<String> = (0..3)
        .map(|seed| {
            set.render("draft/apology", "en", &data, seed, Escape::Text)
                .unwrap()
                .text
        })
        .collect();
    assert_eq!(texts[0].split(',').next(), Some("Hi Jan"));
    assert_ne!(texts[0], texts[1]);
    assert_ne!(texts[1], texts[2]);
    assert_ne!(texts[0], texts[2]);
    for seed in [0, 1, 2, 7, u64::MAX] {
        let first = set
            .render("draft/apology", "en", &data, seed, Escape::Text)
            .unwrap();
        let again = set
            .render("draft/apology", "en", &data, seed, Escape::Text)
            .unwrap();
        assert_eq!(first, again, "seed {seed}");
        assert_eq!(first.text, texts[(seed % 3) as usize], "seed {seed}");
    }
}

#[test]
fn rendered_text_is_trimmed() {
    let (_dir, set, problems) = load(&[("t.hbs", "\n\n   Hello {{brand.name}}  \n\n")]);
    assert_eq!(problems, vec![]);
    let data = StepContext::Status.sample_data();
    assert_eq!(render_text(&set, "t", "en", &data), "Hello Acme Mobile");
}

#[test]
fn text_leaves_customer_text_alone_and_html_escapes_it() {
    let set = fixtures();
    let data = draft_data("<b>down</b> & out");
    let text = set
        .render("draft/quote", "en", &data, 0, Escape::Text)
        .unwrap();
    assert_eq!(text.text, r#"Jan Kowalski wrote: "<b>down</b> & out""#);
    let html = set
        .render("draft/quote", "en", &data, 0, Escape::Html)
        .unwrap();
    assert_eq!(
        html.text,
        r#"Jan Kowalski wrote: "&lt;b&gt;down&lt;/b&gt; &amp; out""#
    );
}

#[test]
fn json_escaping_keeps_a_webhook_body_valid_json() {
    let set = fixtures();
    let mut data = StepContext::Webhook.sample_data();
    data["incident"]["update"] = json!("the \"core\" router\\switch\nis down");
    let body = set
        .render("webhook/event", "en", &data, 0, Escape::Json)
        .unwrap();
    let parsed: Value = serde_json::from_str(&body.text).unwrap();
    assert_eq!(
        parsed["update"],
        json!("the \"core\" router\\switch\nis down")
    );
    assert_eq!(parsed["event"], json!("opened"));
}

#[test]
fn customer_text_with_handlebars_syntax_is_rendered_literally() {
    let set = fixtures();
    let hostile = [
        "{{brand.name}}",
        "{{#each}}",
        "{{#each brand}}{{this}}{{/each}}",
        "{{{incident.link}}} {{> partial}} {{!comment}}",
    ];
    for customer_text in hostile {
        let data = draft_data(customer_text);
        for escape in [Escape::Text, Escape::Html] {
            let rendered = set.render("draft/quote", "en", &data, 0, escape).unwrap();
            let expected_text = match escape {
                Escape::Html => customer_text.replace('>', "&gt;"),
                _ => customer_text.to_owned(),
            };
            assert_eq!(
                rendered.text,
                format!("Jan Kowalski wrote: \"{expected_text}\""),
                "{escape:?}"
            );
        }
    }
}

#[test]
fn a_missing_variable_is_an_error_not_an_empty_string() {
    let set = fixtures();
    let mut data = StepContext::Draft.sample_data();
    data.as_object_mut().unwrap().remove("mention");
    match set.render("draft/quote", "en", &data, 0, Escape::Text) {
        Err(TemplateError::Render { name, reason }) => {
            assert_eq!(name, "draft/quote");
            assert!(reason.contains("`mention.text` is missing"), "{reason}");
            assert!(reason.contains("quote.hbs:1:"), "{reason}");
        }
        other => panic!("expected a render error, got {other:?}"),
    }
}

#[test]
fn an_unknown_template_is_an_error() {
    let set = fixtures();
    let result = set.render("status/nope", "en", &json!({}), 0, Escape::Text);
    assert!(matches!(result, Err(TemplateError::Unknown(name)) if name == "status/nope"));
}

#[test]
fn an_unclosed_block_is_reported_where_it_was_opened() {
    let source = "Hello {{author.name}},\n\n{{#if private}}\nWe will write to you privately.\n";
    let (dir, set, problems) = load(&[
        ("draft/broken.hbs", source),
        ("draft/fine.hbs", "Hi {{author.name}}"),
    ]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert_eq!(problem.file, dir.path().join("draft/broken.hbs"));
    assert_eq!((problem.line, problem.column), (3, 1));
    assert!(problem.message.contains("`{{#if}}`"), "{}", problem.message);
    assert_eq!(problem.hint.as_deref(), Some("close it with `{{/if}}`"));
    assert!(!set.contains("draft/broken"), "a broken file is not loaded");
    assert!(set.contains("draft/fine"), "the other files still are");
}

#[test]
fn compile_errors_in_later_phrasings_point_at_the_line_in_the_whole_file() {
    let cases: [(&str, (usize, usize)); 3] = [
        (
            "a\n{{!-- phrasing --}}\nb\n  {{#if x}} {{/each}}\n",
            (4, 13),
        ),
        ("a\n{{!-- phrasing --}}\nb {{oops\n", (3, 3)),
        ("a\n{{!-- phrasing --}}\n\n{{!-- phrasing --}}\nc\n", (3, 1)),
    ];
    for (source, expected) in cases {
        let (_dir, _set, problems) = load(&[("t.hbs", source)]);
        assert_eq!(problems.len(), 1, "{source:?}: {problems:#?}");
        assert_eq!(
            (problems[0].line, problems[0].column),
            expected,
            "{source:?}"
        );
        assert!(problems[0].hint.is_some());
    }
}

#[test]
fn a_template_without_a_default_language_variant_is_a_problem() {
    let (dir, set, problems) = load(&[("status/only-polish.pl.hbs", "Awaria.")]);
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].file,
        dir.path().join("status/only-polish.pl.hbs")
    );
    assert!(
        problems[0].message.contains("`en`"),
        "{}",
        problems[0].message
    );
    assert!(problems[0]
        .hint
        .as_deref()
        .is_some_and(|h| h.contains("only-polish.en.hbs")));
    let result = set.render("status/only-polish", "de", &json!({}), 0, Escape::Text);
    assert!(matches!(result, Err(TemplateError::MissingLanguage { .. })));
}

#[test]
fn two_files_for_the_same_language_are_a_problem() {
    let (dir, set, problems) = load(&[("t.hbs", "one"), ("t.en.hbs", "two")]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, dir.path().join("t.hbs"));
    assert_eq!(set.languages("t"), ["en"]);
}

#[test]
fn a_file_suffix_that_is_not_a_language_code_is_a_problem() {
    let (_dir, set, problems) = load(&[("t.hbs", "x"), ("t.english.hbs", "y"), ("t.xx.hbs", "z")]);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(set.languages("t"), ["en"]);
}

#[test]
fn a_missing_directory_is_a_problem_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (set, problems) = TemplateSet::load_dir(&dir.path().join("nope"), "en");
    assert_eq!(problems.len(), 1);
    assert!(set.names().is_empty());
}

#[test]
fn check_variables_flags_what_the_context_does_not_provide() {
    struct Case {
        source: &'static str,
        ctx: StepContext,
        expected: &'static [(&'static str, usize, usize)],
    }
    let cases = [
        Case {
            source: "Hi {{author.first_name}},\n  thanks {{author.nickname}}",
            ctx: StepContext::Draft,
            expected: &[("author.nickname", 2, 12)],
        },
        Case {
            source: "{{brand.name}} is down.\nYou wrote: {{truncate mention.text 40}}",
            ctx: StepContext::Status,
            expected: &[("mention.text", 2, 23)],
        },
        Case {
            source: "{{#each brand}}{{this}} {{@key}} {{../lang}}{{/each}}\n\
                     {{#with author}}{{first_name}} {{@root.mention.text}}{{/with}}",
            ctx: StepContext::Draft,
            expected: &[],
        },
        Case {
            source: "{{#each incident.updates}}{{this.text}}{{/each}}",
            ctx: StepContext::Status,
            expected: &[("incident.updates", 1, 9)],
        },
        Case {
            source:
                "{{#if (eq event \"opened\")}}{{recipient.name}}{{else}}{{recipient.email}}{{/if}}",
            ctx: StepContext::Notify,
            expected: &[("recipient.email", 1, 56)],
        },
        Case {
            source: "{{default incident.eta customer.name}} {{@root.customer.name}}",
            ctx: StepContext::Webhook,
            expected: &[("customer.name", 1, 24)],
        },
    ];
    for case in cases {
        let (_dir, set, problems) = load(&[("t.hbs", case.source)]);
        assert_eq!(problems, vec![], "{}", case.source);
        let found: Vec<(String, usize, usize)> = set
            .check_variables("t", case.ctx)
            .into_iter()
            .map(|p| (p.message, p.line, p.column))
            .collect();
        let expected: Vec<(String, usize, usize)> = case
            .expected
            .iter()
            .map(|(path, line, column)| {
                (
                    format!(
                        "`{path}` is not available in a {} template",
                        case.ctx.as_str()
                    ),
                    *line,
                    *column,
                )
            })
            .collect();
        assert_eq!(found, expected, "{}", case.source);
    }
}

#[test]
fn check_variables_follows_with_and_each_into_their_bodies() {
    // (template, where, message)
    let cases = [
        (
            "Hi {{#with author}}{{nickname}}{{/with}}",
            (1, 22),
            "`nickname` is not available in a draft template: inside `{{#with author}}` it means `author.nickname`",
        ),
        (
            "{{#with author}}\n{{#with ../incident}}{{titel}}{{/with}}{{/with}}",
            (2, 24),
            "`titel` is not available in a draft template: inside `{{#with ../incident}}` it means `incident.titel`",
        ),
        (
            "{{#each brand}}{{this.name}}{{/each}}",
            (1, 18),
            "`this.name` is not available in a draft template: inside `{{#each brand}}` it is read from each item of `brand`",
        ),
    ];
    for (source, place, message) in cases {
        let (_dir, set, problems) = load(&[("t.hbs", source)]);
        assert_eq!(problems, vec![], "{source}");
        let found = set.check_variables("t", StepContext::Draft);
        assert_eq!(found.len(), 1, "{source}: {found:#?}");
        assert_eq!((found[0].line, found[0].column), place, "{source}");
        assert_eq!(found[0].message, message, "{source}");
    }
    // A block over a variable that does not exist is reported once, not
    // again for every path inside it.
    let (_dir, set, _) = load(&[("t.hbs", "{{#with autor}}{{name}} {{handle}}{{/with}}")]);
    let found = set.check_variables("t", StepContext::Draft);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].message,
        "`autor` is not available in a draft template"
    );
}

#[test]
fn check_reports_what_only_the_sample_data_shows_with_how_to_fix_it() {
    let (dir, set, _) = load(&[(
        "t.hbs",
        "fine {{brand.name}}\n{{!-- phrasing --}}\n{{truncate brand.name \"long\"}}",
    )]);
    assert_eq!(set.check_variables("t", StepContext::Status), vec![]);
    let problems = set.check("t", StepContext::Status);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, dir.path().join("t.hbs"));
    assert_eq!(problems[0].line, 3);
    let hint = problems[0].hint.as_deref().unwrap_or_default();
    assert!(
        hint.starts_with("write it like `{{truncate text 80}}`"),
        "{hint}"
    );
    assert!(hint.contains("sample data of a status step"), "{hint}");
}

/// The hint of the one problem found (none or several fail the test).
fn only_hint(problems: &[TemplateProblem]) -> &str {
    let [problem] = problems else {
        panic!("one problem expected: {problems:#?}")
    };
    problem.hint.as_deref().unwrap_or_default()
}

#[test]
fn check_also_renders_the_other_side_of_each_yes_no_value() {
    // The sample draft is public (`private` false): only the flipped
    // sample takes the first branch, whose call fails when rendered.
    let (_dir, set, _) = load(&[(
        "t.hbs",
        "{{#if private}}{{truncate mention.text \"short\"}}{{else}}Hi {{author.first_name}}{{/if}}",
    )]);
    let problems = set.check("t", StepContext::Draft);
    assert!(
        only_hint(&problems).starts_with("write it like `{{truncate text 80}}`"),
        "{problems:#?}"
    );
    let (_dir, set, _) = load(&[(
        "t.hbs",
        "{{#if private}}{{truncate mention.text 80}}{{else}}Hi {{author.first_name}}{{/if}}",
    )]);
    assert_eq!(set.check("t", StepContext::Draft), vec![]);
}

#[test]
fn check_reports_a_problem_the_static_checks_find_once_and_does_not_render_that_phrasing() {
    let (_dir, set, _) = load(&[("t.hbs", "{{#with incident}}{{titel}}{{/with}}")]);
    assert_eq!(set.check_renders("t", StepContext::Status).len(), 1);
    let problems = set.check("t", StepContext::Status);
    assert!(
        only_hint(&problems).starts_with("did you mean `title`?"),
        "{problems:#?}"
    );
}

#[test]
fn check_parses_a_webhook_body_rendered_as_the_engine_renders_it() {
    let set = fixtures();
    assert_eq!(set.check("webhook/event", StepContext::Webhook), vec![]);
    let (_dir, set, _) = load(&[("t.hbs", "{\"title\": {{incident.title}}}")]);
    assert_eq!(
        set.check("t", StepContext::Status),
        vec![],
        "text needs no JSON"
    );
    let problems = set.check("t", StepContext::Webhook);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!((problems[0].line, problems[0].column), (1, 11));
    assert!(problems[0]
        .message
        .starts_with("the webhook body is not JSON"));
}

#[test]
fn check_variables_suggests_the_closest_variable_and_lists_the_others() {
    let (_dir, set, _) = load(&[("t.hbs", "{{author.nickname}}")]);
    let problems = set.check_variables("t", StepContext::Draft);
    let hint = problems[0].hint.as_deref().unwrap();
    assert!(hint.starts_with("did you mean `author.name`?"), "{hint}");
    assert!(hint.contains("`mention.excerpt`"), "{hint}");
}

#[test]
fn check_variables_checks_every_language_and_phrasing_at_its_line() {
    let (dir, set, problems) = load(&[
        (
            "t.hbs",
            "fine {{brand.name}}\n{{!-- phrasing --}}\nbad {{brand.nam}}\n",
        ),
        ("t.pl.hbs", "{{brand.nam}} {{brand.nam}}"),
    ]);
    assert_eq!(problems, vec![]);
    let found: Vec<(PathBuf, usize, usize)> = set
        .check_variables("t", StepContext::Status)
        .into_iter()
        .map(|p| (p.file, p.line, p.column))
        .collect();
    assert_eq!(
        found,
        [
            (dir.path().join("t.hbs"), 3, 7),
            (dir.path().join("t.pl.hbs"), 1, 3)
        ]
    );
}

#[test]
fn check_variables_on_an_unknown_template_says_where_to_create_it() {
    let set = fixtures();
    let problems = set.check_variables("status/nope", StepContext::Status);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].file, fixture_dir().join("status/nope.en.hbs"));
}

#[test]
fn the_fixture_templates_are_valid_for_their_step() {
    let set = fixtures();
    for name in set.names() {
        let ctx = match name.split('/').next() {
            Some("status") => StepContext::Status,
            Some("draft") => StepContext::Draft,
            Some("webhook") => StepContext::Webhook,
            other => panic!("no context for {other:?}"),
        };
        assert_eq!(set.check_variables(&name, ctx), vec![], "{name}");
        assert_eq!(set.check_renders(&name, ctx), vec![], "{name}");
        assert_eq!(set.check(&name, ctx), vec![], "{name}");
    }
}

#[test]
fn check_renders_reports_a_variant_that_fails_with_the_sample_data() {
    let (dir, set, _) = load(&[
        ("t.hbs", "{{brand.name}}"),
        (
            "t.ru.hbs",
            "ok\n{{!-- phrasing --}}\nсбой: {{truncate brand.name \"много\"}}",
        ),
    ]);
    let problems = set.check_renders("t", StepContext::Status);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, dir.path().join("t.ru.hbs"));
    assert_eq!(problems[0].line, 3);
}

#[test]
fn the_reference_lists_every_context_and_every_variable() {
    let markdown = reference_markdown();
    for ctx in StepContext::ALL {
        assert!(
            markdown.contains(&format!("### `{}`", ctx.as_str())),
            "{ctx}"
        );
        for variable in ctx.variables() {
            assert!(
                markdown.contains(&format!("`{{{{{}}}}}`", variable.path)),
                "{}",
                variable.path
            );
        }
    }
    assert!(markdown.contains("{{truncate text 80}}"));
}

#[test]
fn sample_data_gives_every_declared_variable_a_value_in_strict_mode() {
    for ctx in StepContext::ALL {
        let source: String = ctx
            .variables()
            .iter()
            .map(|v| format!("{}=[{{{{{}}}}}]\n", v.path, v.path))
            .collect();
        let (_dir, set, problems) = load(&[("all.hbs", &source)]);
        assert_eq!(problems, vec![], "{ctx}");
        assert_eq!(set.check_variables("all", ctx), vec![], "{ctx}");
        let rendered = render_text(&set, "all", "en", &ctx.sample_data());
        for line in rendered.lines() {
            assert!(!line.ends_with("=[]"), "{ctx}: empty sample for {line}");
        }
        assert_eq!(rendered.lines().count(), ctx.variables().len());
    }
}

#[test]
fn hebrew_japanese_russian_and_polish_text_round_trip_unchanged() {
    let set = fixtures();
    let data = StepContext::Status.sample_data();
    let cases = [
        ("he", "Acme Mobile: אנחנו יודעים על התקלה (Mobile data outage in Warsaw) ועובדים על תיקונה. עדכונים: https://status.acme.example"),
        ("ja", "Acme Mobile：現在、障害（Mobile data outage in Warsaw）が発生しており、復旧作業中です。最新情報：https://status.acme.example"),
        ("ru", "Acme Mobile: мы знаем о проблеме (Mobile data outage in Warsaw) и уже работаем над ней. Новости: https://status.acme.example"),
        ("pl", "Acme Mobile: wiemy o problemie (Mobile data outage in Warsaw) i pracujemy nad nim. Przewidywana naprawa: around 23:30. Aktualności: https://status.acme.example"),
    ];
    for (lang, expected) in cases {
        let rendered = set
            .render("status/site-down", lang, &data, 0, Escape::Html)
            .unwrap();
        assert_eq!(
            (rendered.lang.as_str(), rendered.text.as_str()),
            (lang, expected)
        );
    }
    for customer_text in [
        "שלום, אין לי אינטרנט",
        "ネットが繋がりません",
        "Интернет не работает",
        "Zażółć gęślą jaźń",
    ] {
        for escape in [Escape::Text, Escape::Html] {
            let rendered = set
                .render("draft/quote", "en", &draft_data(customer_text), 0, escape)
                .unwrap();
            assert_eq!(
                rendered.text,
                format!("Jan Kowalski wrote: \"{customer_text}\"")
            );
        }
    }
}
