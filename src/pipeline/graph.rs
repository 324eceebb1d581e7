//! The render graph, defined once: which steps a project of `n` scenes has,
//! what each one reads, and so which steps are ready, which wait, and which a
//! change invalidates. The queue inserts, releases and resets steps from these
//! answers; no SQL repeats the rules.

use std::collections::BTreeSet;

use crate::text_enum;

text_enum!(
    /// What a step makes.
    pub enum StepKind {
        /// The picture of one scene.
        Image => "image",
        /// The narration of one scene.
        Speech => "speech",
        /// The video of one scene, with its crossfades into its neighbours.
        Segment => "segment",
        /// The finished sound of the whole project: the narration with its
        /// music, at the loudness target, encoded.
        Audio => "audio",
        /// Join, captions and thumbnail of the whole project.
        Final => "final",
    }
);

text_enum!(
    /// Where a step is in its life.
    pub enum StepStatus {
        /// Waits for its inputs.
        Blocked => "blocked",
        /// Ready for a worker (from `run_after`).
        Pending => "pending",
        /// Leased by a worker.
        Running => "running",
        /// Finished; its output is stored.
        Done => "done",
        /// Failed its last try.
        Failed => "failed",
        /// Will not run (the project was cancelled or failed).
        Cancelled => "cancelled",
    }
);

/// The scene index stored for the project-wide steps (audio and final).
pub const NO_SCENE: i64 = -1;

/// One step of a project: its kind and its scene (`NO_SCENE` for the final step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepRef {
    pub kind: StepKind,
    pub scene: i64,
}

impl StepRef {
    /// The step of `kind` for `scene`.
    pub const fn new(kind: StepKind, scene: i64) -> StepRef {
        StepRef { kind, scene }
    }

    /// The project's sound.
    pub const AUDIO: StepRef = StepRef { kind: StepKind::Audio, scene: NO_SCENE };

    /// The project's final step.
    pub const FINAL: StepRef = StepRef { kind: StepKind::Final, scene: NO_SCENE };
}

/// How much of a project a render makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Pictures and narration only (`"render": false`): the project ends `draft`.
    Storyboard,
    /// Everything, up to the finished video.
    Video,
}

/// The steps of a project with `scenes` scenes: image and speech per scene,
/// then (for a video) a segment per scene, the sound and the final step.
/// Every step comes after the steps it reads, and a segment as soon after
/// them as it can: image and speech of scenes 0 and 1, segment 0, image and
/// speech of scene 2, segment 1, and so on; the sound right after the last
/// narration. Work is claimed in this order (`store::turn_of`), so encoding a
/// segment (CPU) overlaps fetching the next scenes' pictures (mostly waiting
/// on the network), and mastering the sound overlaps encoding the last
/// segments, instead of each starting after the last one.
pub fn steps(scenes: usize, scope: Scope) -> Vec<StepRef> {
    let scenes = scenes as i64;
    let mut all = Vec::with_capacity(scenes as usize * 3 + 2);
    for scene in 0..scenes {
        all.push(StepRef::new(StepKind::Image, scene));
        all.push(StepRef::new(StepKind::Speech, scene));
        if scope == Scope::Video && scene == scenes - 1 {
            all.push(StepRef::AUDIO);
        }
        // Segment n fades into scene n + 1, so it follows that scene's inputs.
        if scope == Scope::Video && scene > 0 {
            all.push(StepRef::new(StepKind::Segment, scene - 1));
        }
    }
    if scope == Scope::Video {
        if scenes > 0 {
            all.push(StepRef::new(StepKind::Segment, scenes - 1));
        }
        all.push(StepRef::FINAL);
    }
    all
}

/// What `step` reads, in a project of `scenes` scenes.
///
/// A segment shows its own picture for its own narration, crossfades out into
/// the next scene's picture (whose length comes from the next narration) and
/// crossfades in from the previous scene, whose length comes from the
/// previous narration. The sound is every narration (each padded to its
/// scene's length, which the narration decides) with the music. The final
/// step joins every segment under the sound, with captions from every
/// narration.
pub fn inputs(step: StepRef, scenes: usize) -> Vec<StepRef> {
    let scenes = scenes as i64;
    match step.kind {
        StepKind::Image | StepKind::Speech => Vec::new(),
        StepKind::Segment => {
            let scene = step.scene;
            let mut reads = vec![StepRef::new(StepKind::Image, scene), StepRef::new(StepKind::Speech, scene)];
            if scene > 0 {
                reads.push(StepRef::new(StepKind::Speech, scene - 1));
            }
            if scene + 1 < scenes {
                reads.push(StepRef::new(StepKind::Image, scene + 1));
                reads.push(StepRef::new(StepKind::Speech, scene + 1));
            }
            reads
        }
        StepKind::Audio => (0..scenes).map(|scene| StepRef::new(StepKind::Speech, scene)).collect(),
        StepKind::Final => (0..scenes)
            .flat_map(|scene| [StepRef::new(StepKind::Segment, scene), StepRef::new(StepKind::Speech, scene)])
            .chain([StepRef::AUDIO])
            .collect(),
    }
}

/// The steps that read `step`'s output directly.
pub fn readers(step: StepRef, scenes: usize) -> Vec<StepRef> {
    steps(scenes, Scope::Video).into_iter().filter(|candidate| inputs(*candidate, scenes).contains(&step)).collect()
}

