-- Scenes you control. A scene carries its own short title, its visual (JSON:
-- {"kind":"auto"|"card"|"upload",...}, see projects/scene.rs), and its own
-- voice; `media_id` repeats an upload visual's file so "which projects use
-- this file" is one indexed lookup.
ALTER TABLE scenes ADD COLUMN title TEXT;
ALTER TABLE scenes ADD COLUMN visual TEXT NOT NULL DEFAULT '{"kind":"auto"}';
ALTER TABLE scenes ADD COLUMN voice TEXT;
ALTER TABLE scenes ADD COLUMN media_id TEXT;
CREATE INDEX scenes_media ON scenes(media_id) WHERE media_id IS NOT NULL;
-- What a step makes, as a hash of everything it reads (its scene's fields and
-- its inputs' recipes, by the render graph): a render after an edit keeps
-- every done step whose recipe is unchanged and runs only the others.
ALTER TABLE steps ADD COLUMN recipe TEXT;
