//! Loading a whole AOF set: truncation, corruption, missing files, rewrite
//! steps.

use super::*;

struct Recorder {
    groups: Vec<Vec<(usize, String)>>,
    rdb_bases: Vec<PathBuf>,
    fail_on: Option<&'static str>,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            groups: Vec::new(),
            rdb_bases: Vec::new(),
            fail_on: None,
        }
    }
}

impl Replayer for Recorder {
    fn load_rdb_base(&mut self, path: &Path) -> Result<(), String> {
        self.rdb_bases.push(path.to_owned());
        Ok(())
    }

    fn apply(&mut self, group: &[Effect]) -> Result<(), String> {
        let shown: Vec<(usize, String)> = group
            .iter()
            .map(|e| {
                let words: Vec<String> = e
                    .argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                (e.db, words.join(" "))
            })
            .collect();
        if let Some(bad) = self.fail_on {
            if shown.iter().any(|(_, s)| s.starts_with(bad)) {
                return Err("ERR unknown command".to_owned());
            }
        }
        self.groups.push(shown);
        Ok(())
    }
}

fn temp_paths(name: &str) -> AofPaths {
    let dir = std::env::temp_dir().join(format!("ferrite-aof-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    AofPaths {
        dir,
        filename: "appendonly.aof".to_owned(),
    }
}

fn resp(commands: &[&[&str]]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in commands {
        encode_command(&mut out, c);
    }
    out
}

fn write_set(paths: &AofPaths, files: &[(&str, FileKind, Vec<u8>)]) {
    let mut manifest = Manifest::default();
    for (i, (name, kind, data)) in files.iter().enumerate() {
        std::fs::write(paths.dir.join(name), data).unwrap();
        let file = AofFile {
            name: (*name).to_owned(),
            seq: i as u64 + 1,
            kind: *kind,
        };
        match kind {
            FileKind::Base => manifest.base = Some(file),
            _ => manifest.incrs.push(file),
        }
    }
    write_manifest(paths, &manifest).unwrap();
}

#[test]
fn loads_base_and_incrs_in_order_with_groups() {
    let paths = temp_paths("order");
    let base = resp(&[&["SET", "a", "1"]]);
    let incr1 = resp(&[
        &["SELECT", "2"],
        &["MULTI"],
        &["SET", "b", "2"],
        &["INCR", "b"],
        &["EXEC"],
    ]);
    let incr2 = resp(&[&["DEL", "a"]]);
    write_set(
        &paths,
        &[
            ("appendonly.aof.1.base.aof", FileKind::Base, base),
            ("appendonly.aof.1.incr.aof", FileKind::Incr, incr1),
            ("appendonly.aof.2.incr.aof", FileKind::Incr, incr2),
        ],
    );
    let mut rec = Recorder::new();
    let (manifest, report) = load(&paths, true, &mut rec).unwrap().unwrap();
    assert_eq!(manifest.incrs.len(), 2);
    assert_eq!(report.files, 3);
    assert_eq!(report.commands, 4);
    assert_eq!(
        rec.groups,
        vec![
            vec![(0, "SET a 1".to_owned())],
            vec![(2, "SET b 2".to_owned()), (2, "INCR b".to_owned())],
            vec![(0, "DEL a".to_owned())],
        ]
    );
}

#[test]
fn rdb_base_goes_to_the_rdb_loader() {
    let paths = temp_paths("rdbbase");
    write_set(
        &paths,
        &[
            (
                "appendonly.aof.1.base.rdb",
                FileKind::Base,
                b"REDIS0010...".to_vec(),
            ),
            (
                "appendonly.aof.1.incr.aof",
                FileKind::Incr,
                resp(&[&["SET", "x", "1"]]),
            ),
        ],
    );
    let mut rec = Recorder::new();
    load(&paths, true, &mut rec).unwrap().unwrap();
    assert_eq!(
        rec.rdb_bases,
        vec![paths.dir.join("appendonly.aof.1.base.rdb")]
    );
    assert_eq!(rec.groups.len(), 1);
}

#[test]
fn truncated_last_record_is_cut_when_allowed() {
    let paths = temp_paths("trunc");
    let mut data = resp(&[&["SET", "a", "1"], &["SET", "b", "2"]]);
    let valid = data.len() as u64;
    data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc");
    write_set(
        &paths,
        &[("appendonly.aof.1.incr.aof", FileKind::Incr, data.clone())],
    );
    let mut rec = Recorder::new();
    let err = load(&paths, false, &mut rec).unwrap_err();
    assert!(
        matches!(&err, AofError::Truncated { offset, .. } if *offset == valid),
        "{err}"
    );
    assert!(
        err.to_string().contains("appendonly.aof.1.incr.aof"),
        "{err}"
    );
    // The file is untouched when refused.
    assert_eq!(
        std::fs::read(paths.dir.join("appendonly.aof.1.incr.aof")).unwrap(),
        data
    );

    let mut rec = Recorder::new();
    let (_, report) = load(&paths, true, &mut rec).unwrap().unwrap();
    assert_eq!(rec.groups.len(), 2);
    assert_eq!(report.truncated.as_ref().unwrap().1, valid);
    assert_eq!(
        std::fs::metadata(paths.dir.join("appendonly.aof.1.incr.aof"))
            .unwrap()
            .len(),
        valid
    );
}

#[test]
fn unfinished_multi_is_reverted_as_truncation() {
    let paths = temp_paths("multi");
    let mut data = resp(&[&["SET", "a", "1"]]);
    let valid = data.len() as u64;
    data.extend(resp(&[&["MULTI"], &["SET", "b", "2"]]));
    write_set(
        &paths,
        &[("appendonly.aof.1.incr.aof", FileKind::Incr, data)],
    );
    let mut rec = Recorder::new();
    let (_, report) = load(&paths, true, &mut rec).unwrap().unwrap();
    assert_eq!(rec.groups, vec![vec![(0, "SET a 1".to_owned())]]);
    assert_eq!(report.truncated.unwrap().1, valid);
}

#[test]
fn truncation_in_a_middle_file_refuses() {
    let paths = temp_paths("midtrunc");
    let mut first = resp(&[&["SET", "a", "1"]]);
    first.extend_from_slice(b"*2\r\n$3\r\nDEL");
    write_set(
        &paths,
        &[
            ("appendonly.aof.1.incr.aof", FileKind::Incr, first),
            (
                "appendonly.aof.2.incr.aof",
                FileKind::Incr,
                resp(&[&["SET", "b", "1"]]),
            ),
        ],
    );
    let err = load(&paths, true, &mut Recorder::new()).unwrap_err();
    assert!(matches!(err, AofError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("only the last file"), "{err}");
}

#[test]
fn corruption_names_file_and_offset() {
    let paths = temp_paths("corrupt");
    let mut data = resp(&[&["SET", "a", "1"]]);
    let offset = data.len() as u64;
    data.extend_from_slice(b"garbage\r\n");
    data.extend(resp(&[&["SET", "b", "2"]]));
    write_set(
        &paths,
        &[("appendonly.aof.1.incr.aof", FileKind::Incr, data)],
    );
    let err = load(&paths, true, &mut Recorder::new()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, AofError::Corrupt { offset: o, .. } if *o == offset),
        "{text}"
    );
    assert!(text.contains("appendonly.aof.1.incr.aof"), "{text}");
    assert!(text.contains(&format!("offset {offset}")), "{text}");
}

#[test]
fn replay_error_names_file_offset_and_command() {
    let paths = temp_paths("replayerr");
    let mut data = resp(&[&["SET", "a", "1"]]);
    let offset = data.len() as u64;
    data.extend(resp(&[&["BOGUS", "x"]]));
    write_set(
        &paths,
        &[("appendonly.aof.1.incr.aof", FileKind::Incr, data)],
    );
    let mut rec = Recorder::new();
    rec.fail_on = Some("BOGUS");
    let err = load(&paths, true, &mut rec).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("offset {offset}")) && text.contains("BOGUS"),
        "{text}"
    );
}

