//! The DICOM decoder process: one request on stdin, one answer on stdout, under the address-space
//! and CPU-time limits the request names. The app runs it for every DICOM import, so a hostile
//! file can exhaust only this process. See `consilium_deid::confined`.

fn main() -> std::process::ExitCode {
    let (mut input, mut output) = (std::io::stdin().lock(), std::io::stdout().lock());
    match consilium_deid::confined::serve(&mut input, &mut output) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::FAILURE,
    }
}
