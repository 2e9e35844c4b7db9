//! Sub-command options as Java's commons-cli defines them (`-t,--topic
//! <arg>`), parsed with clap, and the help text commons-cli prints
//! (`usage: mqadmin topicStatus [-h] [-n <arg>] -t <arg>`, one line per
//! option, sorted, 110 columns).

use clap::{Arg, ArgAction, ArgMatches, Command};

/// One option of a sub-command.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub short: char,
    pub long: &'static str,
    /// Takes a value (`-t <arg>`); otherwise a flag.
    pub arg: bool,
    pub required: bool,
    pub desc: &'static str,
}

/// A value option.
pub const fn val(short: char, long: &'static str, required: bool, desc: &'static str) -> Opt {
    Opt { short, long, arg: true, required, desc }
}

/// A flag.
pub const fn flag(short: char, long: &'static str, desc: &'static str) -> Opt {
    Opt { short, long, arg: false, required: false, desc }
}

/// The options every sub-command has (`ServerUtil.buildCommandlineOptions`).
const COMMON: [Opt; 2] = [
    flag('h', "help", "Print help"),
    val('n', "namesrvAddr", false, "Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'"),
];

/// A sub-command's name, description and options. `one_of` lists options of
/// which exactly one must be given (commons-cli's required `OptionGroup`).
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub desc: &'static str,
    pub opts: &'static [Opt],
    pub one_of: &'static [char],
}

/// Parsed options: values by short name.
#[derive(Debug)]
pub struct Args {
    matches: ArgMatches,
    opts: Vec<Opt>,
}

impl Args {
    /// The clap id of `-short`: its (trimmed) long name.
    fn id(&self, short: char) -> Option<&'static str> {
        self.opts.iter().find(|o| o.short == short).map(|o| o.long.trim())
    }

    /// The trimmed value of `-c`, if given; the first one if given twice, as
    /// Java's commons-cli answers.
    pub fn get(&self, short: char) -> Option<String> {
        let id = self.id(short)?;
        self.matches.try_get_many::<String>(id).ok().flatten()?.next().map(|v| v.trim().to_owned())
    }

    pub fn has(&self, short: char) -> bool {
        let Some(id) = self.id(short) else { return false };
        match self.matches.try_get_one::<bool>(id) {
            Ok(Some(set)) => *set,
            _ => self.get(short).is_some(),
        }
    }

    /// The value of a required option (checked by [`parse`]).
    pub fn req(&self, short: char) -> String {
        self.get(short).unwrap_or_default()
    }
}

/// Why the command line was not run.
#[derive(Debug)]
pub enum ParseOutcome {
    /// `-h`: print the help, exit 0.
    Help,
    /// Bad options: the problem in one line; print it and the help, exit 1.
    Invalid(String),
}

/// The id of the hidden positional that takes stray words.
const IGNORED_WORDS: &str = "ignored words";

fn all_opts(spec: &Spec) -> Vec<Opt> {
    let mut opts: Vec<Opt> = COMMON.to_vec();
    opts.extend_from_slice(spec.opts);
    opts
}

/// Parses a sub-command's arguments (those after its name).
pub fn parse(spec: &Spec, args: &[String]) -> Result<Args, ParseOutcome> {
    // As lenient as Java's commons-cli (PosixParser): a repeated option keeps
    // its first value, and stray words (`topicList -c DefaultCluster`) are
    // ignored instead of failing the command.
    let mut cmd = Command::new(spec.name)
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args_override_self(true)
        .arg(Arg::new(IGNORED_WORDS).num_args(1..).action(ArgAction::Append).hide(true));
    let opts = all_opts(spec);
    for opt in &opts {
        let long = opt.long.trim();
        let mut arg = Arg::new(long).short(opt.short);
        // Java lets long names hold spaces (`print log`); those have no long form here.
        if !long.contains(' ') {
            arg = arg.long(long);
        }
        cmd = cmd.arg(if opt.arg {
            arg.num_args(1).allow_hyphen_values(true).action(ArgAction::Append)
        } else {
            arg.action(ArgAction::SetTrue)
        });
    }
    let matches = match cmd.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned();
            return Err(ParseOutcome::Invalid(first));
        }
    };
    let parsed = Args { matches, opts };
    if parsed.has('h') {
        return Err(ParseOutcome::Help);
    }
    for opt in spec.opts.iter().filter(|o| o.required) {
        if !parsed.has(opt.short) {
            return Err(ParseOutcome::Invalid(format!("Missing required option: {}", opt.short)));
        }
    }
    if !spec.one_of.is_empty() {
        let given = spec.one_of.iter().filter(|c| parsed.has(**c)).count();
        let names: Vec<String> = spec.one_of.iter().map(|c| c.to_string()).collect();
        if given == 0 {
            return Err(ParseOutcome::Invalid(format!("Missing required option: [{}]", names.join(", "))));
        }
        if given > 1 {
            return Err(ParseOutcome::Invalid(format!("only one of the options {} may be given", names.join(", "))));
        }
    }
    Ok(parsed)
}

