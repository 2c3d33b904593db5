//! `openwrt/files/acs-edge.defaults`, the uci-defaults script that moves the store to the
//! overlay at install when the overlay is flash with room: run with `sh` against stand-ins for
//! `uci`, `df` and `logger` (they keep the UCI options in a file and log every call) and a
//! mounts table of the case at hand.

use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/openwrt/files/acs-edge.defaults"
);
const RAM: &str = "/var/lib/acs-edge/store.db";
const OVERLAY: &str = "/etc/acs-edge/store.db";

/// `uci -q get K`, `uci set K=V`, `uci commit P` over `$FAKE/uci.state` (lines `K=V`).
const FAKE_UCI: &str = r#"#!/bin/sh
echo "uci $*" >>"$FAKE/calls"
[ "$1" = -q ] && shift
case "$1" in
get) v=$(grep "^$2=" "$FAKE/uci.state" | tail -1) || exit 1; echo "${v#*=}" ;;
set) echo "$2" >>"$FAKE/uci.state" ;;
commit) ;;
*) exit 2 ;;
esac
"#;
const FAKE_DF: &str = r#"#!/bin/sh
echo "df $*" >>"$FAKE/calls"
echo "Filesystem 1024-blocks Used Available Capacity Mounted on"
echo "overlayfs:/overlay 14000 1000 $(cat "$FAKE/free") 10% /"
"#;
const FAKE_LOGGER: &str = "#!/bin/sh\necho \"logger $*\" >>\"$FAKE/calls\"\n";

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    /// The package's options (`path`, `max_mb`), the `/overlay` file system type (`None`: no
    /// overlay, the root is ext4) and the free KiB `df` reports.
    fn new(path: &str, max_mb: Option<u32>, overlay: Option<&str>, free_kib: u64) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for (name, text) in [("uci", FAKE_UCI), ("df", FAKE_DF), ("logger", FAKE_LOGGER)] {
            let file = bin.join(name);
            std::fs::write(&file, text).unwrap();
            let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
            std::fs::set_permissions(&file, mode).unwrap();
        }
        let mut state = format!("acs-edge.store.path={path}\n");
        if let Some(mb) = max_mb {
            state.push_str(&format!("acs-edge.store.max_mb={mb}\n"));
        }
        std::fs::write(dir.path().join("uci.state"), state).unwrap();
        std::fs::write(dir.path().join("free"), free_kib.to_string()).unwrap();
        let mounts = match overlay {
            Some(fs) => format!(
                "/dev/root /rom squashfs ro 0 0\n/dev/mtdblock5 /overlay {fs} rw,noatime 0 0\n\
                 overlayfs:/overlay / overlay rw,noatime 0 0\n"
            ),
            None => "/dev/sda2 / ext4 rw,noatime 0 0\n".to_owned(),
        };
        std::fs::write(dir.path().join("mounts"), mounts).unwrap();
        Case { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the script; its exit status.
    fn run(&self) -> i32 {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::new("sh")
            .arg(SCRIPT)
            .env("PATH", path)
            .env("FAKE", self.dir.path())
            .env("ACS_EDGE_MOUNTS", self.path("mounts"))
            .output()
            .unwrap();
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.code().unwrap()
    }

    /// The option's value after the run (the last `set` wins, as in uci).
    fn option(&self, key: &str) -> Option<String> {
        read(&self.path("uci.state"))
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("acs-edge.store.{key}=")))
            .next_back()
            .map(str::to_owned)
    }

    fn committed(&self) -> bool {
        read(&self.path("calls")).contains("uci commit acs-edge")
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_flash_overlay_with_room_gets_the_store_at_its_size() {
    let c = Case::new(RAM, Some(4), Some("jffs2"), 20_000);
    assert_eq!(c.run(), 0);
    assert_eq!(c.option("path").as_deref(), Some(OVERLAY));
    assert_eq!(c.option("max_mb").as_deref(), Some("4"));
    assert!(c.committed());
    assert!(read(&c.path("calls")).contains("logger -t acs-edge store moved to /etc/acs-edge"));
    // Also without an overlay, on an ext4 root (x86, some NAND images).
    let c = Case::new(RAM, None, None, 100_000);
    assert_eq!(c.run(), 0);
    assert_eq!(c.option("path").as_deref(), Some(OVERLAY));
}

#[test]
fn a_tighter_overlay_gets_a_2_mb_store_and_a_smaller_one_none() {
    let c = Case::new(RAM, Some(4), Some("ubifs"), 9_000);
    assert_eq!(c.run(), 0);
    assert_eq!(c.option("path").as_deref(), Some(OVERLAY));
    assert_eq!(c.option("max_mb").as_deref(), Some("2"));
    // A max_mb already below 2 is kept; a missing one counts as the default 4.
    let c = Case::new(RAM, Some(1), Some("jffs2"), 9_000);
    assert_eq!(c.run(), 0);
    assert_eq!(c.option("max_mb").as_deref(), Some("1"));
    let c = Case::new(RAM, None, Some("jffs2"), 9_000);
    assert_eq!(c.run(), 0);
    assert_eq!(c.option("max_mb").as_deref(), Some("2"));

    let c = Case::new(RAM, Some(4), Some("jffs2"), 8_000);
    assert_eq!(c.run(), 0, "decided: not run again");
    assert_eq!(c.option("path").as_deref(), Some(RAM));
    assert!(!c.committed());
}

#[test]
fn a_path_someone_set_is_left_alone() {
    let c = Case::new(
        "/mnt/sda1/acs-edge/store.db",
        Some(64),
        Some("jffs2"),
        50_000,
    );
    assert_eq!(c.run(), 0);
    assert_eq!(
        c.option("path").as_deref(),
        Some("/mnt/sda1/acs-edge/store.db")
    );
    assert_eq!(c.option("max_mb").as_deref(), Some("64"));
    assert!(!c.committed());
}

#[test]
fn a_tmpfs_overlay_keeps_the_store_in_ram_and_the_script_for_the_next_boot() {
    let c = Case::new(RAM, Some(4), Some("tmpfs"), 50_000);
    assert_ne!(c.run(), 0, "uci-defaults keeps a script that fails");
    assert_eq!(c.option("path").as_deref(), Some(RAM));
    assert!(!c.committed());
}