#[test]
fn missing_file_refuses() {
    let paths = temp_paths("missing");
    write_set(
        &paths,
        &[(
            "appendonly.aof.1.incr.aof",
            FileKind::Incr,
            resp(&[&["SET", "a", "1"]]),
        )],
    );
    std::fs::remove_file(paths.dir.join("appendonly.aof.1.incr.aof")).unwrap();
    let err = load(&paths, true, &mut Recorder::new()).unwrap_err();
    assert!(matches!(err, AofError::MissingFile { .. }), "{err}");
    assert!(
        err.to_string().contains("appendonly.aof.1.incr.aof"),
        "{err}"
    );
}

#[test]
fn no_manifest_is_none() {
    let paths = temp_paths("none");
    assert!(load(&paths, true, &mut Recorder::new()).unwrap().is_none());
}

#[test]
fn rewrite_steps_keep_a_loadable_set() {
    let paths = temp_paths("rewrite");
    let (manifest, mut f, _) = open_for_append(&paths, None).unwrap();
    f.write_all(&resp(&[&["SET", "a", "1"]])).unwrap();
    let (plan, mut switch) = rewrite_begin(&paths, &manifest, false).unwrap();
    // A crash now: the old incr then the (empty) new one load.
    switch.file.write_all(&resp(&[&["SET", "b", "2"]])).unwrap();
    let mut rec = Recorder::new();
    load(&paths, true, &mut rec).unwrap().unwrap();
    assert_eq!(rec.groups.len(), 2);
    // The new base holds the snapshot at the cut.
    std::fs::write(paths.file_path(&plan.new_base), resp(&[&["SET", "a", "1"]])).unwrap();
    let new = rewrite_commit(&paths, &plan).unwrap();
    assert_eq!(new.base.as_ref().unwrap().name, "appendonly.aof.1.base.aof");
    assert_eq!(new.incrs.len(), 1);
    assert_eq!(new.incrs[0].name, "appendonly.aof.2.incr.aof");
    assert!(!paths.dir.join("appendonly.aof.1.incr.aof").exists());
    let mut rec = Recorder::new();
    load(&paths, true, &mut rec).unwrap().unwrap();
    assert_eq!(
        rec.groups,
        vec![
            vec![(0, "SET a 1".to_owned())],
            vec![(0, "SET b 2".to_owned())]
        ]
    );
}
