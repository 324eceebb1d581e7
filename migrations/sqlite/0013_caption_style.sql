-- A project's caption style (`line`, `karaoke`, `pop`); NULL follows its template.
ALTER TABLE projects ADD COLUMN caption_style TEXT;
