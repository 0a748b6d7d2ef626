//! Asset outlines: a rectangle (the default), a circle (storage tanks, ponds) or a custom
//! polygon, each inside the asset's `width × length` box. Packers place the box; the
//! validator, metrics and output use the outline itself, so a round tank or an L-shaped
//! building is never taken for more or less than it is.
//!
//! ```
//! use entmoot_plugin_sdk::geo::Area;
//! use entmoot_plugin_sdk::shape::Shape;
//!
//! // A tank of 20 m diameter: a 32-sided polygon around the circle, inside its box.
//! let tank = Shape::Circle.outline([100.0, 50.0], 20.0, 20.0, 0.0);
//! let area = tank.unsigned_area();
//! assert!(area > std::f64::consts::PI * 100.0 && area < 400.0);
//!
//! // An L: 30 × 40 m box, 10 m wide arms, vertices relative to the box centre.
//! let l_shape = Shape::Polygon {
//!     vertices: vec![[-15.0, -20.0], [15.0, -20.0], [15.0, -10.0], [-5.0, -10.0], [-5.0, 20.0], [-15.0, 20.0]],
//! };
//! assert_eq!(l_shape.area_m2(30.0, 40.0), 30.0 * 10.0 + 10.0 * 30.0);
//! ```

use geo::{Area, BoundingRect, Coord, LineString, Polygon};
use serde::{Deserialize, Serialize};

use crate::geometry::rectangle;

/// Sides of the polygon drawn for a circle. A multiple of four, so that one side faces
/// each axis and the polygon (which circumscribes the circle) stays inside the box.
pub const CIRCLE_SIDES: usize = 32;

/// The most vertices a custom outline may have.
pub const MAX_POLYGON_VERTICES: usize = 200;

/// An asset's outline within its box.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    /// The whole `width × length` box.
    #[default]
    Rectangle,
    /// A circle of diameter `width` (`length` is the same).
    Circle,
    /// A simple polygon, in metres relative to the centre of its bounding box, which is
    /// the asset's box.
    Polygon { vertices: Vec<[f64; 2]> },
}

impl Shape {
    pub fn is_rectangle(&self) -> bool {
        matches!(self, Shape::Rectangle)
    }

    /// `rectangle`, `circle` or `polygon`.
    pub fn kind(&self) -> &'static str {
        match self {
            Shape::Rectangle => "rectangle",
            Shape::Circle => "circle",
            Shape::Polygon { .. } => "polygon",
        }
    }

    /// The outline placed at `center`, turned `rotation_deg` counter-clockwise.
    pub fn outline(
        &self,
        center: [f64; 2],
        width: f64,
        length: f64,
        rotation_deg: f64,
    ) -> Polygon<f64> {
        let local: Vec<[f64; 2]> = match self {
            Shape::Rectangle => return rectangle(center, width, length, rotation_deg),
            Shape::Circle => {
                // Circumscribed: the apothem is the radius, so the circle is covered.
                let step = std::f64::consts::TAU / CIRCLE_SIDES as f64;
                let vertex_radius = (width / 2.0) / (step / 2.0).cos();
                (0..CIRCLE_SIDES)
                    .map(|i| {
                        // Offset by half a step: sides, not vertices, face the axes.
                        let angle = step * (i as f64 + 0.5);
                        [vertex_radius * angle.cos(), vertex_radius * angle.sin()]
                    })
                    .collect()
            }
            Shape::Polygon { vertices } => vertices.clone(),
        };
        let (s, c) = rotation_deg.to_radians().sin_cos();
        let mut ring: Vec<Coord<f64>> = local
            .iter()
            .map(|[dx, dy]| Coord {
                x: center[0] + dx * c - dy * s,
                y: center[1] + dx * s + dy * c,
            })
            .collect();
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        Polygon::new(LineString::new(ring), vec![])
    }

    /// The outline's area in m².
    pub fn area_m2(&self, width: f64, length: f64) -> f64 {
        match self {
            Shape::Rectangle => width * length,
            _ => self.outline([0.0, 0.0], width, length, 0.0).unsigned_area(),
        }
    }
}

