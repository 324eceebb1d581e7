//! What a render runs and what it keeps: every step the project's scope needs,
//! matched by recipe against the steps already done. A done step whose recipe
//! is still wanted is carried over with its output (wherever its scene moved);
//! everything else runs. Creation is the same plan with nothing done yet.

use std::collections::BTreeMap;

use crate::pipeline::graph::{self, StepKind, StepRef, StepStatus};

/// A step the project already has.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KnownStep {
    pub id: String,
    pub kind: StepKind,
    pub scene_index: i64,
    pub status: StepStatus,
    pub recipe: Option<String>,
    /// It fell back (its warning is set).
    pub fell_back: bool,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub step: StepRef,
    pub recipe: String,
    /// The id of the done step whose output it reuses; `None` runs it.
    pub carried_from: Option<String>,
}

/// Plans `wanted` (each step with its recipe) against `known`. With
/// `remake_fallbacks`, steps that fell back are made again (retry) instead
/// of carried.
pub fn plan(wanted: &BTreeMap<StepRef, String>, known: &[KnownStep], remake_fallbacks: bool) -> Vec<Planned> {
    let reusable = |k: &&KnownStep| k.status == StepStatus::Done && !(remake_fallbacks && k.fell_back);
    let mut planned: Vec<Planned> = wanted
        .iter()
        .map(|(step, recipe)| {
            let same = |k: &&KnownStep| k.kind == step.kind && k.recipe.as_deref() == Some(recipe.as_str());
            // The step in the same place first, so an unchanged project keeps its rows' places.
            let carried = known
                .iter()
                .filter(reusable)
                .filter(same)
                .min_by_key(|k| (k.scene_index != step.scene, k.scene_index))
                .map(|k| k.id.clone());
            Planned { step: *step, recipe: recipe.clone(), carried_from: carried }
        })
        .collect();
    // A step made again (a failure or a fallback, same recipe) is read again
    // by everything downstream of it.
    let scenes = wanted.keys().filter(|s| s.kind == StepKind::Image).count();
    let made: Vec<StepRef> = to_run(&planned).collect();
    let stale = graph::invalidated_by(&made, scenes);
    for step in planned.iter_mut().filter(|p| stale.contains(&p.step)) {
        step.carried_from = None;
    }
    planned
}

/// The steps of `plan` that run.
pub fn to_run(plan: &[Planned]) -> impl Iterator<Item = StepRef> + '_ {
    plan.iter().filter(|p| p.carried_from.is_none()).map(|p| p.step)
}

/// Whether `plan` would leave the project's steps as they are: every wanted
/// step carried from the step in its own place, and no other step known.
pub fn is_current(plan: &[Planned], known: &[KnownStep]) -> bool {
    plan.len() == known.len()
        && plan.iter().all(|p| {
            p.carried_from.as_ref().is_some_and(|id| known.iter().any(|k| &k.id == id && k.scene_index == p.step.scene))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(id: &str, kind: StepKind, scene: i64, status: StepStatus, recipe: &str) -> KnownStep {
        KnownStep { id: id.into(), kind, scene_index: scene, status, recipe: Some(recipe.into()), fell_back: false }
    }

    #[test]
    fn done_steps_with_the_same_recipe_are_carried_wherever_they_were() {
        let wanted: BTreeMap<StepRef, String> = [
            (StepRef::new(StepKind::Speech, 0), "b".to_string()),
            (StepRef::new(StepKind::Speech, 1), "a".to_string()),
            (StepRef::new(StepKind::Image, 0), "new".to_string()),
        ]
        .into_iter()
        .collect();
        let steps = vec![
            known("s0", StepKind::Speech, 0, StepStatus::Done, "a"),
            known("s1", StepKind::Speech, 1, StepStatus::Done, "b"),
            known("i0", StepKind::Image, 0, StepStatus::Done, "old"),
        ];
        let planned = plan(&wanted, &steps, false);
        let carried: Vec<Option<&str>> = planned.iter().map(|p| p.carried_from.as_deref()).collect();
        // Sorted by step: image 0, speech 0, speech 1.
        assert_eq!(carried, vec![None, Some("s1"), Some("s0")]);
        assert_eq!(to_run(&planned).collect::<Vec<_>>(), vec![StepRef::new(StepKind::Image, 0)]);
        assert!(!is_current(&planned, &steps));
    }

    #[test]
    fn failed_steps_run_again_and_fallbacks_only_on_retry() {
        let wanted: BTreeMap<StepRef, String> =
            [(StepRef::new(StepKind::Image, 0), "i".to_string()), (StepRef::new(StepKind::Speech, 0), "s".to_string())]
                .into_iter()
                .collect();
        let mut fell_back = known("i0", StepKind::Image, 0, StepStatus::Done, "i");
        fell_back.fell_back = true;
        let steps = vec![fell_back, known("s0", StepKind::Speech, 0, StepStatus::Failed, "s")];
        assert_eq!(to_run(&plan(&wanted, &steps, false)).count(), 1, "the failed speech");
        assert_eq!(to_run(&plan(&wanted, &steps, true)).count(), 2, "and the fallback picture");

        // What reads a step made again runs again, though its recipe is the same.
        let mut video = wanted.clone();
        video.insert(StepRef::new(StepKind::Segment, 0), "g".into());
        video.insert(StepRef::FINAL, "f".into());
        let mut with_video = steps.clone();
        with_video[1].status = StepStatus::Done;
        with_video.push(known("g0", StepKind::Segment, 0, StepStatus::Done, "g"));
        with_video.push(known("f", StepKind::Final, -1, StepStatus::Done, "f"));
        assert_eq!(to_run(&plan(&video, &with_video, false)).count(), 0);
        assert_eq!(to_run(&plan(&video, &with_video, true)).count(), 3, "picture, segment and final");

        let done = vec![
            known("i0", StepKind::Image, 0, StepStatus::Done, "i"),
            known("s0", StepKind::Speech, 0, StepStatus::Done, "s"),
        ];
        assert!(is_current(&plan(&wanted, &done, false), &done));
    }
}
