//! The constructive packer shared by the built-in strategies: packing frames, the buildable
//! region with fast box-containment tests, one bottom-left pass, and `construct`, which packs
//! with street corridors kept free, connects the result by roads and drops what no road
//! reaches; and `moves`, the building blocks of an improving search's moves.

pub mod construct;
pub mod frame;
pub mod moves;
pub mod packer;
pub mod region;
