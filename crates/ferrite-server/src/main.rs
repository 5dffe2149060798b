fn main() {
    eprintln!("ferrite: server not built yet");
    std::process::exit(1);
}
