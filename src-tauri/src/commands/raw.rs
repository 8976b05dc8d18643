//! Raw bytes across the boundary: an image's bytes as a request's body (ids in its headers), and
//! a rendition's bytes as the answer (an `ArrayBuffer` in the window). Their types stand for
//! what Tauri hands over, so the generated bindings leave the body out of the signature.

use specta::Type;
use specta::datatype::DataType;
use specta::function::FunctionArg;
use tauri::ipc::{CommandArg, CommandItem, InvokeError, InvokeResponseBody, IpcResponse, Request};

/// A raw-body request (bytes, with ids in headers): hidden from the generated signature.
pub struct RawRequest<'a>(pub Request<'a>);

impl<'a, R: tauri::Runtime> CommandArg<'a, R> for RawRequest<'a> {
    fn from_command(item: CommandItem<'a, R>) -> Result<Self, InvokeError> {
        <Request<'a> as CommandArg<'a, R>>::from_command(item).map(RawRequest)
    }
}

impl FunctionArg for RawRequest<'_> {
    fn to_datatype(_: &mut specta::Types) -> Option<DataType> {
        None
    }
}

/// Raw bytes answered to the window, which receives an `ArrayBuffer`.
pub struct RawResponse(pub tauri::ipc::Response);

impl IpcResponse for RawResponse {
    fn body(self) -> tauri::Result<InvokeResponseBody> {
        self.0.body()
    }
}

impl Type for RawResponse {
    fn definition(_: &mut specta::Types) -> DataType {
        specta_typescript::define("ArrayBuffer").into()
    }
}
