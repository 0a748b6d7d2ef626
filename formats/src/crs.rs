//! Source coordinate reference systems of uploaded files and their conversion to WGS84
//! longitude/latitude (proj4rs, pure Rust). A CRS comes from a `.prj` (ESRI or OGC WKT1,
//! or WKT2 with an EPSG id), or is declared by the user for formats without one (DXF):
//! `EPSG:4326`, `EPSG:32613`, `wgs84`, `utm:13N`, or a `+proj=…` string.
//!
//! Recognised: WGS84, NAD83 and ETRS89 geographic; UTM on WGS84 (326zz/327zz), NAD83
//! (269zz) and ETRS89 (258zz); Web Mercator (3857); and from WKT any Transverse
//! Mercator, Lambert Conformal Conic or Mercator on those datums, in metres or feet
//! (which covers the US State Plane zones). Anything else is refused by name: a
//! coordinate is never guessed into place.

use proj4rs::Proj;

use super::ImportError;

/// A coordinate reference system: `proj` is `None` for WGS84 longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Crs {
    /// For messages and reports: `EPSG:32613 (WGS 84 / UTM zone 13N)`.
    pub name: String,
    pub proj: Option<String>,
    /// Longitude/latitude in degrees (rather than projected units).
    pub geographic: bool,
}

fn unknown(location: &str, detail: impl Into<String>) -> ImportError {
    ImportError::UnknownCrs {
        location: location.to_owned(),
        detail: detail.into(),
    }
}

const WGS84: &str = "+datum=WGS84";
const NAD83: &str = "+datum=NAD83";
const ETRS89: &str = "+ellps=GRS80 +towgs84=0,0,0";

impl Crs {
    pub fn wgs84() -> Crs {
        Crs {
            name: "EPSG:4326 (WGS 84)".into(),
            proj: None,
            geographic: true,
        }
    }

    fn geographic(name: String, datum: &str) -> Crs {
        if datum == WGS84 {
            return Crs {
                name,
                ..Crs::wgs84()
            };
        }
        Crs {
            name,
            proj: Some(format!("+proj=longlat {datum} +no_defs")),
            geographic: true,
        }
    }

    fn utm(name: String, zone: u32, south: bool, datum: &str) -> Crs {
        Crs {
            name,
            proj: Some(format!(
                "+proj=utm +zone={zone}{} {datum} +units=m +no_defs",
                if south { " +south" } else { "" }
            )),
            geographic: false,
        }
    }

    fn web_mercator() -> Crs {
        Crs {
            name: "EPSG:3857 (WGS 84 / Pseudo-Mercator)".into(),
            proj: Some(
                "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +no_defs"
                    .into(),
            ),
            geographic: false,
        }
    }

    /// A CRS by EPSG code, when it is one of those listed in the module documentation.
    pub fn from_epsg(code: u32) -> Option<Crs> {
        let name = |label: String| format!("EPSG:{code} ({label})");
        match code {
            4326 => Some(Crs::wgs84()),
            4269 => Some(Crs::geographic(name("NAD83".into()), NAD83)),
            4258 => Some(Crs::geographic(name("ETRS89".into()), ETRS89)),
            3857 | 900_913 => Some(Crs::web_mercator()),
            32601..=32660 => Some(Crs::utm(
                name(format!("WGS 84 / UTM zone {}N", code - 32600)),
                code - 32600,
                false,
                WGS84,
            )),
            32701..=32760 => Some(Crs::utm(
                name(format!("WGS 84 / UTM zone {}S", code - 32700)),
                code - 32700,
                true,
                WGS84,
            )),
            26901..=26923 => Some(Crs::utm(
                name(format!("NAD83 / UTM zone {}N", code - 26900)),
                code - 26900,
                false,
                NAD83,
            )),
            25828..=25838 => Some(Crs::utm(
                name(format!("ETRS89 / UTM zone {}N", code - 25800)),
                code - 25800,
                false,
                ETRS89,
            )),
            _ => None,
        }
    }

