fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(|s| s.as_str()) == Some("keygen") {
        std::process::exit(quoll::keygen::main(&args[2..]));
    }
}
