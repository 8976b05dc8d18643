//! Writes the 12-megapixel benchmark photo into the folder given as the only argument and prints
//! its path.

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: make-bench-photo DIR");
        std::process::exit(2);
    };
    let path = consilium_testkit::photo_12mp(std::path::Path::new(&dir));
    println!("{}", path.display());
}
