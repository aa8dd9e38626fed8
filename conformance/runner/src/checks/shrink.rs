//! Shrinking a failing generated input with proptest's value trees, shared by the
//! property checks and the sequence checks: simplify while the candidates fail,
//! complicate back when one holds, re-sending each candidate to the tenant.

use std::future::Future;

use proptest::strategy::ValueTree;

/// What a candidate of a shrink came to.
pub(crate) enum Candidate<E> {
    /// It still fails, with this failure.
    Fails(E),
    /// It holds.
    Holds,
    /// It could not run (a fixture failed): the shrink stops where it is.
    Stop,
}

/// Shrinks the value of `tree`, which failed with `first`, for at most `max` candidates,
/// each judged by `judge`: the minimal failing value, its failure, and how many
/// candidates ran.
pub(crate) async fn shrink<T, E, F, Fut>(
    tree: &mut T,
    first: E,
    max: u32,
    mut judge: F,
) -> (T::Value, E, u32)
where
    T: ValueTree,
    F: FnMut(T::Value) -> Fut,
    Fut: Future<Output = Candidate<E>>,
{
    let mut minimal = (tree.current(), first);
    let mut failing = true;
    let mut runs = 0;
    while runs < max {
        let moved = if failing {
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !moved {
            break;
        }
        runs += 1;
        match judge(tree.current()).await {
            Candidate::Fails(failure) => {
                minimal = (tree.current(), failure);
                failing = true;
            }
            Candidate::Holds => failing = false,
            Candidate::Stop => break,
        }
    }
    (minimal.0, minimal.1, runs)
}
