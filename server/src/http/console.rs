//! The web console and GraphiQL, served from the binary: the production bundle of
//! `web/` (committed as `web/dist`, embedded by `build.rs`) at `/` with the SPA's
//! routes falling back to `index.html`, and GraphiQL's page and assets from the same
//! bundle, so neither needs Node.js or the internet.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// Basemap tile hosts the console offers (web/src/config.ts, DEFAULT_BASEMAPS); the
/// CSP allows exactly these besides this origin.
const BASEMAP_HOSTS: &str = "https://tile.openstreetmap.org https://server.arcgisonline.com";

/// For the console: its own scripts only; styles may be set inline (MapLibre and
/// React position elements with style attributes); MapLibre runs its worker from a
/// blob URL; the API is this origin (HTTP and websocket); tiles only from the
/// offered basemaps.
pub fn console_content_security_policy() -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob: {BASEMAP_HOSTS}; font-src 'self' data:; \
         connect-src 'self' ws: wss: {BASEMAP_HOSTS}; worker-src 'self' blob:; child-src blob:; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// For GraphiQL: its bundled scripts and styles, fetch and websocket to this origin.
pub const GRAPHIQL_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self' ws: wss:; worker-src 'self' blob:; base-uri 'self'; frame-ancestors 'none'";

fn embedded_file(path: &str) -> Option<&'static [u8]> {
    embedded::CONSOLE_FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

fn content_type_of(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    }
}

fn html_page(name: &str, policy: &str) -> HttpResponse {
    match embedded_file(name) {
        Some(bytes) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            // The page names its hashed assets: it must be fetched again after an upgrade.
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header((header::CONTENT_SECURITY_POLICY, policy.to_owned()))
            .body(bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "web/dist/{name} was not embedded in this binary: build the console (npm run build in web/) and rebuild entmoot"
            )),
    }
}

/// GraphiQL's page (GET /graphql from a browser).
pub fn graphiql_page() -> HttpResponse {
    html_page("graphiql.html", GRAPHIQL_CONTENT_SECURITY_POLICY)
}

/// Every GET or HEAD the other routes do not take: a file of the bundle, or the
/// console's `index.html` for the SPA's routes. Paths that look like files (an
/// extension, or under `assets/`) and are missing get 404, not the page.
pub async fn serve(
    request: HttpRequest,
    state: actix_web::web::Data<crate::http::HttpState>,
) -> HttpResponse {
    if request.method() != actix_web::http::Method::GET
        && request.method() != actix_web::http::Method::HEAD
    {
        return HttpResponse::NotFound().finish();
    }
    let path = request.path().trim_start_matches('/');
    if path.is_empty() || path == "index.html" {
        return html_page("index.html", &console_content_security_policy());
    }
    if path == "graphiql.html" {
        // Production serves no GraphiQL (`HttpState::graphiql`), by any path.
        if !state.graphiql {
            return HttpResponse::NotFound().finish();
        }
        return graphiql_page();
    }
    if let Some(bytes) = embedded_file(path) {
        let cache = if path.starts_with("assets/") {
            // Vite names assets by their content hash: they never change.
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return HttpResponse::Ok()
            .content_type(content_type_of(path))
            .insert_header((header::CACHE_CONTROL, cache))
            .body(bytes);
    }
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("assets/") || last_segment.contains('.') {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("/{path} is not part of the console"));
    }
    html_page("index.html", &console_content_security_policy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(
            content_type_of("assets/console-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type_of("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type_of("noextension"), "application/octet-stream");
    }

    #[test]
    fn the_console_policy_allows_its_basemaps_and_nothing_inline_for_scripts() {
        let policy = console_content_security_policy();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(
            policy.contains("https://tile.openstreetmap.org"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }
}
