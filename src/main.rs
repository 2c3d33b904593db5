fn main() {
    println!("acs-edge {}", env!("CARGO_PKG_VERSION"));
}