/// commons-cli's `HelpFormatter.printHelp("mqadmin <name>", options, true)`
/// at width 110.
pub fn help(spec: &Spec) -> String {
    let mut opts = all_opts(spec);
    opts.sort_by_key(|o| (o.short.to_ascii_lowercase(), o.short));
    let app = format!("mqadmin {}", spec.name);
    let mut parts: Vec<String> = Vec::new();
    let mut group_done = false;
    for o in &opts {
        let arg = if o.arg { " <arg>" } else { "" };
        if spec.one_of.contains(&o.short) {
            if !group_done {
                let group: Vec<String> = opts
                    .iter()
                    .filter(|g| spec.one_of.contains(&g.short))
                    .map(|g| format!("-{}{}", g.short, if g.arg { " <arg>" } else { "" }))
                    .collect();
                parts.push(format!("{} ", group.join(" | ")));
                group_done = true;
            }
            continue;
        }
        parts.push(if o.required { format!("-{}{arg}", o.short) } else { format!("[-{}{arg}]", o.short) });
    }
    let mut out = String::new();
    let indent = "usage: ".len() + app.len() + 1;
    let mut line = format!("usage: {app}");
    for part in parts {
        if line.len() + 1 + part.len() > 110 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(indent);
            line.push_str(&part);
        } else {
            line.push(' ');
            line.push_str(&part);
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
    let lefts: Vec<String> =
        opts.iter().map(|o| format!(" -{},--{}{}", o.short, o.long, if o.arg { " <arg>" } else { "" })).collect();
    let width = lefts.iter().map(String::len).max().unwrap_or(0);
    for (left, o) in lefts.iter().zip(&opts) {
        out.push_str(&format!("{left:<width$}   {}\n", o.desc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        name: "updateTopic",
        desc: "Update or create topic",
        opts: &[
            val('b', "brokerAddr", false, "create topic to which broker"),
            val('c', "clusterName", false, "create topic to which cluster"),
            val('t', "topic", true, "topic name"),
            flag('l', "list", "Use list format to print data"),
        ],
        one_of: &['b', 'c'],
    };

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_like_commons_cli() {
        let a = parse(&SPEC, &args(&["-t", " T ", "-c", "DefaultCluster", "-l", "-n", "127.0.0.1:9876"])).unwrap();
        assert_eq!(a.get('t').as_deref(), Some("T"));
        assert!(a.has('l') && a.has('c') && !a.has('b'));
        assert_eq!(a.get('n').as_deref(), Some("127.0.0.1:9876"));
        let long = parse(&SPEC, &args(&["--topic", "T", "--brokerAddr=1.2.3.4:10911"])).unwrap();
        assert_eq!(long.get('b').as_deref(), Some("1.2.3.4:10911"));
        assert!(
            matches!(parse(&SPEC, &args(&["-c", "C"])), Err(ParseOutcome::Invalid(m)) if m == "Missing required option: t")
        );
        assert!(matches!(parse(&SPEC, &args(&["-t", "T"])), Err(ParseOutcome::Invalid(m)) if m.contains("[b, c]")));
        assert!(
            matches!(parse(&SPEC, &args(&["-t", "T", "-c", "C", "-z"])), Err(ParseOutcome::Invalid(m)) if m.contains("-z"))
        );
        assert!(matches!(parse(&SPEC, &args(&["-h"])), Err(ParseOutcome::Help)));
    }

    #[test]
    fn help_like_commons_cli() {
        let text = help(&SPEC);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("usage: mqadmin updateTopic -b <arg> | -c <arg>  [-h] [-l] [-n <arg>] -t <arg>"));
        assert_eq!(lines.next(), Some(" -b,--brokerAddr <arg>    create topic to which broker"));
        assert!(text.contains(" -h,--help                Print help\n"), "{text}");
    }
}