    /// A CRS the user declared (`EPSG:32613`, `wgs84`, `utm:13N`, `+proj=…`).
    pub fn parse_declared(text: &str) -> Result<Crs, ImportError> {
        let location = "the declared CRS";
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower == "wgs84" || lower == "crs84" || lower == "ogc:crs84" {
            return Ok(Crs::wgs84());
        }
        if let Some(code) = lower.strip_prefix("epsg:") {
            let code: u32 = code
                .trim()
                .parse()
                .map_err(|_| unknown(location, format!("`{trimmed}`: not an EPSG code")))?;
            return Crs::from_epsg(code).ok_or_else(|| {
                unknown(
                    location,
                    format!("EPSG:{code} is not supported; use WGS84, UTM (WGS84/NAD83/ETRS89), Web Mercator or a +proj string"),
                )
            });
        }
        if let Some(zone) = lower.strip_prefix("utm:") {
            let zone = zone.trim();
            let (digits, hemisphere) = zone.split_at(zone.len().saturating_sub(1));
            let south = match hemisphere {
                "n" => false,
                "s" => true,
                _ => {
                    return Err(unknown(
                        location,
                        format!("`{trimmed}`: write utm:13N or utm:56S"),
                    ));
                }
            };
            let zone: u32 = digits
                .parse()
                .ok()
                .filter(|z| (1..=60).contains(z))
                .ok_or_else(|| {
                    unknown(
                        location,
                        format!("`{trimmed}`: the UTM zone must be 1 to 60"),
                    )
                })?;
            let code = if south { 32700 } else { 32600 } + zone;
            return Crs::from_epsg(code).ok_or_else(|| unknown(location, trimmed.to_owned()));
        }
        if lower.starts_with("+proj=") {
            Proj::from_proj_string(trimmed)
                .map_err(|error| unknown(location, format!("`{trimmed}`: {error}")))?;
            return Ok(Crs {
                name: trimmed.to_owned(),
                proj: Some(trimmed.to_owned()),
                geographic: lower.contains("+proj=longlat") || lower.contains("+proj=latlong"),
            });
        }
        Err(unknown(
            location,
            format!("`{trimmed}`: write EPSG:NNNN, wgs84, utm:13N or a +proj=… string"),
        ))
    }

    /// A CRS from the WKT of a `.prj` file.
    pub fn from_wkt(wkt: &str, location: &str) -> Result<Crs, ImportError> {
        let root = parse_wkt(wkt)
            .map_err(|reason| unknown(location, format!("the WKT is unreadable: {reason}")))?;
        let kind = root.name.to_ascii_uppercase();
        // An EPSG code on the outermost CRS wins.
        if let Some(crs) = root.epsg_code().and_then(Crs::from_epsg) {
            return Ok(crs);
        }
        match kind.as_str() {
            "GEOGCS" | "GEOGCRS" | "GEODCRS" | "GEOGRAPHICCRS" => {
                let datum = datum_of(&root, location)?;
                Ok(Crs::geographic(
                    format!("{} (from WKT)", root.label()),
                    datum,
                ))
            }
            "PROJCS" | "PROJCRS" | "PROJECTEDCRS" => projected(&root, location),
            _ => Err(unknown(
                location,
                format!(
                    "`{}` is not a CRS definition (expected PROJCS or GEOGCS)",
                    root.name
                ),
            )),
        }
    }

    /// Builds the converter to WGS84.
    pub fn transformer(&self, location: &str) -> Result<ToWgs84, ImportError> {
        match &self.proj {
            None => Ok(ToWgs84 { source: None }),
            Some(definition) => {
                let source = Proj::from_proj_string(definition)
                    .map_err(|error| unknown(location, format!("{}: {error}", self.name)))?;
                let target = Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs")
                    .map_err(|error| unknown(location, format!("WGS84: {error}")))?;
                Ok(ToWgs84 {
                    source: Some((source, target, self.geographic)),
                })
            }
        }
    }
}

/// Converts coordinates of one CRS to WGS84 degrees.
pub struct ToWgs84 {
    source: Option<(Proj, Proj, bool)>,
}

impl ToWgs84 {
    pub fn is_identity(&self) -> bool {
        self.source.is_none()
    }

    /// `(x, y)` in the source CRS → `(lon, lat)`; `None` when it cannot be converted.
    pub fn convert(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let Some((source, target, geographic)) = &self.source else {
            return Some((x, y));
        };
        let mut point = if *geographic {
            (x.to_radians(), y.to_radians(), 0.0)
        } else {
            (x, y, 0.0)
        };
        proj4rs::transform::transform(source, target, &mut point).ok()?;
        let (lon, lat) = (point.0.to_degrees(), point.1.to_degrees());
        (lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0)
            .then_some((lon, lat))
    }
}

