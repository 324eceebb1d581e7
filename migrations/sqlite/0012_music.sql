-- A project's music bed (projects/music.rs): JSON {"bundled": id, "volume"}
-- or {"media_id": id, "volume"}; NULL for none. `music_media_id` repeats a
-- library file's id so "which projects use this file" is one indexed lookup
-- (a file in use cannot be deleted).
ALTER TABLE projects ADD COLUMN music TEXT;
ALTER TABLE projects ADD COLUMN music_media_id TEXT;
CREATE INDEX projects_music_media ON projects(music_media_id) WHERE music_media_id IS NOT NULL;