/// A custom outline as given (program units, any origin), checked and centred on its
/// bounding box; returns it with the box's width and length.
pub fn centred_polygon(vertices: &[[f64; 2]]) -> Result<(Shape, f64, f64), String> {
    if vertices.len() < 3 {
        return Err(format!(
            "a polygon needs at least 3 vertices, got {}",
            vertices.len()
        ));
    }
    if vertices.len() > MAX_POLYGON_VERTICES {
        return Err(format!(
            "at most {MAX_POLYGON_VERTICES} vertices, got {}",
            vertices.len()
        ));
    }
    if let Some(index) = vertices
        .iter()
        .position(|[x, y]| !(x.is_finite() && y.is_finite()))
    {
        return Err(format!("vertex {index} is not a pair of finite numbers"));
    }
    let mut ring: Vec<Coord<f64>> = vertices.iter().map(|&[x, y]| Coord { x, y }).collect();
    // A closing vertex equal to the first is allowed and dropped.
    if ring.len() > 3 && ring.first() == ring.last() {
        ring.pop();
    }
    let mut closed = ring.clone();
    closed.push(ring[0]);
    let polygon = Polygon::new(LineString::new(closed), vec![]);
    if let Some(error) = crate::validity::polygon_validation_errors(&polygon)
        .into_iter()
        .next()
    {
        return Err(format!("not a simple polygon: {error}"));
    }
    let Some(bounds) = polygon.bounding_rect() else {
        return Err("has no extent".to_owned());
    };
    let (width, length) = (bounds.width(), bounds.height());
    if width <= 0.0 || length <= 0.0 || polygon.unsigned_area() <= 0.0 {
        return Err("has no area".to_owned());
    }
    let centre = bounds.center();
    let vertices = ring
        .iter()
        .map(|c| [c.x - centre.x, c.y - centre.y])
        .collect();
    Ok((Shape::Polygon { vertices }, width, length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::BoundingRect;

    #[test]
    fn a_circle_stays_inside_its_box_and_covers_the_circle() {
        let outline = Shape::Circle.outline([0.0, 0.0], 10.0, 10.0, 0.0);
        let bounds = outline.bounding_rect().unwrap();
        assert!(bounds.width() <= 10.0 + 1e-9 && bounds.height() <= 10.0 + 1e-9);
        assert!(bounds.width() > 10.0 - 1e-9);
        // Every side is at distance 5 (the radius) from the centre: no point of the
        // circle is outside.
        let area = outline.unsigned_area();
        let apothem_area = 0.5
            * CIRCLE_SIDES as f64
            * 5.0
            * (2.0 * 5.0 * (std::f64::consts::PI / CIRCLE_SIDES as f64).tan());
        assert!((area - apothem_area).abs() < 1e-9);
        assert!(area > std::f64::consts::PI * 25.0);
    }

    #[test]
    fn custom_polygons_are_checked_and_centred() {
        let (shape, width, length) =
            centred_polygon(&[[0.0, 0.0], [30.0, 0.0], [30.0, 10.0], [0.0, 10.0]]).unwrap();
        assert_eq!((width, length), (30.0, 10.0));
        assert_eq!(
            shape,
            Shape::Polygon {
                vertices: vec![[-15.0, -5.0], [15.0, -5.0], [15.0, 5.0], [-15.0, 5.0]]
            }
        );
        assert!(
            centred_polygon(&[[0.0, 0.0], [1.0, 1.0]])
                .unwrap_err()
                .contains("at least 3")
        );
        // A bow tie crosses itself.
        let bow_tie = centred_polygon(&[[0.0, 0.0], [10.0, 10.0], [10.0, 0.0], [0.0, 10.0]]);
        assert!(bow_tie.unwrap_err().contains("not a simple polygon"));
        assert!(
            centred_polygon(&[[0.0, 0.0], [f64::NAN, 1.0], [1.0, 0.0]])
                .unwrap_err()
                .contains("vertex 1")
        );
    }

    #[test]
    fn rotation_turns_the_outline_about_the_centre() {
        let shape = centred_polygon(&[[0.0, 0.0], [20.0, 0.0], [20.0, 10.0], [0.0, 10.0]])
            .unwrap()
            .0;
        let turned = shape.outline([100.0, 100.0], 20.0, 10.0, 90.0);
        let bounds = turned.bounding_rect().unwrap();
        assert!((bounds.width() - 10.0).abs() < 1e-9 && (bounds.height() - 20.0).abs() < 1e-9);
        assert!((bounds.center().x - 100.0).abs() < 1e-9);
    }
}
