use super::*;

/// A tar stream like the engine's archive API gives for `/data/.`.
fn volume_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dir = |path: &str, uid: u64, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(uid);
        (h, path.to_string())
    };
    let (mut h, p) = dir("./", 0, 0o700);
    h.as_mut_bytes()[..2].copy_from_slice(b"./");
    h.set_cksum();
    b.append(&h, io::empty()).unwrap();
    let (mut h, p2) = dir("./sub/", 999, 0o755);
    b.append_data(&mut h, &p2, io::empty()).unwrap();
    let _ = p;
    let mut f = tar::Header::new_gnu();
    f.set_size(5);
    f.set_mode(0o600);
    f.set_uid(999);
    f.set_gid(999);
    b.append_data(&mut f, "./sub/f", &b"hello"[..]).unwrap();
    let long = format!("./sub/{}", "n".repeat(150));
    let mut f = tar::Header::new_gnu();
    f.set_size(3);
    f.set_mode(0o644);
    f.set_uid(0);
    f.set_gid(0);
    b.append_data(&mut f, &long, &b"abc"[..]).unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    l.set_mode(0o777);
    l.set_uid(0);
    l.set_gid(0);
    b.append_link(&mut l, "./link", "sub/f").unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Link);
    l.set_size(0);
    l.set_mode(0o600);
    l.set_uid(999);
    l.set_gid(999);
    b.append_link(&mut l, "./hard", "./sub/f").unwrap();
    b.into_inner().unwrap()
}

fn manifest(volumes: usize) -> Manifest {
    Manifest {
        format: FORMAT,
        project: "shop".into(),
        snapshot: "seeded".into(),
        created_at: "2026-12-03T10:00:00Z".into(),
        devenv_version: "0.1.0".into(),
        exported_at: "2026-12-03T11:00:00Z".into(),
        services: [("db".to_string(), ServiceEntry { image: "postgres:16".into(), preset: Some("postgres".into()), major: Some(16), config_hash: None })].into(),
        volumes: (0..volumes).map(|i| VolumeEntry { service: "db".into(), target: format!("/d{i}"), source: format!("shop_v{i}"), files: 2, bytes: 8 }).collect(),
    }
}

fn export(volumes: usize) -> Vec<u8> {
    let mut w = ArchiveWriter::new(Vec::new());
    for i in 0..volumes {
        let c = w.append_volume(i, &volume_tar()[..], |_| {}).unwrap();
        assert_eq!(c, Counted { files: 2, bytes: 8 });
    }
    w.finish(&manifest(volumes)).unwrap().0
}

/// (path, type, mode, uid, link, content) of every entry.
fn listing(tar_bytes: &[u8]) -> Vec<(String, char, u32, u64, Option<String>, Vec<u8>)> {
    let mut a = tar::Archive::new(tar_bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let h = e.header().clone();
            let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned());
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let t = match h.entry_type() {
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                tar::EntryType::Link => 'h',
                _ => 'f',
            };
            (path.trim_start_matches("./").trim_end_matches('/').to_string(), t, h.mode().unwrap(), h.uid().unwrap(), link.map(|l| l.trim_start_matches("./").to_string()), data)
        })
        .collect()
}

#[test]
fn an_export_verifies_and_gives_back_each_volume_as_it_was() {
    let file = export(2);
    assert_eq!(verify(&file[..]).unwrap(), manifest(2));
    let mut got: Vec<(usize, Vec<u8>)> = Vec::new();
    read_volumes(&file[..], |i| {
        got.push((i, Vec::new()));
        Ok(Vec::new())
    })
    .unwrap();
    assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0, 1]);
    // Collect again, keeping the streams this time.
    let streams = std::cell::RefCell::new(Vec::new());
    struct Keep<'a>(&'a std::cell::RefCell<Vec<Vec<u8>>>, usize);
    impl Write for Keep<'_> {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut()[self.1].extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    read_volumes(&file[..], |i| {
        streams.borrow_mut().push(Vec::new());
        Ok(Keep(&streams, i))
    })
    .unwrap();
    let original = listing(&volume_tar());
    for s in streams.borrow().iter() {
        let back = listing(s);
        assert_eq!(back, original);
    }
    assert_eq!(original[0].0, "", "the root directory itself, with its mode: {original:?}");
    assert_eq!(original[0].2, 0o700);
}

#[test]
fn a_truncated_export_fails_its_checksum() {
    let file = export(1);
    for cut in [file.len() - 1, file.len() - 9, file.len() / 2, 10] {
        let e = verify(&file[..cut]).unwrap_err();
        assert!(e.is_corrupt(), "cut at {cut}: {e}");
    }
}

fn inflate(file: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(file).read_to_end(&mut out).ok().map(|_| out)
}

#[test]
fn a_flipped_byte_anywhere_fails_the_check_unless_the_content_is_the_same() {
    let file = export(1);
    let content = inflate(&file);
    for at in 0..file.len() {
        let mut bad = file.clone();
        bad[at] ^= 0x40;
        // A compressed stream can say the same thing two ways (a back-reference
        // to another run of zeros): then the content is intact and passes.
        assert!(verify(&bad[..]).is_err() || inflate(&bad) == content, "flip at {at} of {} passed with other content", file.len());
    }
}

#[test]
fn changed_content_in_a_well_formed_gzip_is_a_checksum_mismatch() {
    // Decompress, change one byte of a volume file, compress again (a valid
    // gzip): only the SHA-256 can tell.
    let file = export(1);
    let mut tar_bytes = Vec::new();
    GzDecoder::new(&file[..]).read_to_end(&mut tar_bytes).unwrap();
    let at = tar_bytes.windows(5).position(|w| w == b"hello").unwrap();
    tar_bytes[at] = b'j';
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes).unwrap();
    let e = verify(&gz.finish().unwrap()[..]).unwrap_err();
    assert!(matches!(e, ArchiveError::Mismatch { .. }), "{e}");
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
}

#[test]
fn other_files_and_names_that_leave_the_volume_are_refused() {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"not a tar at all, not at all").unwrap();
    assert!(verify(&gz.finish().unwrap()[..]).is_err());
    assert!(verify(&b"plain text"[..]).unwrap_err().is_corrupt());
    assert!(relative(b"./a/../../etc").is_err());
    assert_eq!(relative(b"./a/b/").unwrap(), "a/b/");
    assert_eq!(relative(b".").unwrap(), "./");
}

#[test]
fn a_newer_format_is_refused() {
    let mut m = manifest(0);
    m.format = FORMAT + 1;
    let (file, _) = ArchiveWriter::new(Vec::new()).finish(&m).unwrap();
    assert!(matches!(verify(&file[..]), Err(ArchiveError::Newer(_))));
}