/// Every step whose output depends on one of `changed`, directly or through
/// other steps, `changed` included: what must be made again after an edit.
pub fn invalidated_by(changed: &[StepRef], scenes: usize) -> BTreeSet<StepRef> {
    let mut stale: BTreeSet<StepRef> = changed.iter().copied().collect();
    let mut frontier: Vec<StepRef> = changed.to_vec();
    while let Some(step) = frontier.pop() {
        for reader in readers(step, scenes) {
            if stale.insert(reader) {
                frontier.push(reader);
            }
        }
    }
    stale
}

/// The blocked steps of `current` (each step with its status) whose inputs
/// are all done: those a worker may now take.
pub fn ready_to_release(current: &[(StepRef, StepStatus)], scenes: usize) -> Vec<StepRef> {
    let done: BTreeSet<StepRef> =
        current.iter().filter(|(_, status)| *status == StepStatus::Done).map(|(step, _)| *step).collect();
    current
        .iter()
        .filter(|(step, status)| {
            *status == StepStatus::Blocked && inputs(*step, scenes).iter().all(|input| done.contains(input))
        })
        .map(|(step, _)| *step)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(scene: i64) -> StepRef {
        StepRef::new(StepKind::Image, scene)
    }
    fn speech(scene: i64) -> StepRef {
        StepRef::new(StepKind::Speech, scene)
    }
    fn segment(scene: i64) -> StepRef {
        StepRef::new(StepKind::Segment, scene)
    }

    #[test]
    fn a_project_has_three_steps_per_scene_the_sound_and_a_final_one() {
        let all = steps(3, Scope::Video);
        assert_eq!(all.len(), 11);
        assert_eq!(all.iter().filter(|s| inputs(**s, 3).is_empty()).count(), 6);
        assert_eq!(all.last(), Some(&StepRef::FINAL));
        for (place, step) in all.iter().enumerate() {
            assert!(inputs(*step, 3).iter().all(|input| all[..place].contains(input)), "{step:?} after its inputs");
        }
        // Each segment right after the last input it reads, the sound right
        // after the last narration (before the last two segments, which it
        // overlaps).
        assert_eq!(all[4], segment(0));
        assert_eq!(all[6..10], [speech(2), StepRef::AUDIO, segment(1), segment(2)]);
        assert_eq!(inputs(StepRef::AUDIO, 3), vec![speech(0), speech(1), speech(2)]);
        assert!(inputs(StepRef::FINAL, 3).contains(&StepRef::AUDIO));
        let storyboard = steps(3, Scope::Storyboard);
        assert_eq!(storyboard.len(), 6);
        assert!(storyboard.iter().all(|s| matches!(s.kind, StepKind::Image | StepKind::Speech)));
    }

    #[test]
    fn a_segment_reads_the_previous_narration_for_its_incoming_crossfade() {
        assert_eq!(inputs(segment(0), 1), vec![image(0), speech(0)]);
        assert_eq!(inputs(segment(1), 3), vec![image(1), speech(1), speech(0), image(2), speech(2)]);
        assert_eq!(inputs(segment(2), 3), vec![image(2), speech(2), speech(1)]);
    }

    #[test]
    fn a_segment_waits_for_speech_of_the_scene_before_it() {
        let status = |s: StepRef| if inputs(s, 2).is_empty() { StepStatus::Pending } else { StepStatus::Blocked };
        let mut current: Vec<(StepRef, StepStatus)> =
            steps(2, Scope::Video).into_iter().map(|s| (s, status(s))).collect();
        for (step, status) in current.iter_mut() {
            if *step != speech(0) && matches!(step.kind, StepKind::Image | StepKind::Speech) {
                *status = StepStatus::Done;
            }
        }
        assert_eq!(ready_to_release(&current, 2), Vec::<StepRef>::new(), "speech 0 is not done");
        for (step, status) in current.iter_mut() {
            if *step == speech(0) {
                *status = StepStatus::Done;
            }
        }
        assert_eq!(ready_to_release(&current, 2), vec![StepRef::AUDIO, segment(0), segment(1)]);
    }

    #[test]
    fn editing_one_scene_invalidates_its_neighbours_crossfades_and_the_final_step() {
        let stale = invalidated_by(&[speech(2)], 5);
        let expected: BTreeSet<StepRef> =
            [speech(2), segment(1), segment(2), segment(3), StepRef::AUDIO, StepRef::FINAL].into_iter().collect();
        assert_eq!(stale, expected);
        let picture_only = invalidated_by(&[image(0)], 5);
        assert!(!picture_only.iter().any(|s| s.kind == StepKind::Speech), "a picture makes no speech");
        assert!(picture_only.contains(&segment(0)) && !picture_only.contains(&segment(1)));
        assert!(!picture_only.contains(&StepRef::AUDIO), "a picture changes no sound");
    }

    #[test]
    fn column_texts_round_trip() {
        for kind in StepKind::ALL {
            assert_eq!(kind.as_str().parse::<StepKind>(), Ok(*kind));
        }
        for status in StepStatus::ALL {
            assert_eq!(status.as_str().parse::<StepStatus>(), Ok(*status));
        }
        assert!("segments".parse::<StepKind>().is_err());
    }
}
