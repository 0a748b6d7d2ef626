//! `GET /files/{id}`: streams a stored file through the API, for object stores without
//! presigned URLs. Authorized by a signed link (`?expires=…&signature=…`, issued by the
//! GraphQL `exportLayout` and `fileDownload` fields) or by a bearer token of the file's
//! organization.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use entmoot_domain::download_links::verify_download;
use entmoot_domain::files::{FileError, open_file, open_linked_file};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::http::HttpState;
use crate::http::authentication::{authenticate, credential_of};

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    expires: Option<i64>,
    signature: Option<String>,
}

fn refusal(status: actix_web::http::StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json; charset=utf-8")
        .body(json!({"errors": [{"message": message, "extensions": {"code": code}}]}).to_string())
}

fn file_error(error: FileError) -> HttpResponse {
    use actix_web::http::StatusCode;
    match error {
        FileError::NotFound => refusal(StatusCode::NOT_FOUND, "NOT_FOUND", "no file with this id"),
        other => {
            tracing::error!(error = %other, "opening a file for download failed");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal server error",
            )
        }
    }
}

pub async fn download(
    state: web::Data<HttpState>,
    http_request: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LinkQuery>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Ok(file_id) = Uuid::parse_str(&path) else {
        return refusal(StatusCode::NOT_FOUND, "NOT_FOUND", "no file with this id");
    };
    let app = &state.app;
    let opened = match (query.expires, query.signature.as_deref()) {
        (Some(expires), Some(signature)) => {
            if let Err(refused) =
                verify_download(&app.download_signing_key, file_id, expires, signature)
            {
                return refusal(StatusCode::FORBIDDEN, "FORBIDDEN", &refused.to_string());
            }
            open_linked_file(&app.database, &app.storage, file_id).await
        }
        _ => match authenticate(app, &credential_of(&http_request)).await {
            Ok(caller) => open_file(&app.database, &app.storage, &caller, file_id).await,
            Err(refused) => {
                let mut response = refusal(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    &refused.to_string(),
                );
                // RFC 6750: a 401 names the scheme the client should use.
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
                return response;
            }
        },
    };
    let (file, reader) = match opened {
        Ok(opened) => opened,
        Err(error) => return file_error(error),
    };
    let stream = match reader.into_bytes_stream(..).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::error!(%error, file = %file_id, "streaming a file failed");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal server error",
            );
        }
    };
    HttpResponse::Ok()
        .content_type(file.content_type.clone())
        .insert_header((
            header::CONTENT_DISPOSITION,
            header::ContentDisposition::attachment(file.filename.clone()),
        ))
        .insert_header((header::CONTENT_LENGTH, file.size_bytes.to_string()))
        .streaming(stream)
}
