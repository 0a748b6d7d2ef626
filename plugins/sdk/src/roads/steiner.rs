//! A Steiner tree on the routing grid by the Takahashi–Matsuyama heuristic: start from the
//! entrances, repeatedly find the unserved asset nearest to the tree (by shortest path) and add
//! that path to the tree. Distances to the growing tree are kept by one incremental Dijkstra:
//! nodes added to the tree enter the queue at distance 0 and only the region they bring closer
//! is relaxed again, so joining n assets costs far less than n searches.
//!
//! Correctness of the incremental search: every node whose distance has not been propagated to
//! its neighbours is in the queue with that distance, so the node popped with the smallest key
//! has its true distance to the current tree.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::grid::{Grid, NONE};

/// The grown tree.
#[derive(Debug, Clone)]
pub struct Tree {
    /// Per node, the next node towards the entrance (`NONE` for roots and non-tree nodes).
    pub parent: Vec<u32>,
    pub in_tree: Vec<bool>,
    /// Tree nodes, each after its parent.
    pub order: Vec<u32>,
    /// Per asset, the tree node that serves it (`None`: unreachable).
    pub attach: Vec<Option<u32>>,
}

/// Grows the tree over `grid` (see the module documentation).
pub fn grow(grid: &Grid<'_>) -> Tree {
    let n = grid.len();
    let mut dist = vec![f64::INFINITY; n];
    let mut pred = vec![NONE; n];
    let mut tree = Tree {
        parent: vec![NONE; n],
        in_tree: vec![false; n],
        order: Vec::new(),
        attach: vec![None; grid.terminals.len()],
    };
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
    let mut waiting = grid.terminals.iter().filter(|t| !t.is_empty()).count();

    let add_to_tree = |node: u32, tree: &mut Tree, heap: &mut BinaryHeap<_>, dist: &mut [f64]| {
        tree.in_tree[node as usize] = true;
        tree.order.push(node);
        dist[node as usize] = 0.0;
        heap.push(Reverse((0f64.to_bits(), node)));
    };
    let serve = |node: u32, tree: &mut Tree, waiting: &mut usize| {
        if let Some(list) = grid.node_assets.get(&node) {
            for &a in list {
                if tree.attach[a as usize].is_none() {
                    tree.attach[a as usize] = Some(node);
                    *waiting -= 1;
                }
            }
        }
    };
    for &root in &grid.roots {
        if !tree.in_tree[root as usize] {
            add_to_tree(root, &mut tree, &mut heap, &mut dist);
            serve(root, &mut tree, &mut waiting);
        }
    }

    while waiting > 0 {
        let Some(Reverse((key, node))) = heap.pop() else {
            break;
        };
        let d = f64::from_bits(key);
        if d > dist[node as usize] {
            continue;
        }
        let serves_new = grid
            .node_assets
            .get(&node)
            .is_some_and(|l| l.iter().any(|&a| tree.attach[a as usize].is_none()));
        if serves_new && !tree.in_tree[node as usize] {
            // Join the path from this node back to the tree.
            let mut path = Vec::new();
            let mut v = node;
            while !tree.in_tree[v as usize] {
                path.push(v);
                v = pred[v as usize];
                if v == NONE {
                    break;
                }
            }
            if v == NONE {
                // Cannot happen (every reached node leads back to the tree); skip the node.
                continue;
            }
            let mut parent = v;
            for &p in path.iter().rev() {
                tree.parent[p as usize] = parent;
                add_to_tree(p, &mut tree, &mut heap, &mut dist);
                serve(p, &mut tree, &mut waiting);
                parent = p;
            }
            continue;
        }
        grid.for_each_edge(node, |other, cost| {
            let nd = d + cost;
            if nd < dist[other as usize] {
                dist[other as usize] = nd;
                pred[other as usize] = node;
                heap.push(Reverse((nd.to_bits(), other)));
            }
        });
    }
    tree
}
