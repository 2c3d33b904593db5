//! A fake BlueZ for the BLE scanner tests: a private `dbus-daemon` and python-dbusmock's
//! bluez5 template serving `org.bluez` on it, driven by `bluez_mock.py` (adapters, devices,
//! advertisements as `PropertiesChanged` signals). Real D-Bus traffic, real btleplug code in
//! the daemon; only bluetoothd is replaced.

use super::wait_until;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PYTHON: &str = "/usr/bin/python3";
const CONTROL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/common/bluez_mock.py");

/// The private bus and the fake bluetoothd on it; both are killed on drop.
pub struct FakeBluez {
    /// The bus address, for `ble.dbus_address`.
    pub address: String,
    bus: Child,
    bluez: Child,
    _dir: tempfile::TempDir,
}

impl FakeBluez {
    pub fn start() -> FakeBluez {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("system_bus_socket");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is not installed (apt-get install dbus-daemon)");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the bus address");
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        let bluez = Command::new(PYTHON)
            .args(["-m", "dbusmock", "--template", "bluez5"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python-dbusmock (apt-get install python3-dbusmock)");
        let fake = FakeBluez {
            address,
            bus,
            bluez,
            _dir: dir,
        };
        wait_until(
            "the fake bluetoothd on the bus",
            Duration::from_secs(20),
            || {
                fake.try_control(&["device", "nonexistent", "00:00:00:00:00:00"])
                    .err()
                    .filter(|e| e.contains("NoSuchAdapter"))
            },
        );
        fake
    }

    /// Runs a `bluez_mock.py` command; its stderr on failure.
    pub fn try_control(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new(PYTHON)
            .arg(CONTROL)
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .output()
            .expect("run bluez_mock.py");
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    pub fn control(&self, args: &[&str]) {
        if let Err(e) = self.try_control(args) {
            panic!("bluez_mock.py {args:?} failed: {e}");
        }
    }
}

impl Drop for FakeBluez {
    fn drop(&mut self) {
        for child in [&mut self.bluez, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