fn datum_of(node: &WktNode, location: &str) -> Result<&'static str, ImportError> {
    let datum = node.find("DATUM").map(WktNode::label).unwrap_or_default();
    let normalised: String = datum
        .to_ascii_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let normalised = normalised.trim_start_matches('D');
    if normalised.contains("WGS1984")
        || normalised.contains("WGS84")
        || normalised == "WORLDGEODETICSYSTEM1984"
    {
        Ok(WGS84)
    } else if normalised.contains("NORTHAMERICAN1983")
        || normalised.contains("NAD83")
        || normalised.contains("NORTHAMERICANDATUM1983")
    {
        Ok(NAD83)
    } else if normalised.contains("ETRS1989")
        || normalised.contains("ETRS89")
        || normalised.contains("EUROPEANTERRESTRIALREFERENCESYSTEM1989")
    {
        Ok(ETRS89)
    } else {
        Err(unknown(
            location,
            format!("datum `{datum}` is not supported (WGS 84, NAD83 and ETRS89 are)"),
        ))
    }
}

fn projected(root: &WktNode, location: &str) -> Result<Crs, ImportError> {
    let label = root.label();
    let geographic = root
        .find("GEOGCS")
        .or_else(|| root.find("BASEGEOGCRS"))
        .or_else(|| root.find("BASEGEODCRS"))
        .unwrap_or(root);
    let datum = datum_of(geographic, location)?;
    // UTM by name: `WGS_1984_UTM_Zone_13N`, `WGS 84 / UTM zone 13N`.
    let upper = label.to_ascii_uppercase().replace(['_', ' '], "");
    if let Some(at) = upper.find("UTMZONE") {
        let rest = &upper[at + "UTMZONE".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let hemisphere = rest[digits.len()..].chars().next();
        if let (Ok(zone), Some(hemisphere)) = (digits.parse::<u32>(), hemisphere)
            && (1..=60).contains(&zone)
            && (hemisphere == 'N' || hemisphere == 'S')
        {
            return Ok(Crs::utm(
                format!("{label} (from WKT)"),
                zone,
                hemisphere == 'S',
                datum,
            ));
        }
    }
    let projection = root
        .find("PROJECTION")
        .or_else(|| root.find("METHOD"))
        .map(WktNode::label)
        .unwrap_or_default();
    let parameter = |names: &[&str]| -> Option<f64> {
        root.children_named("PARAMETER").find_map(|p| {
            let name = p.label().to_ascii_lowercase().replace(' ', "_");
            names
                .contains(&name.as_str())
                .then(|| p.number(1))
                .flatten()
        })
    };
    let to_metre = root
        .children_named("UNIT")
        .last()
        .or_else(|| root.children_named("LENGTHUNIT").last())
        .and_then(|unit| unit.number(1))
        .unwrap_or(1.0);
    if !(to_metre.is_finite() && to_metre > 0.0) {
        return Err(unknown(
            location,
            format!("{label}: unit factor {to_metre} is not usable"),
        ));
    }
    let false_easting = parameter(&["false_easting"]).unwrap_or(0.0) * to_metre;
    let false_northing = parameter(&["false_northing"]).unwrap_or(0.0) * to_metre;
    let central_meridian = parameter(&[
        "central_meridian",
        "longitude_of_origin",
        "longitude_of_natural_origin",
        "longitude_of_center",
    ])
    .unwrap_or(0.0);
    let latitude_of_origin = parameter(&[
        "latitude_of_origin",
        "latitude_of_natural_origin",
        "latitude_of_center",
    ])
    .unwrap_or(0.0);
    let scale = parameter(&["scale_factor", "scale_factor_at_natural_origin"]).unwrap_or(1.0);
    let lower = projection.to_ascii_lowercase().replace(' ', "_");
    let definition = if lower.contains("transverse_mercator") {
        format!(
            "+proj=tmerc +lat_0={latitude_of_origin} +lon_0={central_meridian} +k_0={scale} +x_0={false_easting} +y_0={false_northing}"
        )
    } else if lower.contains("lambert_conformal_conic") {
        let first = parameter(&["standard_parallel_1", "latitude_of_1st_standard_parallel"])
            .unwrap_or(latitude_of_origin);
        let second = parameter(&["standard_parallel_2", "latitude_of_2nd_standard_parallel"])
            .unwrap_or(first);
        format!(
            "+proj=lcc +lat_1={first} +lat_2={second} +lat_0={latitude_of_origin} +lon_0={central_meridian} +k_0={scale} +x_0={false_easting} +y_0={false_northing}"
        )
    } else if lower.contains("mercator_auxiliary_sphere")
        || lower.contains("pseudo_mercator")
        || lower.contains("popular_visualisation")
    {
        return Ok(Crs::web_mercator());
    } else if lower.contains("mercator") {
        format!(
            "+proj=merc +lon_0={central_meridian} +k_0={scale} +x_0={false_easting} +y_0={false_northing}"
        )
    } else {
        return Err(unknown(
            location,
            format!(
                "{label}: projection `{projection}` is not supported (Transverse Mercator, Lambert Conformal Conic and Mercator are)"
            ),
        ));
    };
    Ok(Crs {
        name: format!("{label} (from WKT)"),
        proj: Some(format!(
            "{definition} {datum} +to_meter={to_metre} +no_defs"
        )),
        geographic: false,
    })
}

/// A WKT element: `NAME[child, child, …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct WktNode {
    pub name: String,
    pub items: Vec<WktItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WktItem {
    Node(WktNode),
    Text(String),
    Number(f64),
}

impl WktNode {
    /// The first quoted string (the element's name in the WKT sense).
    pub fn label(&self) -> String {
        self.items
            .iter()
            .find_map(|item| match item {
                WktItem::Text(text) => Some(text.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    fn number(&self, index: usize) -> Option<f64> {
        match self.items.get(index)? {
            WktItem::Number(number) => Some(*number),
            WktItem::Text(text) => text.parse().ok(),
            WktItem::Node(_) => None,
        }
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a WktNode> + 'a {
        self.items.iter().filter_map(move |item| match item {
            WktItem::Node(node) if node.name.eq_ignore_ascii_case(name) => Some(node),
            _ => None,
        })
    }

    /// The first descendant named `name`, depth first.
    fn find(&self, name: &str) -> Option<&WktNode> {
        for item in &self.items {
            if let WktItem::Node(node) = item {
                if node.name.eq_ignore_ascii_case(name) {
                    return Some(node);
                }
                if let Some(found) = node.find(name) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// `AUTHORITY["EPSG","32613"]` or `ID["EPSG",32613]` directly on this element.
    fn epsg_code(&self) -> Option<u32> {
        self.children_named("AUTHORITY")
            .chain(self.children_named("ID"))
            .find(|node| node.label().eq_ignore_ascii_case("EPSG"))
            .and_then(|node| node.number(1))
            .filter(|code| code.fract() == 0.0 && *code > 0.0 && *code < 1e7)
            .map(|code| code as u32)
    }
}

/// Most nesting accepted in a WKT string.
const MAX_WKT_DEPTH: usize = 32;

/// Parses WKT (version 1 or 2) into a tree.
pub fn parse_wkt(text: &str) -> Result<WktNode, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut position = 0;
    let node = parse_node(&chars, &mut position, 0)?;
    skip_space(&chars, &mut position);
    if position < chars.len() {
        return Err(format!(
            "unexpected text after the CRS at character {position}"
        ));
    }
    Ok(node)
}

fn skip_space(chars: &[char], position: &mut usize) {
    while *position < chars.len() && chars[*position].is_whitespace() {
        *position += 1;
    }
}

fn parse_node(chars: &[char], position: &mut usize, depth: usize) -> Result<WktNode, String> {
    if depth > MAX_WKT_DEPTH {
        return Err(format!("nested deeper than {MAX_WKT_DEPTH} levels"));
    }
    skip_space(chars, position);
    let start = *position;
    while *position < chars.len()
        && (chars[*position].is_ascii_alphanumeric() || chars[*position] == '_')
    {
        *position += 1;
    }
    if *position == start {
        return Err(format!("expected a keyword at character {start}"));
    }
    let name: String = chars[start..*position].iter().collect();
    skip_space(chars, position);
    let close = match chars.get(*position) {
        Some('[') => ']',
        Some('(') => ')',
        _ => {
            return Ok(WktNode {
                name,
                items: Vec::new(),
            });
        }
    };
    *position += 1;
    let mut items = Vec::new();
    loop {
        skip_space(chars, position);
        match chars.get(*position) {
            None => return Err(format!("`{name}` is not closed")),
            Some(c) if *c == close => {
                *position += 1;
                break;
            }
            Some(',') => *position += 1,
            Some('"') => {
                *position += 1;
                let mut text = String::new();
                loop {
                    match chars.get(*position) {
                        None => return Err("a quoted string is not closed".into()),
                        Some('"') if chars.get(*position + 1) == Some(&'"') => {
                            text.push('"');
                            *position += 2;
                        }
                        Some('"') => {
                            *position += 1;
                            break;
                        }
                        Some(c) => {
                            text.push(*c);
                            *position += 1;
                        }
                    }
                }
                items.push(WktItem::Text(text));
            }
            Some(c) if c.is_ascii_digit() || *c == '-' || *c == '+' || *c == '.' => {
                let start = *position;
                while *position < chars.len()
                    && (chars[*position].is_ascii_digit() || "+-.eE".contains(chars[*position]))
                {
                    *position += 1;
                }
                let literal: String = chars[start..*position].iter().collect();
                let number = literal
                    .parse::<f64>()
                    .map_err(|_| format!("`{literal}` is not a number"))?;
                items.push(WktItem::Number(number));
            }
            Some(_) => items.push(WktItem::Node(parse_node(chars, position, depth + 1)?)),
        }
    }
    Ok(WktNode { name, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESRI_UTM13: &str = r#"PROJCS["WGS_1984_UTM_Zone_13N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-105.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    /// NAD83 / Colorado Central (ftUS), EPSG:2232, as ESRI writes it.
    const STATE_PLANE_FT: &str = r#"PROJCS["NAD_1983_StatePlane_Colorado_Central_FIPS_0502_Feet",GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",3000000.000316083],PARAMETER["False_Northing",999999.999996],PARAMETER["Central_Meridian",-105.5],PARAMETER["Standard_Parallel_1",38.45],PARAMETER["Standard_Parallel_2",39.75],PARAMETER["Latitude_Of_Origin",37.83333333333334],UNIT["Foot_US",0.3048006096012192]]"#;

    #[test]
    fn reads_utm_and_state_plane_prj() {
        let crs = Crs::from_wkt(ESRI_UTM13, "parcel.prj").unwrap();
        assert!(crs.proj.as_deref().unwrap().contains("+zone=13"), "{crs:?}");
        let to = crs.transformer("x").unwrap();
        // cs2cs reference (sdk projection test): -103.402, 39.35 ↔ 637692.8569, 4356835.2870.
        let (lon, lat) = to.convert(637_692.856_9, 4_356_835.287_0).unwrap();
        assert!(
            (lon + 103.402).abs() < 1e-7 && (lat - 39.35).abs() < 1e-7,
            "{lon} {lat}"
        );

        let crs = Crs::from_wkt(STATE_PLANE_FT, "parcel.prj").unwrap();
        let to = crs.transformer("x").unwrap();
        // Reference from GDAL 3.6 (gdaltransform -s_srs EPSG:2232 -t_srs EPSG:4326).
        let (lon, lat) = to.convert(3_144_000.0, 1_695_000.0).unwrap();
        assert!(
            (lon + 104.987_943_166_5).abs() < 1e-6 && (lat - 39.740_465_055).abs() < 1e-6,
            "{lon} {lat}"
        );
    }

    #[test]
    fn reads_epsg_ids_and_declarations_and_refuses_the_rest() {
        let wkt2 = r#"PROJCRS["WGS 84 / UTM zone 56S",BASEGEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,298.257223563]]],CONVERSION["UTM zone 56S",METHOD["Transverse Mercator"]],ID["EPSG",32756]]"#;
        assert!(
            Crs::from_wkt(wkt2, "p")
                .unwrap()
                .name
                .starts_with("EPSG:32756")
        );
        assert_eq!(
            Crs::parse_declared("utm:13N").unwrap(),
            Crs::from_epsg(32613).unwrap()
        );
        assert_eq!(Crs::parse_declared(" EPSG:4326 ").unwrap(), Crs::wgs84());
        let error = Crs::parse_declared("EPSG:2056").unwrap_err();
        assert!(
            error.to_string().contains("EPSG:2056 is not supported"),
            "{error}"
        );
        let tokyo = r#"GEOGCS["Tokyo",DATUM["Tokyo",SPHEROID["Bessel 1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]"#;
        let error = Crs::from_wkt(tokyo, "site.prj").unwrap_err();
        assert!(error.to_string().contains("datum `Tokyo`"), "{error}");
        assert!(Crs::from_wkt("PROJCS[\"x\"", "p").is_err());
        let deep = "A[".repeat(100);
        assert!(parse_wkt(&deep).is_err());
    }
}
